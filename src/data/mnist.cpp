#include "typenet/data/mnist.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

#include "stream_bytes.hpp"

namespace typenet::data {

namespace {

std::string hex(std::uint8_t b) {
    char s[5];
    std::snprintf(s, sizeof s, "0x%02x", b);
    return s;
}

struct idx_header {
    std::vector<std::uint64_t> dims;
    std::uint64_t elements = 0;  // the product of dims
    std::uint64_t bytes = 0;     // the header's own size
};

void read_exactly(std::istream& in, void* out, std::size_t n, const std::string& source, std::uint64_t at) {
    in.read(static_cast<char*>(out), std::streamsize(n));
    if (std::size_t(in.gcount()) != n)
        throw data_error(source + ": short read at byte " + std::to_string(at + std::uint64_t(in.gcount())) +
                         ": the file ends before the " + std::to_string(at + n) + " bytes its header needs");
}

// The magic number and the dimensions; the data must fill the rest of size_bytes exactly.
idx_header read_header(std::istream& in, std::uint64_t size_bytes, const std::string& source, unsigned rank,
                       const char* kind) {
    if (size_bytes < 4)
        throw data_error(source + ": size " + std::to_string(size_bytes) +
                         " bytes is too small for an IDX file (a 4-byte magic number first)");
    std::array<std::uint8_t, 4> m{};
    read_exactly(in, m.data(), 4, source, 0);
    if (m[0] == 0x1f && m[1] == 0x8b)
        throw data_error(source + ": is gzip-compressed (the form MNIST is distributed in): gunzip it first");
    if (m[0] != 0 || m[1] != 0)
        throw data_error(source + ": not an IDX file: its magic number starts " + hex(m[0]) + " " + hex(m[1]) +
                         ", not 0x00 0x00");
    if (m[2] != 0x08)
        throw data_error(source + ": IDX element type " + hex(m[2]) + " is not unsigned bytes (0x08)");
    if (m[3] != rank)
        throw data_error(source + ": an IDX file of " + std::to_string(m[3]) + " dimensions, but an MNIST " + kind +
                         " file has " + std::to_string(rank));
    idx_header h;
    h.bytes = 4 + 4 * std::uint64_t(rank);
    if (size_bytes < h.bytes)
        throw data_error(source + ": size " + std::to_string(size_bytes) + " bytes is too small for its " +
                         std::to_string(h.bytes) + "-byte header");
    h.elements = 1;
    std::string dims_text;
    for (unsigned d = 0; d < rank; ++d) {
        std::array<std::uint8_t, 4> b{};
        read_exactly(in, b.data(), 4, source, 4 + 4 * d);
        const std::uint64_t v = std::uint64_t(b[0]) << 24 | std::uint64_t(b[1]) << 16 | std::uint64_t(b[2]) << 8 | b[3];
        h.dims.push_back(v);
        dims_text += (d ? " x " : "") + std::to_string(v);
        if (v != 0 && h.elements > std::numeric_limits<std::uint64_t>::max() / v)
            throw data_error(source + ": its header's dimensions " + dims_text + "... overflow 64 bits");
        h.elements *= v;
    }
    const std::uint64_t data = size_bytes - h.bytes;
    if (data < h.elements)
        throw data_error(source + ": short file: its header declares " + dims_text + " = " +
                         std::to_string(h.elements) + " bytes of data, the file holds " + std::to_string(data));
    if (data > h.elements)
        throw data_error(source + ": " + std::to_string(data - h.elements) + " bytes after the " + dims_text +
                         " = " + std::to_string(h.elements) + " bytes of data its header declares");
    return h;
}

// `count` items of `item` bytes each, after the header. Memory follows what the stream holds:
// a seekable stream that holds less is a short read before any allocation; one that cannot
// seek is read in chunks of at most 1 MiB.
std::vector<std::uint8_t> read_items(std::istream& in, std::uint64_t count, std::uint64_t item,
                                     const idx_header& h, const std::string& source) {
    const std::uint64_t wanted = count * item;  // <= h.elements: no overflow
    const auto held = detail::bytes_left(in);
    if (held && *held < wanted)
        throw data_error(source + ": short read at byte " + std::to_string(h.bytes + *held) + " of " +
                         std::to_string(h.bytes + wanted));
    std::vector<std::uint8_t> out;
    constexpr std::uint64_t chunk = 1 << 20;
    if (held) out.reserve(std::size_t(wanted));
    while (out.size() < wanted) {
        const std::size_t n = std::size_t(std::min<std::uint64_t>(chunk, wanted - out.size()));
        const std::size_t at = out.size();
        out.resize(at + n);
        in.read(reinterpret_cast<char*>(out.data() + at), std::streamsize(n));
        if (std::size_t(in.gcount()) != n)
            throw data_error(source + ": short read at byte " + std::to_string(h.bytes + at + std::size_t(in.gcount())) +
                             " of " + std::to_string(h.bytes + wanted));
    }
    return out;
}

}  // namespace

namespace {
// read_idx_images, with `check` run on the header before any image is read (load_mnist's
// geometry and count checks).
template <class Check>
idx_images read_images(std::istream& in, std::uint64_t size_bytes, const std::string& source, std::size_t limit,
                       Check check) {
    const idx_header h = read_header(in, size_bytes, source, 3, "images");
    if (h.dims[1] == 0 || h.dims[2] == 0)
        throw data_error(source + ": images of " + std::to_string(h.dims[1]) + " x " + std::to_string(h.dims[2]) +
                         " pixels");
    check(h);
    idx_images im;
    im.rows = std::size_t(h.dims[1]);
    im.cols = std::size_t(h.dims[2]);
    im.declared = h.dims[0];
    im.pixels = read_items(in, std::min<std::uint64_t>(h.dims[0], limit), h.dims[1] * h.dims[2], h, source);
    return im;
}
}  // namespace

idx_images read_idx_images(std::istream& in, std::uint64_t size_bytes, const std::string& source, std::size_t limit) {
    return read_images(in, size_bytes, source, limit, [](const idx_header&) {});
}

idx_labels read_idx_labels(std::istream& in, std::uint64_t size_bytes, const std::string& source, std::size_t classes,
                           std::size_t limit) {
    if (classes == 0) throw data_error(source + ": read_idx_labels needs at least one class");
    const idx_header h = read_header(in, size_bytes, source, 1, "labels");
    const auto raw = read_items(in, std::min<std::uint64_t>(h.dims[0], limit), 1, h, source);
    idx_labels l;
    l.declared = h.dims[0];
    l.labels.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] >= classes)
            throw data_error(source + ": label " + std::to_string(i) + " (byte offset " + std::to_string(h.bytes + i) +
                             ") is " + std::to_string(raw[i]) + ", outside 0-" + std::to_string(classes - 1));
        l.labels.push_back(raw[i]);
    }
    return l;
}

