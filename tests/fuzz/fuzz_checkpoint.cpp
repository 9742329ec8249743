// libFuzzer target: io::parse_checkpoint, the parser behind read_checkpoint (typenet-inspect,
// typenet-train --resume / --eval-only). Each input is parsed twice: as given (its checksum is
// almost always wrong, which exercises the error paths), and with its last 4 bytes replaced by
// the right CRC-32, so a crafted but well-checksummed file reaches the code after the parser.
// A parse that succeeds must hold what the tools rely on: every tensor's bytes are exactly
// element_count() * dtype (typenet-inspect reads them all), and encoding it again gives the
// input back; a checkpoint that carries inference information (io::read_inference_info, what
// typenet-predict and --eval-only read) gives a consistent one or an error naming the file. Any
// other exception type, a sanitizer report or a broken invariant is a crash.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "typenet/io/checkpoint.hpp"

namespace {
void check(std::span<const unsigned char> in) {
    typenet::io::checkpoint ck;
    try {
        ck = typenet::io::parse_checkpoint(in, "fuzz.ckpt");
    } catch (const typenet::io::checkpoint_error& e) {
        if (std::strstr(e.what(), "fuzz.ckpt") == nullptr) std::abort();  // every message names the file
        return;
    }
    double sum = 0;
    for (const auto& t : ck.tensors) {
        if (t.dtype != 4 && t.dtype != 8) std::abort();
        // The element count and byte size computed here, independently of the library's
        // element_count(), with overflow checks: a wrapped product must never pass.
        // (A zero dim makes the count 0 whatever the others are.)
        std::uint64_t count = 1, size = 0;
        if (std::find(t.dims.begin(), t.dims.end(), std::uint64_t(0)) != t.dims.end()) count = 0;
        for (auto d : t.dims)
            if (count && __builtin_mul_overflow(count, d, &count)) std::abort();
        if (__builtin_mul_overflow(count, std::uint64_t(t.dtype), &size) || size != t.bytes.size()) std::abort();
        if (t.element_count() != count) std::abort();
        for (std::size_t i = 0; i < count; ++i) {  // every element, as typenet-inspect reads them
            const std::size_t at = i * t.dtype;
            if (t.dtype == 4) {
                float v;
                std::memcpy(&v, t.bytes.data() + at, 4);
                if (std::isfinite(v)) sum += double(v) * double(v);
            } else {
                double v;
                std::memcpy(&v, t.bytes.data() + at, 8);
                if (std::isfinite(v)) sum += v * v;
            }
        }
    }
    (void)sum;
    if (typenet::io::has_inference_info(ck)) {  // what typenet-predict and --eval-only read next
        try {
            const auto info = typenet::io::read_inference_info(ck, "fuzz.ckpt");
            if (info.normalization.mean.size() != info.normalization.std.size() || info.normalization.mean.empty())
                std::abort();
            for (const float s : info.normalization.std)
                if (!(s > 0)) std::abort();
        } catch (const typenet::io::checkpoint_error& e) {
            if (std::strstr(e.what(), "fuzz.ckpt") == nullptr) std::abort();
        }
    }
    const std::vector<unsigned char> again = typenet::io::encode_checkpoint(ck);
    if (again.size() != in.size() || !std::equal(again.begin(), again.end(), in.begin())) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check({data, size});
    if (size >= 12) {
        std::vector<unsigned char> fixed(data, data + size);
        const std::uint32_t crc = typenet::io::crc32(fixed.data(), size - 4);
        std::memcpy(fixed.data() + size - 4, &crc, 4);
        check(fixed);
    }
    return 0;
}
