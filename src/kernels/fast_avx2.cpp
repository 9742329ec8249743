// The float kernels for AVX2 + FMA3. Built with -mavx2 -mfma; only ever called after run-time
// detection (see runtime.cpp).
#define TYPENET_FAST_ISA_NS isa_avx2
#include "fast_impl.hpp"

namespace typenet::kernels::fast {
const isa_table* table_avx2() { return isa_avx2::impl<xsimd::fma3<xsimd::avx2>>::table("avx2"); }
}  // namespace typenet::kernels::fast
