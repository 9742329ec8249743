// libFuzzer target: data::read_idx_images and read_idx_labels, the parsers behind load_mnist.
// The input is a file's bytes, read as an images file and as a labels file, each with its true
// size from a seekable stream (as load_mnist does), with a limit from a stream that cannot seek
// (a pipe: read in chunks), and with a size that overstates it by up to 2^24 bytes, scaled by
// the last byte (a caller's wrong size must give an error, never an allocation of that size).
// What loads must be consistent with the header and the bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <streambuf>
#include <string>

#include "typenet/data/mnist.hpp"

namespace {
using namespace typenet::data;

struct pipe_buf : std::streambuf {  // a stream over the bytes that cannot seek, like a pipe
    explicit pipe_buf(const std::string& s) {
        char* p = const_cast<char*>(s.data());
        setg(p, p, p + s.size());
    }
};

void check(const std::string& bytes, std::uint64_t claimed, std::size_t limit, bool seekable) {
    std::istringstream file(bytes);
    pipe_buf pipe(bytes);
    std::istream piped(&pipe);
    std::istream& in = seekable ? static_cast<std::istream&>(file) : piped;
    try {
        const idx_images im = read_idx_images(in, claimed, "fuzz.idx", limit);
        if (im.rows == 0 || im.cols == 0 || im.count() > limit || im.count() > im.declared) std::abort();
        if (im.pixels.size() != im.count() * im.rows * im.cols || im.pixels.size() + 16 > bytes.size()) std::abort();
    } catch (const data_error& e) {
        if (std::strstr(e.what(), "fuzz.idx") == nullptr) std::abort();
    }
    std::istringstream file2(bytes);
    pipe_buf pipe2(bytes);
    std::istream piped2(&pipe2);
    std::istream& in2 = seekable ? static_cast<std::istream&>(file2) : piped2;
    try {
        const idx_labels l = read_idx_labels(in2, claimed, "fuzz.idx", 10, limit);
        if (l.labels.size() > limit || l.labels.size() > l.declared || l.labels.size() + 8 > bytes.size()) std::abort();
        for (auto v : l.labels)
            if (v < 0 || v > 9) std::abort();
    } catch (const data_error& e) {
        if (std::strstr(e.what(), "fuzz.idx") == nullptr) std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    check(bytes, size, no_limit, true);
    check(bytes, size, size % 5, false);
    const std::uint64_t extra = 1 + (size ? std::uint64_t(data[size - 1]) << 16 : 0);
    check(bytes, size + extra, no_limit, true);
    check(bytes, size + extra, no_limit, false);
    return 0;
}
