// libFuzzer target: io::parse_npz, the reader behind read_npz (typenet-convert import and
// logits, train::load_npz). A parse that succeeds must hold what callers rely on: every array's
// values are exactly the product of its shape (load_npz copies that many), names are unique and
// non-empty, and encoding the arrays again and parsing that gives the same arrays. Any other
// exception type, a message that does not name the input, a sanitizer report or a broken
// invariant is a crash.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "typenet/io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    typenet::io::npz_archive a;
    try {
        a = typenet::io::parse_npz(std::span<const unsigned char>(data, size), "fuzz.npz");
    } catch (const typenet::io::npz_error& e) {
        if (std::strstr(e.what(), "fuzz.npz") == nullptr) std::abort();  // every message names the file
        return 0;
    }
    std::set<std::string> names;
    std::size_t total = 0;
    for (const auto& x : a.arrays) {
        if (x.name.empty() || !names.insert(x.name).second) std::abort();
        std::uint64_t n = 1;
        for (auto d : x.shape)
            if (__builtin_mul_overflow(n, d, &n)) std::abort();
        if (n != x.values.size()) std::abort();
        if (x.source_bytes != 4 && x.source_bytes != 8) std::abort();
        total += x.values.size() * std::size_t(x.source_bytes);
    }
    if (total > size) std::abort();  // the arrays never hold more than the input's bytes
    const std::vector<unsigned char> again = typenet::io::encode_npz(a.arrays);
    const typenet::io::npz_archive b = typenet::io::parse_npz(again, "again.npz");
    if (b.arrays.size() != a.arrays.size()) std::abort();
    for (std::size_t i = 0; i < a.arrays.size(); ++i)
        if (b.arrays[i].name != a.arrays[i].name || b.arrays[i].shape != a.arrays[i].shape ||
            (!a.arrays[i].values.empty() && std::memcmp(b.arrays[i].values.data(), a.arrays[i].values.data(),
                                                        a.arrays[i].values.size() * sizeof(float)) != 0))
            std::abort();
    return 0;
}
