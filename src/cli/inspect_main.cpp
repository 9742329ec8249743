// typenet-inspect: what a checkpoint holds, tensor by tensor.
//   typenet-inspect runs/best-full/last.ckpt
// prints the network, the metadata, then one line per tensor: name, shape, element count,
// L2 norm (over the finite elements) and how many elements are NaN or infinite. The weight
// norms and NaN counts in docs/results.md come from it. A file that is not a whole checkpoint
// (wrong magic, truncated, checksum mismatch) is refused with the reason, exit code 2.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "typenet/io/checkpoint.hpp"

namespace {
template <class T>
void summarise(const typenet::io::tensor_record& t) {
    double sq = 0;
    std::size_t nan = 0, inf = 0;
    const std::size_t n = t.element_count();
    for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, t.bytes.data() + i * sizeof(T), sizeof(T));
        if (std::isnan(v)) ++nan;
        else if (std::isinf(v)) ++inf;
        else sq += double(v) * double(v);
    }
    std::printf("%-44s %-16s %10zu  norm %12.6g  nan %zu  inf %zu\n", t.name.c_str(),
                typenet::io::dims_text(t.dims).c_str(), n, std::sqrt(sq), nan, inf);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 || std::strcmp(argv[1], "--help") == 0) {
        std::fprintf(argc == 2 ? stdout : stderr,
                     "usage: typenet-inspect CHECKPOINT\nPrints a checkpoint's network, metadata and, per tensor, its shape,\n"
                     "L2 norm and counts of NaN and infinite elements.\n");
        return argc == 2 ? 0 : 2;
    }
    try {
        const auto ck = typenet::io::read_checkpoint(argv[1]);
        std::printf("%s: network %s (structure %016llx)\n", argv[1], ck.network.c_str(),
                    static_cast<unsigned long long>(ck.structure_hash));
        for (const auto& [k, v] : ck.metadata) {  // long or multi-line values (a run's history) cut short
            const std::size_t cut = std::min(v.find('\n'), std::size_t(100));
            std::printf("  %s = %s%s\n", k.c_str(), v.substr(0, cut).c_str(), cut < v.size() ? " ..." : "");
        }
        for (const auto& t : ck.tensors) {
            if (t.dtype == sizeof(double)) summarise<double>(t);  // dtype: bytes per element
            else summarise<float>(t);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-inspect: %s\n", e.what());
        return 2;
    }
}
