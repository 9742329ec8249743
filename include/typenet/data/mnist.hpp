// typenet/data/mnist.hpp - MNIST and Fashion-MNIST in the IDX format, and their data source.
//
// An IDX file is a 4-byte magic number (two zero bytes, the element type, the number of
// dimensions), each dimension as a big-endian 32-bit count, then the elements. MNIST's files
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...) hold unsigned bytes: the images
// file has dimensions N x 28 x 28 (row-major pixels, 0 = background), the labels file N labels
// 0-9. Fashion-MNIST uses the same files with other classes. The files are read uncompressed:
// a gzip-compressed file (the form they are distributed in) is an error saying to gunzip it.
//
// Every problem is a data_error naming the file and what was wrong: a magic number that is
// not an unsigned-byte IDX file of the expected rank, dimensions whose product overflows,
// a size that does not match the header (short, or bytes left over), a label outside 0-9, an
// image that is not 28 x 28, image and label files of different counts. Sizes are checked
// against what the file holds before anything is allocated; load_mnist reads the labels file
// (one byte per image) first and checks the images file's header against it and against
// 28 x 28 before reading any image.
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

struct idx_images {
    std::size_t rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels;  // count() * rows * cols bytes, image after image
    std::uint64_t declared = 0;        // the images the file's header declares (>= count() under a limit)
    std::size_t count() const { return rows && cols ? pixels.size() / (rows * cols) : 0; }
};
struct idx_labels {
    std::vector<std::int32_t> labels;
    std::uint64_t declared = 0;  // the labels the file's header declares
};

// The parsers behind the loaders (and what tests/fuzz/fuzz_idx.cpp fuzzes): `size_bytes` is the
// byte count of the stream from its position (the file's size); `source` names it in errors; at
// most `limit` items are returned, but the header must still match `size_bytes`.
idx_images read_idx_images(std::istream& in, std::uint64_t size_bytes, const std::string& source,
                           std::size_t limit = no_limit);
// Labels must be below `classes`.
idx_labels read_idx_labels(std::istream& in, std::uint64_t size_bytes, const std::string& source,
                      std::size_t classes, std::size_t limit = no_limit);

struct mnist_set {
    std::vector<std::uint8_t> pixels;  // size() * 784 bytes
    std::vector<std::int32_t> labels;  // 0-9
    std::size_t size() const { return labels.size(); }
};

// An images file and its labels file (28 x 28 images, as many as labels), at most `limit`.
mnist_set load_mnist(const std::filesystem::path& images, const std::filesystem::path& labels,
                     std::size_t limit = no_limit);

const std::vector<std::string>& mnist_class_names();          // "0" .. "9"
const std::vector<std::string>& fashion_mnist_class_names();  // "T-shirt/top", "Trouser", ...

// A loaded MNIST or Fashion-MNIST set as a data source (data/source.hpp): 1 x 28 x 28 bytes,
// 10 classes; 788 bytes per image in memory (784 pixels and an int32 label).
class mnist_source {
public:
    using sample_shape = shape<1, 28, 28>;
    using value_type = std::uint8_t;
    static constexpr std::size_t classes = 10;

    explicit mnist_source(mnist_set set, const std::vector<std::string>& class_names = mnist_class_names());

    std::size_t size() const { return set_.size(); }
    const std::uint8_t* sample(std::size_t i) const { return set_.pixels.data() + i * sample_shape::size; }
    std::int32_t label(std::size_t i) const { return set_.labels[i]; }
    const std::vector<std::string>& class_names() const { return names_; }

private:
    mnist_set set_;
    std::vector<std::string> names_;
};

}  // namespace typenet::data
