// Image folders (data/image_folder.hpp): PNG and JPEG files written here with stb_image_write
// load as a source in class-folder and file-name order, pixels in (C, H, W) order; every kind
// of bad folder or file gets an error naming it. The PNG kinds stb_image_write cannot write
// (palette, 16-bit, 1-bit, interlaced) are written with libpng, the grey and CMYK JPEGs with
// TurboJPEG, both encoders independent of the decoding path they test. The decoder is fuzzed by
// tests/fuzz/fuzz_image.cpp.
#include <catch2/catch.hpp>

#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <png.h>
#include <stb/stb_image_write.h>  // Debian's libstb
#include <turbojpeg.h>

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

// A PNG of any colour type, bit depth and interlacing, written with libpng's full API: `rows`
// holds height rows of packed samples as PNG stores them (16-bit samples big-endian).
struct png_spec {
    int width, height, bit_depth, color_type;
    bool interlaced = false;
    std::vector<png_color> palette = {};
    std::vector<png_byte> transparency = {};  // tRNS: alpha per palette entry
    png_color_16 transparent_grey = {};       // tRNS of a grey image, when has_grey_key
    bool has_grey_key = false;
};
bool write_png_raw(const fs::path& file, const png_spec& s, std::vector<std::vector<png_byte>>& rows) {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (!f) return false;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {  // libpng's error: nothing with a destructor lives in this frame
        png_destroy_write_struct(&png, &info);
        std::fclose(f);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, png_uint_32(s.width), png_uint_32(s.height), s.bit_depth, s.color_type,
                 s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), int(s.palette.size()));
    if (!s.transparency.empty()) png_set_tRNS(png, info, s.transparency.data(), int(s.transparency.size()), nullptr);
    if (s.has_grey_key) png_set_tRNS(png, info, nullptr, 0, &s.transparent_grey);
    png_write_info(png, info);
    for (int pass = png_set_interlace_handling(png); pass > 0; --pass)
        for (auto& r : rows) png_write_row(png, r.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return std::fclose(f) == 0;
}
std::vector<std::uint8_t> bytes_of(const fs::path& file) {
    const std::string s = read(file);
    return {s.begin(), s.end()};
}
// A JPEG from TurboJPEG's encoder: pixel format TJPF_GRAY, TJPF_RGB or TJPF_CMYK.
std::vector<std::uint8_t> jpeg_of(const std::vector<unsigned char>& pixels, int w, int h, int format, int subsampling) {
    tjhandle tj = tjInitCompress();
    unsigned char* out = nullptr;
    unsigned long size = 0;
    const int rc = tjCompress2(tj, pixels.data(), w, 0, h, format, &out, &size, subsampling, 95, 0);
    std::vector<std::uint8_t> v(out, out + (rc == 0 ? size : 0));
    tjFree(out);
    tjDestroy(tj);
    REQUIRE(rc == 0);
    return v;
}
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

TEST_CASE("PNG kinds decode to the channels the header documents") {
    temp_dir d;
    const fs::path file = d.path / "kind.png";
    const auto written = [&](const png_spec& spec, std::vector<std::vector<png_byte>> rows) {
        REQUIRE(write_png_raw(file, spec, rows));
        return bytes_of(file);
    };
    const auto decode = [&](const png_spec& spec, std::vector<std::vector<png_byte>> rows, image_geometry want) {
        const auto bytes = written(spec, rows);
        const image_geometry info = image_info(bytes, file.string());
        CHECK(info.channels == want.channels);
        CHECK(info.height == want.height);
        CHECK(info.width == want.width);
        return decode_image(bytes, file.string(), want);
    };
    SECTION("a palette image is RGB, or RGBA when tRNS makes entries transparent") {
        png_spec spec{3, 2, 8, PNG_COLOR_TYPE_PALETTE};
        for (int i = 0; i < 4; ++i) spec.palette.push_back({png_byte(10 * i), png_byte(20 * i), png_byte(30 * i)});
        const std::vector<std::vector<png_byte>> rows = {{0, 1, 2}, {3, 2, 1}};
        const auto rgb = decode(spec, rows, {3, 2, 3});
        // Pixel p of plane k: palette entry rows[p]'s component k.
        CHECK(rgb == std::vector<std::uint8_t>{0, 10, 20, 30, 20, 10, 0, 20, 40, 60, 40, 20, 0, 30, 60, 90, 60, 30});
        spec.transparency = {255, 64};  // entry 1 is partly transparent; entries 2 and 3 opaque
        const auto rgba = decode(spec, rows, {4, 2, 3});
        CHECK(std::vector<std::uint8_t>(rgba.begin() + 18, rgba.end()) ==
              std::vector<std::uint8_t>{255, 64, 255, 255, 255, 64});
        CHECK_THROWS_WITH(decode_image(written(spec, rows), "p.png", {3, 2, 3}),
                          Contains("p.png: an image of 2 x 3 pixels (height x width) with 4 channels; the source's"));
    }
    SECTION("16-bit samples keep their high byte") {
        const png_spec spec{2, 1, 16, PNG_COLOR_TYPE_GRAY};
        CHECK(decode(spec, {{0x12, 0x34, 0xfe, 0xff}}, {1, 1, 2}) == std::vector<std::uint8_t>{0x12, 0xfe});
        const png_spec rgba{1, 1, 16, PNG_COLOR_TYPE_RGBA};
        CHECK(decode(rgba, {{1, 2, 3, 4, 5, 6, 7, 8}}, {4, 1, 1}) == std::vector<std::uint8_t>{1, 3, 5, 7});
    }
    SECTION("1-bit grey scales to 0 and 255; a grey tRNS key adds no channel") {
        png_spec spec{8, 1, 1, PNG_COLOR_TYPE_GRAY};
        CHECK(decode(spec, {{0b10110001}}, {1, 1, 8}) == std::vector<std::uint8_t>{255, 0, 255, 255, 0, 0, 0, 255});
        spec.has_grey_key = true;
        spec.transparent_grey.gray = 1;
        CHECK(decode(spec, {{0b10110001}}, {1, 1, 8}).size() == 8);
    }
    SECTION("an interlaced (Adam7) image decodes as the plain one") {
        png_spec spec{7, 5, 8, PNG_COLOR_TYPE_RGB};
        std::vector<std::vector<png_byte>> rows(5, std::vector<png_byte>(21));
        for (int y = 0; y < 5; ++y)
            for (int i = 0; i < 21; ++i) rows[std::size_t(y)][std::size_t(i)] = png_byte(y * 21 + i);
        const auto plain = decode(spec, rows, {3, 5, 7});
        spec.interlaced = true;
        CHECK(decode(spec, rows, {3, 5, 7}) == plain);
        CHECK(int(plain[35 + 2 * 7 + 3]) == 2 * 21 + 3 * 3 + 1);  // green of row 2, column 3
    }
}

