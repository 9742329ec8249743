// The portable float kernels: SSE2, the x86-64 baseline (no FMA: xsimd emulates fma with a
// multiply and an add). Selected by set_isa("scalar") / --simd scalar, and the fallback of "auto".
#define TYPENET_FAST_ISA_NS isa_sse2
#include "fast_impl.hpp"

namespace typenet::kernels::fast {
const isa_table* table_sse2() { return isa_sse2::impl<xsimd::sse2>::table("sse2"); }
}  // namespace typenet::kernels::fast
