// src/kernels/pool_elementwise.cpp - the public pooling and element-wise kernels (kernels.hpp: max
// and average pooling, ReLU and its VJPs, add). double runs the reference kernels; float max
// pooling the plain C++ below, ReLU and add the loops of fast_impl.hpp, split over the OpenMP
// team; average pooling runs the reference kernels for float too.
#include "typenet/kernels.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "typenet/kernels_reference.hpp"
#include "runtime.hpp"

namespace typenet::kernels {

using namespace rt;

namespace {

#if TYPENET_FAST_X86
using fast::isa_table;
#endif

// ---- pooling and ReLU for float (plain C++; split over threads) --------------------------------------

// One output row of 2x2 / stride 2 max pooling, in the reference's order (0,0), (0,1), (1,0),
// (1,1) with strictly-greater replacing, so ties and NaNs resolve identically. Written as
// selects over a whole row: random data would mispredict branches.
void max_pool_2x2_row(const float* r0, const float* r1, std::size_t n, std::uint32_t i0, std::uint32_t i1, float* y,
                      std::uint32_t* argmax) {
    for (std::size_t ow = 0; ow < n; ++ow) {
        float best = r0[2 * ow];
        std::uint32_t where = i0 + std::uint32_t(2 * ow);
        const float a = r0[2 * ow + 1], b = r1[2 * ow], c = r1[2 * ow + 1];
        bool g = a > best;
        where = g ? i0 + std::uint32_t(2 * ow + 1) : where;
        best = g ? a : best;
        g = b > best;
        where = g ? i1 + std::uint32_t(2 * ow) : where;
        best = g ? b : best;
        g = c > best;
        where = g ? i1 + std::uint32_t(2 * ow + 1) : where;
        best = g ? c : best;
        y[ow] = best;
        argmax[ow] = where;
    }
}

void fast_max_pool_forward(const pool_geometry& g, const float* x, float* y, std::uint32_t* argmax) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    const bool two = g.window == 2 && g.stride == 2;
    thread_local std::vector<std::uint32_t> tl_argmax_row;
    parallel_for(g.batch * g.channels, [&](std::size_t bc) {
        const float* xp = x + bc * in_plane;
        float* yp = y + bc * out_plane;
        if (two) {
            std::vector<std::uint32_t>& scratch_row = tl_argmax_row;
            if (!argmax) scratch_row.resize(g.out_width);
            for (std::size_t oh = 0; oh < g.out_height; ++oh) {
                const std::size_t i0 = 2 * oh * g.in_width;
                max_pool_2x2_row(xp + i0, xp + i0 + g.in_width, g.out_width, std::uint32_t(i0),
                                 std::uint32_t(i0 + g.in_width), yp + oh * g.out_width,
                                 argmax ? argmax + bc * out_plane + oh * g.out_width : scratch_row.data());
            }
            return;
        }
        for (std::size_t oh = 0; oh < g.out_height; ++oh)
            for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                const std::size_t i0 = (oh * g.stride) * g.in_width + ow * g.stride;
                float best = xp[i0];
                std::uint32_t where = std::uint32_t(i0);
                for (std::size_t u = 0; u < g.window; ++u)
                    for (std::size_t v = 0; v < g.window; ++v) {
                        const std::size_t idx = (oh * g.stride + u) * g.in_width + ow * g.stride + v;
                        if (xp[idx] > best) best = xp[idx], where = std::uint32_t(idx);
                    }
                yp[oh * g.out_width + ow] = best;
                if (argmax) argmax[bc * out_plane + oh * g.out_width + ow] = where;
            }
    }, g.batch * g.channels * in_plane >= (1u << 16));
}

void fast_max_pool_backward(const pool_geometry& g, const float* dy, const std::uint32_t* argmax, float* dx) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    // 2x2 windows tiling the plane exactly: every input is in one window, so one pass writes
    // dy or 0 to each (no zero fill, then scatter).
    const bool tiles = g.window == 2 && g.stride == 2 && g.in_height == 2 * g.out_height && g.in_width == 2 * g.out_width;
    parallel_for(g.batch * g.channels, [&](std::size_t bc) {
        float* d = dx + bc * in_plane;
        if (tiles) {
            const float* s = dy + bc * out_plane;
            const std::uint32_t* a = argmax + bc * out_plane;
            const std::size_t W = g.in_width;
            for (std::size_t oh = 0; oh < g.out_height; ++oh) {
                float* r0 = d + 2 * oh * W;
                float* r1 = r0 + W;
                const std::uint32_t i0 = std::uint32_t(2 * oh * W), i1 = std::uint32_t(i0 + W);
                for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                    const float v = s[oh * g.out_width + ow];
                    const std::uint32_t w = a[oh * g.out_width + ow], j = std::uint32_t(2 * ow);
                    r0[2 * ow] = w == i0 + j ? v : 0.f;
                    r0[2 * ow + 1] = w == i0 + j + 1 ? v : 0.f;
                    r1[2 * ow] = w == i1 + j ? v : 0.f;
                    r1[2 * ow + 1] = w == i1 + j + 1 ? v : 0.f;
                }
            }
            return;
        }
        std::memset(d, 0, in_plane * sizeof(float));
        const float* s = dy + bc * out_plane;
        const std::uint32_t* a = argmax + bc * out_plane;
        for (std::size_t i = 0; i < out_plane; ++i) d[a[i]] += s[i];
    }, g.batch * g.channels * in_plane >= (1u << 16));
}

}  // namespace