TEST_CASE("JPEG kinds: grey is one channel and CMYK is refused naming the file") {
    temp_dir d;
    std::vector<unsigned char> grey(8 * 8);
    for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = (unsigned char)(100 + i);
    const auto g = jpeg_of(grey, 8, 8, TJPF_GRAY, TJSAMP_GRAY);
    const image_geometry info = image_info(g, "g.jpg");
    CHECK(info.channels == 1);
    CHECK(info.height == 8);
    const auto pixels = decode_image(g, "g.jpg", {1, 8, 8});
    for (std::size_t i = 0; i < pixels.size(); ++i) CHECK(std::abs(int(pixels[i]) - int(grey[i])) <= 3);
    CHECK_THROWS_WITH(decode_image(g, "g.jpg", {3, 8, 8}), Contains("g.jpg: an image of 8 x 8 pixels (height x width) with 1 channel"));

    const auto cmyk = jpeg_of(std::vector<unsigned char>(8 * 8 * 4, 50), 8, 8, TJPF_CMYK, TJSAMP_444);
    CHECK_THROWS_WITH(image_info(cmyk, "c.jpg"), "c.jpg: a CMYK JPEG; typenet reads grey and colour (RGB) JPEGs (convert it first)");
    CHECK_THROWS_WITH(decode_image(cmyk, "c.jpg", {3, 8, 8}), Contains("c.jpg: a CMYK JPEG"));
}

TEST_CASE("corrupt JPEGs are errors naming the file and never partly grey images") {
    std::vector<unsigned char> rgb(16 * 16 * 3);
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = (unsigned char)(i * 7);
    const auto good = jpeg_of(rgb, 16, 16, TJPF_RGB, TJSAMP_420);
    CHECK(decode_image(good, "ok.jpg", {3, 16, 16}).size() == 3 * 16 * 16);
    SECTION("cut short inside the scan (libjpeg would fill the rest with grey)") {
        const std::vector<std::uint8_t> cut(good.begin(), good.end() - 40);
        CHECK_THROWS_WITH(decode_image(cut, "cut.jpg", {3, 16, 16}), Contains("cut.jpg: corrupt JPEG image ("));
    }
    SECTION("a Huffman table stating more than 256 codes (stb_image wrote past its table on it)") {
        std::vector<std::uint8_t> bad = good;
        std::size_t dht = 0;
        for (std::size_t i = 2; i + 1 < bad.size() && dht == 0; ++i)
            if (bad[i] == 0xff && bad[i + 1] == 0xc4) dht = i;
        REQUIRE(dht != 0);
        for (std::size_t k = 0; k < 16; ++k) bad[dht + 5 + k] = 0x20;  // 16 x 32 = 512 codes
        CHECK_THROWS_WITH(decode_image(bad, "dht.jpg", {3, 16, 16}), Contains("dht.jpg: corrupt JPEG"));
        // The file tests/fuzz/fuzz_image found (the CI's SEGV inside libstb; tests run in the source tree).
        const auto found = bytes_of("tests/fuzz/corpus/image/found-dht-overflow.jpg");
        REQUIRE(found.size() > 100);
        CHECK_THROWS_WITH(decode_image(found, "found.jpg", {3, 8, 8}), Contains("found.jpg: "));
    }
}

TEST_CASE("save_png writes 1 to 4 channels that decode to the same bytes") {
    temp_dir d;
    for (std::size_t c = 1; c <= 4; ++c) {
        std::vector<std::uint8_t> chw(c * 3 * 5);
        for (std::size_t i = 0; i < chw.size(); ++i) chw[i] = std::uint8_t(i * 13 + c);
        const fs::path file = (d.path / std::to_string(c)).replace_extension("png");
        save_png(file, chw, {c, 3, 5});
        CHECK(load_image(file, {c, 3, 5}) == chw);
    }
    CHECK_THROWS_WITH(save_png(d.path / "no" / "such" / "dir.png", std::vector<std::uint8_t>(15), {1, 3, 5}),
                      Contains("dir.png: cannot write the PNG ("));
}
