// MNIST / Fashion-MNIST IDX files (data/mnist.hpp): small files written here, a well-formed pair
// loads into an mnist_source, and each kind of bad file gets an error naming the file and what
// is wrong. The parsers are fuzzed by tests/fuzz/fuzz_idx.cpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <unistd.h>

#include "typenet/data/mnist.hpp"
#include "typenet/data/source.hpp"

namespace fs = std::filesystem;
using namespace typenet::data;
using Catch::Contains;

namespace {
struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("typenet-mnist-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};
std::string idx(std::initializer_list<std::uint32_t> dims, const std::string& data, unsigned char type = 0x08) {
    std::string s{char(0), char(0), char(type), char(dims.size())};
    for (std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) s += char((d >> shift) & 0xff);
    return s + data;
}
// n 28x28 images; image i has every pixel equal to 10 * i + (pixel index % 10).
std::string images(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t p = 0; p < 784; ++p) s += char(10 * i + p % 10);
    return s;
}
fs::path write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}
}  // namespace

static_assert(source<mnist_source>);

TEST_CASE("a well-formed MNIST pair loads as a 1x28x28 source, in order, with a limit too") {
    temp_dir d;
    const auto im = write(d.path / "images-idx3-ubyte", idx({3, 28, 28}, images(3)));
    const auto lb = write(d.path / "labels-idx1-ubyte", idx({3}, std::string{char(7), char(0), char(9)}));
    const mnist_set set = load_mnist(im, lb);
    REQUIRE(set.size() == 3);
    CHECK(set.labels == std::vector<std::int32_t>{7, 0, 9});
    CHECK(set.pixels.size() == 3 * 784);
    CHECK(set.pixels[784 + 13] == 10 + 3);  // image 1, pixel 13 (row 0, column 13)

    const mnist_source src(load_mnist(im, lb, 2), fashion_mnist_class_names());
    CHECK(src.size() == 2);
    CHECK(src.sample(1)[5] == 15);
    CHECK(src.label(0) == 7);
    CHECK(src.class_names()[7] == "Sneaker");
    CHECK(mnist_source(set).class_names()[9] == "9");
    const auto n = compute_normalization(src);  // images 0 and 1: pixel p is p % 10, then 10 + p % 10
    double sum = 0;
    for (int p = 0; p < 784; ++p) sum += p % 10;
    CHECK(n.mean[0] == Approx((sum / 784 + 5) / 255.0));
}

TEST_CASE("bad IDX files get an error naming the file and what is wrong") {
    temp_dir d;
    const auto labels3 = write(d.path / "labels", idx({3}, std::string(3, char(1))));
    const auto check_images = [&](const std::string& name, const std::string& bytes, const std::string& what) {
        const auto f = write(d.path / name, bytes);
        CHECK_THROWS_WITH(load_mnist(f, labels3), Contains(f.string() + ": ") && Contains(what));
    };
    check_images("gz", std::string{char(0x1f), char(0x8b), char(8), char(0), char(1)}, "is gzip-compressed");
    check_images("tiny", std::string(3, char(0)), "size 3 bytes is too small for an IDX file");
    check_images("magic", "\x01\x02\x08\x03" + std::string(12, char(0)), "not an IDX file");
    check_images("float", idx({3, 28, 28}, images(3), 0x0d), "IDX element type 0x0d is not unsigned bytes");
    check_images("rank", idx({3, 784}, images(3)), "an IDX file of 2 dimensions, but an MNIST images file has 3");
    check_images("header", idx({3, 28, 28}, "").substr(0, 10), "too small for its 16-byte header");
    check_images("short", idx({3, 28, 28}, images(2)), "short file: its header declares 3 x 28 x 28 = 2352 bytes");
    check_images("long", idx({3, 28, 28}, images(3) + "xy"), "2 bytes after the 3 x 28 x 28 = 2352 bytes");
    check_images("overflow", idx({0xffffffffu, 0xffffffffu, 0xffffffffu}, ""), "overflow 64 bits");
    check_images("size", idx({3, 27, 29}, images(3).substr(0, 3 * 27 * 29)), "images of 27 x 29 pixels; MNIST's are 28 x 28");
    check_images("count", idx({2, 28, 28}, images(2)), "holds 2 images but");

    const auto im = write(d.path / "images", idx({3, 28, 28}, images(3)));
    const auto bad_label = write(d.path / "bad-label", idx({3}, std::string{char(1), char(10), char(2)}));
    CHECK_THROWS_WITH(load_mnist(im, bad_label),
                      bad_label.string() + ": label 1 (byte offset 9) is 10, outside 0-9");
    CHECK_THROWS_WITH(load_mnist(im, d.path / "missing"), (d.path / "missing").string() + ": no such file");
    CHECK_THROWS_WITH(load_mnist(d.path, labels3), d.path.string() + ": not a regular file");
}

TEST_CASE("the IDX parsers never trust a stated size: an overstated one is a short read before allocating") {
    const std::string bytes = idx({2, 2, 2}, "abcdefgh");
    std::istringstream in(bytes);
    // A caller that claims 2^40 bytes of data: the header's product disagrees with it first.
    CHECK_THROWS_WITH(read_idx_images(in, (std::uint64_t(1) << 40) + 16, "s"), Contains("s: ") && Contains("bytes after"));
    // A header that claims what the size claims, over a stream that holds far less.
    const std::string big = idx({1u << 20, 1024, 1024}, "abcd");
    std::istringstream in2(big);
    CHECK_THROWS_WITH(read_idx_images(in2, 16 + (std::uint64_t(1) << 40), "big"), Contains("big: short read at byte 20"));
}
