// typenet/data/cifar10.hpp - the CIFAR-10 binary format.
//
// Each file of the standard binary release (data_batch_1..5.bin, test_batch.bin) is a run of
// 3,073-byte records: one label byte (0-9), then 1,024 red, 1,024 green and 1,024 blue bytes,
// each a row-major 32x32 plane. That is exactly typenet's (C, H, W) sample layout.
//
// Every problem is a typenet::data::data_error whose message names the file and, where it
// applies, the record: a missing file or folder, a size that is not a multiple of 3,073, a
// label outside 0-9, a short read. Nothing is returned half-loaded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/data/error.hpp"

namespace typenet::data {

inline constexpr std::size_t cifar10_record_bytes = 3073;
inline constexpr std::size_t cifar10_image_bytes = 3072;
inline constexpr std::size_t cifar10_classes = 10;

struct cifar10_set {
    std::vector<std::uint8_t> pixels;   // size() * 3072 bytes, (C, H, W) per image
    std::vector<std::int32_t> labels;   // 0..9
    std::size_t size() const { return labels.size(); }
};

// Parses `size_bytes` bytes of CIFAR-10 records from `in` (at most `limit` records); `source`
// names the file in error messages. load_cifar10_file() calls it with the file's size; a
// stream that ends early is a "short read" naming the record it stopped in. Memory grows with
// what is read (1,024 records at a time), never with `size_bytes` alone, so an overstated size
// costs no allocation. This is the entry point tests/fuzz/fuzz_cifar10.cpp fuzzes.
cifar10_set read_cifar10_records(std::istream& in, std::uint64_t size_bytes, const std::string& source,
                                 std::size_t limit = no_limit);
// Reads at most `limit` records of one file.
cifar10_set load_cifar10_file(const std::filesystem::path& file, std::size_t limit = no_limit);
// data_batch_1.bin .. data_batch_5.bin of `dir`, in order, at most `limit` images.
cifar10_set load_cifar10_train(const std::filesystem::path& dir, std::size_t limit = no_limit);
// test_batch.bin of `dir`, at most `limit` images.
cifar10_set load_cifar10_test(const std::filesystem::path& dir, std::size_t limit = no_limit);

// Where the data is: `explicit_dir` if given, else $TYPENET_DATA, else
// data/cifar-10-batches-bin, else ../shared/data/cifar10/cifar-10-batches-bin (relative to the
// working directory). Throws data_error listing the places it looked.
std::filesystem::path find_cifar10_dir(const std::optional<std::filesystem::path>& explicit_dir = std::nullopt);

// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
struct channel_stats {
    std::array<float, 3> mean{}, std{};
};
channel_stats compute_channel_stats(const cifar10_set& set);

// Writes images [first, first + count) normalised as (pixel / 255 - mean) / std into `out`
// (count * 3072 floats). `order` (optional) maps positions to image indices (a shuffle).
void normalize_images(const cifar10_set& set, std::size_t first, std::size_t count, const channel_stats& stats,
                      float* out, const std::vector<std::size_t>* order = nullptr);

}  // namespace typenet::data
