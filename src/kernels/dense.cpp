// src/kernels/dense.cpp - the public dense (fully connected) kernels (kernels.hpp: dense_forward,
// dense_backward_data, dense_backward_params). double runs the reference kernels; float the GEMM
// of fast_impl.hpp (isa_table::gemm), its row or column blocks split over the OpenMP team.
#include "typenet/kernels.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "typenet/kernels_reference.hpp"
#include "runtime.hpp"

namespace typenet::kernels {

using namespace rt;

namespace {

#if TYPENET_FAST_X86

thread_local scratch tl_aux;      // calling thread: a second operand buffer (dense)

using fast::isa_table;

// ---- dense ----------------------------------------------------------------------------------------

void fast_dense_forward(const isa_table& t, std::size_t batch, std::size_t in, std::size_t out, const float* x,
                        const float* w, const float* bias, float* y) {
    // y^T (out, batch) = w (out, in) * x^T (in, batch): the weights are read in place, row by row;
    // only the (smaller) input is transposed.
    const std::size_t bp = round_up(batch, t.gemm_nr);
    float* xt = tl_partial.get(in * bp);
    float* yt = tl_aux.get(out * bp);
    // x^T in 16 x 64 blocks: reads of 64 contiguous floats, writes of 16.
    const std::size_t iblocks = (in + 63) / 64;
    parallel_for(iblocks, [&](std::size_t ib) {
        const std::size_t i0 = ib * 64, i1 = std::min(in, i0 + 64);
        for (std::size_t b0 = 0; b0 < bp; b0 += 16)
            for (std::size_t i = i0; i < i1; ++i) {
                float* d = xt + i * bp + b0;
                const std::size_t b1 = std::min(bp, b0 + 16);
                for (std::size_t b = b0; b < b1; ++b) d[b - b0] = b < batch ? x[b * in + i] : 0.f;
            }
    }, in * batch > (1u << 18));
    const std::size_t nt = std::min(thread_count(), (out + t.gemm_mr - 1) / t.gemm_mr);
    parallel_for(nt, [&](std::size_t part) {
        const auto [m0, m1] = split_range(out, t.gemm_mr, nt, part);
        if (m0 == m1) return;
        fast::gemm_args a{m0, m1, 0, bp, in, w, in, 1, xt, bp, yt, bp, false, tl_work.get(t.gemm_work_floats)};
        t.gemm(a);
    }, 2 * batch * in * out > (1u << 20));
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t o = 0; o < out; ++o) y[b * out + o] = yt[o * bp + b] + (bias ? bias[o] : 0.f);
}

void fast_dense_backward_data(const isa_table& t, std::size_t batch, std::size_t in, std::size_t out, const float* dy,
                              const float* w, float* dx) {
    // dx (batch, in) = dy (batch, out) * w (out, in); threads own column blocks of dx.
    const std::size_t nt = std::min(thread_count(), (in + t.gemm_nr - 1) / t.gemm_nr);
    parallel_for(nt, [&](std::size_t part) {
        const auto [n0, n1] = split_range(in, t.gemm_nr, nt, part);
        if (n0 == n1) return;
        fast::gemm_args a{0, batch, n0, n1, out, dy, out, 1, w, in, dx, in, false, tl_work.get(t.gemm_work_floats)};
        t.gemm(a);
    }, 2 * batch * in * out > (1u << 20));
}

void fast_dense_backward_params(const isa_table& t, std::size_t batch, std::size_t in, std::size_t out, const float* x,
                                const float* dy, float* dw, float* dbias) {
    // dw (out, in) += dy^T (out, batch) * x (batch, in); dy^T is read in place (column access).
    const std::size_t nt = std::min(thread_count(), (in + t.gemm_nr - 1) / t.gemm_nr);
    parallel_for(nt, [&](std::size_t part) {
        const auto [n0, n1] = split_range(in, t.gemm_nr, nt, part);
        if (n0 == n1) return;
        fast::gemm_args a{0, out, n0, n1, batch, dy, 1, out, x, in, dw, in, true, tl_work.get(t.gemm_work_floats)};
        t.gemm(a);
    }, 2 * batch * in * out > (1u << 20));
    if (dbias)
        for (std::size_t o = 0; o < out; ++o) {
            float s = 0.f;
            for (std::size_t b = 0; b < batch; ++b) s += dy[b * out + o];
            dbias[o] += s;
        }
}

#endif  // TYPENET_FAST_X86

}  // namespace

// ---- the public kernels ----------------------------------------------------------------------------

template <class T>
void dense_forward(std::size_t batch, std::size_t in, std::size_t out, const T* x, const T* w, const T* bias, T* y) {
    const profile_scope scope(k_dense_fwd);
    TYPENET_FAST(fast_dense_forward(*table(), batch, in, out, x, w, bias, y))
    reference::dense_forward<T>(batch, in, out, x, w, bias, y);
}
template <class T>
void dense_backward_data(std::size_t batch, std::size_t in, std::size_t out, const T* dy, const T* w, T* dx) {
    const profile_scope scope(k_dense_bwd_data);
    TYPENET_FAST(fast_dense_backward_data(*table(), batch, in, out, dy, w, dx))
    reference::dense_backward_data<T>(batch, in, out, dy, w, dx);
}
template <class T>
void dense_backward_params(std::size_t batch, std::size_t in, std::size_t out, const T* x, const T* dy, T* dw,
                           T* dbias) {
    const profile_scope scope(k_dense_bwd_params);
    TYPENET_FAST(fast_dense_backward_params(*table(), batch, in, out, x, dy, dw, dbias))
    reference::dense_backward_params<T>(batch, in, out, x, dy, dw, dbias);
}

#undef TYPENET_FAST

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void dense_forward<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, const T*, T*);     \
    template void dense_backward_data<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, T*);         \
    template void dense_backward_params<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, T*, T*);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

#undef TYPENET_INSTANTIATE

}  // namespace typenet::kernels
