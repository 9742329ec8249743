// libFuzzer target: data::read_cifar10_records, the parser behind load_cifar10_file. The input is
// a file's bytes. It is read four ways: with its true size (as load_cifar10_file does); with a
// record limit from a stream that cannot seek (a pipe: read in chunks); and with a size that
// overstates it by up to 2^24 records, scaled by the last byte, from a seekable and a
// non-seekable stream (a caller's wrong size must give a short read, never an allocation of the
// stated size).
// A set that loads must be consistent, and the statistics and normalisation run over it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "typenet/data/cifar10.hpp"

namespace {
using namespace typenet::data;

// A stream over the bytes that cannot seek, like a pipe.
struct pipe_buf : std::streambuf {
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
    cifar10_set set;
    try {
        set = read_cifar10_records(in, claimed, "fuzz.bin", limit);
    } catch (const data_error& e) {
        if (std::strstr(e.what(), "fuzz.bin") == nullptr) std::abort();
        return;
    }
    if (set.size() > limit || set.pixels.size() != set.size() * cifar10_image_bytes) std::abort();
    if (set.size() * cifar10_record_bytes > bytes.size()) std::abort();
    for (auto l : set.labels)
        if (l < 0 || l >= std::int32_t(cifar10_classes)) std::abort();
    const channel_stats st = compute_channel_stats(set);
    std::vector<float> out(set.size() * cifar10_image_bytes);
    normalize_images(set, 0, set.size(), st, out.data());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    check(bytes, size, no_limit, true);
    check(bytes, size, size % 3, false);
    const std::uint64_t extra = 1 + (size ? std::uint64_t(data[size - 1]) << 16 : 0);
    check(bytes, (size / cifar10_record_bytes + extra) * cifar10_record_bytes, no_limit, true);
    check(bytes, (size / cifar10_record_bytes + extra) * cifar10_record_bytes, no_limit, false);
    return 0;
}
