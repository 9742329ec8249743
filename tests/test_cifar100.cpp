// CIFAR-100 binary files (data/cifar100.hpp): small files written here load with both label
// kinds as sources, and bad files get errors naming the file, record and label. The parser is
// fuzzed by tests/fuzz/fuzz_cifar100.cpp; what it shares with CIFAR-10's is tested there too.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "typenet/data/cifar100.hpp"
#include "typenet/data/source.hpp"

namespace fs = std::filesystem;
using namespace typenet::data;

namespace {
struct temp_file {
    fs::path path;
    explicit temp_file(const std::string& bytes) {
        path = fs::temp_directory_path() / ("typenet-cifar100-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".bin");
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~temp_file() { fs::remove(path); }
};
std::string record(int coarse, int fine, int pixel) {
    return std::string{char(coarse), char(fine)} + std::string(3072, char(pixel));
}
}  // namespace

static_assert(source<cifar100_source<cifar100_labels::fine>>);
static_assert(cifar100_source<cifar100_labels::fine>::classes == 100);
static_assert(cifar100_source<cifar100_labels::coarse>::classes == 20);

TEST_CASE("CIFAR-100 records load with fine and coarse labels, as two kinds of source") {
    const temp_file f(record(4, 30, 7) + record(19, 99, 8) + record(0, 0, 9));
    const cifar100_set set = load_cifar100_file(f.path);
    REQUIRE(set.size() == 3);
    CHECK(set.coarse == std::vector<std::int32_t>{4, 19, 0});
    CHECK(set.fine == std::vector<std::int32_t>{30, 99, 0});
    CHECK(set.pixels.size() == 3 * 3072);
    CHECK(set.pixels[3072 + 100] == 8);

    const cifar100_source<cifar100_labels::fine> fine(set);
    const cifar100_source<cifar100_labels::coarse> coarse(load_cifar100_file(f.path, 2));
    CHECK(fine.label(1) == 99);
    CHECK(fine.class_names()[30] == "dolphin");
    CHECK(fine.class_names().size() == 100);
    CHECK(coarse.size() == 2);
    CHECK(coarse.label(0) == 4);
    CHECK(coarse.class_names()[4] == "fruit_and_vegetables");
    CHECK(coarse.class_names().size() == 20);
    CHECK(coarse.sample(1)[5] == 8);
}

TEST_CASE("bad CIFAR-100 files get an error naming the file, the record and the label") {
    const temp_file bad_coarse(record(1, 1, 0) + record(20, 5, 0));
    CHECK_THROWS_WITH(load_cifar100_file(bad_coarse.path),
                      bad_coarse.path.string() + ": record 1 (byte offset 3074) has coarse label 20, outside 0-19");
    const temp_file bad_fine(record(3, 100, 0));
    CHECK_THROWS_WITH(load_cifar100_file(bad_fine.path),
                      bad_fine.path.string() + ": record 0 (byte offset 0) has fine label 100, outside 0-99");
    const temp_file cifar10_sized(std::string(3073, char(0)));
    CHECK_THROWS_WITH(load_cifar100_file(cifar10_sized.path),
                      cifar10_sized.path.string() +
                          ": size 3073 bytes is not a positive multiple of the 3074-byte CIFAR-100 record (0 whole "
                          "records and 3073 bytes left over)");
    CHECK_THROWS_WITH(load_cifar100_file("/nonexistent/train.bin"), "/nonexistent/train.bin: no such file");
}
