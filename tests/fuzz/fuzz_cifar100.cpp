// libFuzzer target: data::read_cifar100_records, the parser behind load_cifar100_file, read as
// fuzz_cifar10.cpp reads CIFAR-10: with the input's true size, with a record limit from a stream
// that cannot seek, and with a size overstating it by up to 2^24 records from both kinds of
// stream. A set that loads is consistent: labels in range, 3,072 pixels per image.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <streambuf>
#include <string>

#include "typenet/data/cifar100.hpp"

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
    cifar100_set set;
    try {
        set = read_cifar100_records(in, claimed, "fuzz.bin", limit);
    } catch (const data_error& e) {
        if (std::strstr(e.what(), "fuzz.bin") == nullptr) std::abort();
        return;
    }
    if (set.size() > limit || set.coarse.size() != set.size() || set.pixels.size() != set.size() * 3072) std::abort();
    if (set.size() * cifar100_record_bytes > bytes.size()) std::abort();
    for (std::size_t i = 0; i < set.size(); ++i)
        if (set.fine[i] < 0 || set.fine[i] >= 100 || set.coarse[i] < 0 || set.coarse[i] >= 20) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    check(bytes, size, no_limit, true);
    check(bytes, size, size % 3, false);
    const std::uint64_t extra = 1 + (size ? std::uint64_t(data[size - 1]) << 16 : 0);
    check(bytes, (size / cifar100_record_bytes + extra) * cifar100_record_bytes, no_limit, true);
    check(bytes, (size / cifar100_record_bytes + extra) * cifar100_record_bytes, no_limit, false);
    return 0;
}
