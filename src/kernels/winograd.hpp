// src/kernels/winograd.hpp - internal: the Winograd F(4x4, 3x3) and F(2x2, 3x3) passes of
// winograd.cpp that conv.cpp's float kernels call where winograd_applies, and plane_stats, which
// the forward passes of both files run. Nothing here is installed or part of the public interface.
#pragma once

#include <cstddef>

#include "runtime.hpp"
#include "typenet/kernels.hpp"

#if TYPENET_FAST_X86
namespace typenet::kernels::wino {

// Do this convolution's three passes take the Winograd path (kernels.hpp: conv_algorithm)? See
// winograd.cpp for the rule.
bool winograd_applies(const conv_geometry& g);

// The Winograd forward pass (bias; run_stats as in plane_stats, or null).
void wino_conv2d_forward(const fast::isa_table& t, const conv_geometry& g, const float* x, const float* w,
                         const float* bias, float* y, double* run_stats);
// The Winograd backward-data pass (dx = or += the input gradient).
void wino_conv2d_backward_data(const fast::isa_table& t, const conv_geometry& g, const float* dy, const float* w,
                               float* dx, bool accumulate);
// Backward-params by Winograd (dw and dbias, if not null, are added to).
void wino_backward_params(const fast::isa_table& t, const conv_geometry& g, const float* x, const float* dy, float* dw,
                          float* dbias);

// Batch norm's per-plane statistics (run_stats, conv2d_forward_bn_stats) of images [b0, b1) of
// a convolution's output, just written by the calling thread: still in its cache.
inline void plane_stats(const fast::isa_table& t, const float* out, std::size_t channels, std::size_t plane,
                        std::size_t b0, std::size_t b1, double* run_stats) {
    if (!run_stats) return;
    for (std::size_t b = b0; b < b1; ++b)
        for (std::size_t c = 0; c < channels; ++c) {
            const std::size_t i = b * channels + c;
            t.bn_run_stats(out + i * plane, plane, &run_stats[2 * i], &run_stats[2 * i + 1]);
        }
}

}  // namespace typenet::kernels::wino
#endif  // TYPENET_FAST_X86
