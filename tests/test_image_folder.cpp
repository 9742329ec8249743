// Image folders (data/image_folder.hpp): PNG and JPEG files written here with stb_image_write
// load as a source in class-folder and file-name order, pixels in (C, H, W) order; every kind
// of bad folder or file gets an error naming it. The decoder is fuzzed by tests/fuzz/fuzz_image.cpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <stb/stb_image_write.h>  // Debian's libstb

#include "typenet/data/image_folder.hpp"
#include "typenet/data/source.hpp"

namespace fs = std::filesystem;
using namespace typenet;
using namespace typenet::data;
using Catch::Contains;

namespace {
struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("typenet-images-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};
// An h x w image of c channels, interleaved as PNG stores it: value = base + 10 * channel + pixel.
std::vector<unsigned char> pattern(int c, int h, int w, int base) {
    std::vector<unsigned char> v(std::size_t(c * h * w));
    for (int p = 0; p < h * w; ++p)
        for (int k = 0; k < c; ++k) v[std::size_t(p * c + k)] = (unsigned char)(base + 10 * k + p);
    return v;
}
void png(const fs::path& file, int c, int h, int w, int base) {
    fs::create_directories(file.parent_path());
    REQUIRE(stbi_write_png(file.c_str(), w, h, c, pattern(c, h, w, base).data(), w * c));
}
void write(const fs::path& file, const std::string& bytes) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << bytes;
}
std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
using rgb4 = image_folder_source<shape<3, 4, 4>, 2>;
}  // namespace

static_assert(source<rgb4>);

TEST_CASE("an image folder loads class by class, file by file, as (C, H, W) bytes") {
    temp_dir d;
    png(d.path / "dog" / "b.png", 3, 4, 4, 50);
    png(d.path / "dog" / "a.png", 3, 4, 4, 40);
    png(d.path / "cat" / "z.PNG", 3, 4, 4, 0);
    write(d.path / "cat" / "notes.txt", "not an image: skipped");
    png(d.path / "cat" / ".hidden.png", 1, 1, 1, 0);       // hidden: skipped
    png(d.path / ".thumbnails" / "x.png", 1, 1, 1, 0);     // hidden folder: not a class
    const rgb4 src(d.path);
    REQUIRE(src.size() == 3);
    CHECK(src.class_names() == std::vector<std::string>{"cat", "dog"});
    CHECK(src.label(0) == 0);
    CHECK(src.label(1) == 1);
    CHECK(src.file(1).filename() == "a.png");
    CHECK(src.file(2).filename() == "b.png");
    // Image 1 is dog/a.png, base 40: channel k of pixel p is 40 + 10 k + p, at k * 16 + p.
    CHECK(int(src.sample(1)[0]) == 40);
    CHECK(int(src.sample(1)[5]) == 45);
    CHECK(int(src.sample(1)[16 + 5]) == 55);
    CHECK(int(src.sample(1)[32 + 15]) == 75);

    // JPEG is lossy: its shape and its rough values (stb_image_write writes colour JPEGs).
    std::vector<unsigned char> grey(48, 128);
    fs::create_directories(d.path / "jpeg" / "one");
    REQUIRE(stbi_write_jpg((d.path / "jpeg" / "one" / "g.jpg").c_str(), 4, 4, 3, grey.data(), 95));
    const image_folder_source<shape<3, 4, 4>, 1> jpg(d.path / "jpeg");
    REQUIRE(jpg.size() == 1);
    CHECK(std::abs(int(jpg.sample(0)[16 + 7]) - 128) <= 2);
}

TEST_CASE("bad image folders and files get an error naming the folder or file") {
    temp_dir d;
    CHECK_THROWS_WITH(rgb4(d.path / "missing"), Contains((d.path / "missing").string() + ": no such folder"));
    CHECK_THROWS_WITH(rgb4(d.path), d.path.string() + ": holds no class folders (one sub-folder per class)");

    png(d.path / "a" / "1.png", 3, 4, 4, 0);
    CHECK_THROWS_WITH(rgb4(d.path), d.path.string() + ": 1 class folders (a), but the source has 2 classes");
    fs::create_directories(d.path / "b");
    CHECK_THROWS_WITH(rgb4(d.path), (d.path / "b").string() +
                                        ": class folder with no PNG or JPEG images (.png, .jpg, .jpeg)");

    const auto expect_file_error = [&](const fs::path& file, const std::string& what) {
        CHECK_THROWS_WITH(rgb4(d.path), Contains(file.string() + ": ") && Contains(what));
        fs::remove(file);
    };
    png(d.path / "b" / "big.png", 3, 5, 4, 0);
    expect_file_error(d.path / "b" / "big.png",
                      "an image of 5 x 4 pixels (height x width) with 3 channels; the source's images are 4 x 4 "
                      "pixels (height x width) with 3 channels (convert or resize it first)");
    png(d.path / "b" / "grey.png", 1, 4, 4, 0);
    expect_file_error(d.path / "b" / "grey.png", "with 1 channel; the source's images are");
    write(d.path / "b" / "fake.png", "GIF89a....");
    expect_file_error(d.path / "b" / "fake.png", "not a PNG or JPEG file");
    png(d.path / "b" / "ok.png", 3, 4, 4, 0);
    const std::string good = read(d.path / "b" / "ok.png");
    write(d.path / "b" / "cut.png", good.substr(0, good.size() - 20));
    expect_file_error(d.path / "b" / "cut.png", "corrupt PNG");
    write(d.path / "b" / "crc.png", good.substr(0, good.size() - 2));  // inside IEND's checksum
    expect_file_error(d.path / "b" / "crc.png", "the file ends inside the checksum of chunk 'IEND'");
    std::string claims = good;
    claims[8 + 8 + 13 + 4 + 0] = char(0x7f);  // the length of the chunk after IHDR: 2 GiB
    write(d.path / "b" / "claims.png", claims);
    expect_file_error(d.path / "b" / "claims.png", "past the end of the file");
    std::string bad_data = good;
    for (std::size_t i = 45; i < 60 && i < bad_data.size(); ++i) bad_data[i] = char(0xff);
    write(d.path / "b" / "garbled.png", bad_data);
    expect_file_error(d.path / "b" / "garbled.png", "corrupt PNG");
    CHECK(rgb4(d.path).size() == 2);
}
