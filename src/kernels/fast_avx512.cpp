// The float kernels for AVX-512 (F + DQ: xsimd 8.1's hadd needs DQ). Built with
// -march=skylake-avx512; only ever called after run-time detection (see runtime.cpp).
#define TYPENET_FAST_ISA_NS isa_avx512
#include "fast_impl.hpp"

namespace typenet::kernels::fast {
const isa_table* table_avx512() { return isa_avx512::impl<xsimd::avx512f>::table("avx512"); }
}  // namespace typenet::kernels::fast
