// typenet/data/cifar100.hpp - the CIFAR-100 binary format, and its data sources.
//
// The binary release (cifar-100-binary: train.bin, test.bin) is a run of 3,074-byte records:
// the coarse label (0-19, the superclass), the fine label (0-99), then 3,072 pixel bytes in
// (C, H, W) order as in CIFAR-10. Errors are data_error naming the file and, where it applies,
// the record and its byte offset: a size that is not a multiple of 3,074, a label out of range,
// a short read. Memory: 3,080 bytes per image (pixels and two int32 labels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "typenet/data/error.hpp"
#include "typenet/shape.hpp"

namespace typenet::data {

inline constexpr std::size_t cifar100_record_bytes = 3074, cifar100_image_bytes = 3072;
inline constexpr std::size_t cifar100_fine_classes = 100, cifar100_coarse_classes = 20;

struct cifar100_set {
    std::vector<std::uint8_t> pixels;  // size() * 3072 bytes
    std::vector<std::int32_t> fine, coarse;
    std::size_t size() const { return fine.size(); }
};

// The parser (fuzzed by tests/fuzz/fuzz_cifar100.cpp): `size_bytes` bytes of records from `in`,
// at most `limit`; `source` names the stream in errors.
cifar100_set read_cifar100_records(std::istream& in, std::uint64_t size_bytes, const std::string& source,
                                   std::size_t limit = no_limit);
// train.bin or test.bin, or any file of such records.
cifar100_set load_cifar100_file(const std::filesystem::path& file, std::size_t limit = no_limit);

// The class names of the release's fine_label_names.txt / coarse_label_names.txt.
const std::vector<std::string>& cifar100_fine_class_names();
const std::vector<std::string>& cifar100_coarse_class_names();

enum class cifar100_labels { fine, coarse };

void check_cifar100_set(const cifar100_set& set);

// A loaded set as a source of 3 x 32 x 32 bytes with the fine (100 classes) or the coarse
// (20 superclasses) labels: cifar100_source<cifar100_labels::fine>.
template <cifar100_labels Labels>
class cifar100_source {
public:
    using sample_shape = shape<3, 32, 32>;
    using value_type = std::uint8_t;
    static constexpr std::size_t classes =
        Labels == cifar100_labels::fine ? cifar100_fine_classes : cifar100_coarse_classes;

    // Throws data_error when the pixels are not 3,072 per image, the label lists differ in
    // length, or a label is out of range (a set built by hand rather than loaded).
    explicit cifar100_source(cifar100_set set) : set_(std::move(set)) { check_cifar100_set(set_); }

    std::size_t size() const { return set_.size(); }
    const std::uint8_t* sample(std::size_t i) const { return set_.pixels.data() + i * cifar100_image_bytes; }
    std::int32_t label(std::size_t i) const {
        return Labels == cifar100_labels::fine ? set_.fine[i] : set_.coarse[i];
    }
    const std::vector<std::string>& class_names() const {
        return Labels == cifar100_labels::fine ? cifar100_fine_class_names() : cifar100_coarse_class_names();
    }
    const cifar100_set& set() const { return set_; }

private:
    cifar100_set set_;
};

}  // namespace typenet::data