mnist_set load_mnist(const std::filesystem::path& images, const std::filesystem::path& labels, std::size_t limit) {
    // The labels first (one byte per image), then the images, whose header is checked against
    // them and against 28 x 28 before any image is read.
    auto fl = detail::open_data_file(labels);
    idx_labels l = read_idx_labels(fl.in, fl.size, labels.string(), mnist_source::classes, limit);
    constexpr std::size_t rows = mnist_source::sample_shape::dims[1], cols = mnist_source::sample_shape::dims[2];
    auto fi = detail::open_data_file(images);
    idx_images im = read_images(fi.in, fi.size, images.string(), limit, [&](const idx_header& h) {
        if (h.dims[1] != rows || h.dims[2] != cols)
            throw data_error(images.string() + ": images of " + std::to_string(h.dims[1]) + " x " +
                             std::to_string(h.dims[2]) + " pixels; MNIST's are 28 x 28");
        if (h.dims[0] != l.declared)
            throw data_error(images.string() + ": holds " + std::to_string(h.dims[0]) + " images but " +
                             labels.string() + " holds " + std::to_string(l.declared) + " labels");
    });
    mnist_set set;
    set.pixels = std::move(im.pixels);
    set.labels = std::move(l.labels);
    return set;
}

const std::vector<std::string>& mnist_class_names() {
    static const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    return names;
}
const std::vector<std::string>& fashion_mnist_class_names() {
    static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

mnist_source::mnist_source(mnist_set set, const std::vector<std::string>& class_names)
    : set_(std::move(set)), names_(class_names) {
    if (names_.size() != classes)
        throw data_error("mnist_source: " + std::to_string(names_.size()) + " class names for " +
                         std::to_string(classes) + " classes");
    if (set_.pixels.size() != set_.labels.size() * sample_shape::size)
        throw data_error("mnist_source: " + std::to_string(set_.pixels.size()) + " pixel bytes for " +
                         std::to_string(set_.labels.size()) + " labels (784 per image)");
    for (std::size_t i = 0; i < set_.labels.size(); ++i)
        if (set_.labels[i] < 0 || set_.labels[i] >= std::int32_t(classes))
            throw data_error("mnist_source: image " + std::to_string(i) + " has label " +
                             std::to_string(set_.labels[i]) + ", outside 0-9");
}

}  // namespace typenet::data