// ---- the public kernels ----------------------------------------------------------------------------

template <class T>
void max_pool_forward(const pool_geometry& g, const T* x, T* y, std::uint32_t* argmax) {
    const profile_scope scope(k_pool_fwd);
    if constexpr (std::is_same_v<T, float>) fast_max_pool_forward(g, x, y, argmax);
    else reference::max_pool_forward<T>(g, x, y, argmax);
}
template <class T>
void max_pool_infer(const pool_geometry& g, const T* x, T* y) {
    const profile_scope scope(k_pool_fwd);
    if constexpr (std::is_same_v<T, float>) fast_max_pool_forward(g, x, y, nullptr);
    else reference::max_pool_infer<T>(g, x, y);
}
template <class T>
void max_pool_backward(const pool_geometry& g, const T* dy, const std::uint32_t* argmax, T* dx) {
    const profile_scope scope(k_pool_bwd);
    if constexpr (std::is_same_v<T, float>) fast_max_pool_backward(g, dy, argmax, dx);
    else reference::max_pool_backward<T>(g, dy, argmax, dx);
}
template <class T>
void avg_pool_forward(const pool_geometry& g, const T* x, T* y) {
    const profile_scope scope(k_pool_fwd);
    reference::avg_pool_forward<T>(g, x, y);
}
template <class T>
void avg_pool_backward(const pool_geometry& g, const T* dy, T* dx) {
    const profile_scope scope(k_pool_bwd);
    reference::avg_pool_backward<T>(g, dy, dx);
}
template <class T>
void relu_forward(std::size_t n, const T* x, T* y) {
    const profile_scope scope(k_relu_fwd);
#if TYPENET_FAST_X86
    if constexpr (std::is_same_v<T, float>) {
        const isa_table& t = *table();
        elementwise_blocks(n, [&](std::size_t i, std::size_t len) { t.relu_forward(len, x + i, y + i); });
        return;
    }
#endif
    reference::relu_forward<T>(n, x, y);
}
template <class T>
void relu_backward(std::size_t n, const T* y, const T* dy, T* dx) {
    const profile_scope scope(k_relu_bwd);
#if TYPENET_FAST_X86
    if constexpr (std::is_same_v<T, float>) {
        const isa_table& t = *table();
        elementwise_blocks(n, [&](std::size_t i, std::size_t len) { t.relu_backward(len, y + i, dy + i, dx + i); });
        return;
    }
#endif
    reference::relu_backward<T>(n, y, dy, dx);
}

template <class T>
void relu_backward_copy(std::size_t n, const T* y, const T* dy, T* dx, T* copy) {
    const profile_scope scope(k_relu_bwd);
#if TYPENET_FAST_X86
    if constexpr (std::is_same_v<T, float>) {
        const isa_table& t = *table();
        elementwise_blocks(n, [&](std::size_t i, std::size_t len) {
            t.relu_backward_copy(len, y + i, dy + i, dx + i, copy + i);
        });
        return;
    }
#endif
    reference::relu_backward_copy<T>(n, y, dy, dx, copy);
}

template <class T>
void add(std::size_t n, const T* a, const T* b, T* y, bool relu) {
    const profile_scope scope(k_add);
#if TYPENET_FAST_X86
    if constexpr (std::is_same_v<T, float>) {
        const isa_table& t = *table();
        elementwise_blocks(n, [&](std::size_t i, std::size_t len) { t.add(len, a + i, b + i, y + i, relu); });
        return;
    }
#endif
    reference::add<T>(n, a, b, y, relu);
}

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void max_pool_forward<T>(const pool_geometry&, const T*, T*, std::uint32_t*);                        \
    template void max_pool_infer<T>(const pool_geometry&, const T*, T*);                                          \
    template void max_pool_backward<T>(const pool_geometry&, const T*, const std::uint32_t*, T*);                 \
    template void avg_pool_forward<T>(const pool_geometry&, const T*, T*);                                        \
    template void avg_pool_backward<T>(const pool_geometry&, const T*, T*);                                       \
    template void relu_forward<T>(std::size_t, const T*, T*);                                                     \
    template void relu_backward<T>(std::size_t, const T*, const T*, T*);                                          \
    template void relu_backward_copy<T>(std::size_t, const T*, const T*, T*, T*);                                 \
    template void add<T>(std::size_t, const T*, const T*, T*, bool);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

#undef TYPENET_INSTANTIATE

}  // namespace typenet::kernels
