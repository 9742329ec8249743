// typenet/kernels.hpp - the narrow interface between layers and compute kernels.
//
// Layers own shapes and types; kernels own loops. Every kernel takes run-time sizes and
// raw contiguous buffers (layout of typenet::tensor: batch-major, then C, H, W row-major),
// so one compiled kernel serves every network, compile times stay flat, and a SIMD
// implementation can replace a reference one without touching any layer.
//
// Conventions shared by all kernels:
//   - "forward" kernels overwrite their outputs;
//   - "backward_data" kernels overwrite the input gradient;
//   - "backward_params" kernels ADD into parameter gradients (see the VJP contract in layer.hpp).
// They are defined in src/kernels/ for float and double (reference_*.cpp: plain loops, the
// numerical reference every faster kernel is tested against).
#pragma once

#include <cstddef>
#include <cstdint>

namespace typenet::kernels {

struct conv_geometry {
    std::size_t batch, in_channels, in_height, in_width;
    std::size_t out_channels, out_height, out_width;
    std::size_t kernel, stride, pad;
};

// y[b, o, i, j] = bias[o] + sum_{c, u, v} w[o, c, u, v] * x[b, c, i*s+u-p, j*s+v-p]
// (zero outside the input). bias may be null. w is (out_channels, in_channels, k, k).
template <class T> void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y);
// dx = J_x^T dy (overwrites dx).
template <class T> void conv2d_backward_data(const conv_geometry& g, const T* dy, const T* w, T* dx);
// dw += J_w^T dy; dbias += sum over b, i, j of dy (dbias may be null).
template <class T> void conv2d_backward_params(const conv_geometry& g, const T* x, const T* dy, T* dw, T* dbias);

// y (batch, out) = x (batch, in) * w^T + bias, w is (out, in) like PyTorch's Linear.
template <class T> void dense_forward(std::size_t batch, std::size_t in, std::size_t out, const T* x, const T* w,
                                      const T* bias, T* y);
// dx (batch, in) = dy (batch, out) * w
template <class T> void dense_backward_data(std::size_t batch, std::size_t in, std::size_t out, const T* dy, const T* w,
                                            T* dx);
// dw += dy^T x; dbias += column sums of dy (dbias may be null)
template <class T> void dense_backward_params(std::size_t batch, std::size_t in, std::size_t out, const T* x,
                                              const T* dy, T* dw, T* dbias);

// Batch normalisation over (batch, channels, spatial): statistics per channel over
// n = batch * spatial values. Flat inputs use spatial = 1 (statistics per feature).
struct bn_geometry {
    std::size_t batch, channels, spatial;
};
// Train mode: mean and biased variance of the batch; writes y = gamma * xhat + beta,
// xhat = (x - mean) * istd, istd = 1 / sqrt(var + eps), and the batch mean and biased
// variance per channel (the caller folds them into the running statistics).
template <class T> void batch_norm_forward_train(const bn_geometry& g, const T* x, const T* gamma, const T* beta,
                                                 double eps, T* y, T* xhat, T* istd, T* batch_mean, T* batch_var);
// Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
template <class T> void batch_norm_infer(const bn_geometry& g, const T* x, const T* gamma, const T* beta,
                                         const T* running_mean, const T* running_var, double eps, T* y);
// The closed-form three-term VJP of train mode, per channel with n values:
//   dx_i = gamma * istd / n * (n * dy_i - sum_j dy_j - xhat_i * sum_j dy_j * xhat_j)
//   dgamma += sum_i dy_i * xhat_i;   dbeta += sum_i dy_i
template <class T> void batch_norm_backward(const bn_geometry& g, const T* dy, const T* xhat, const T* gamma,
                                            const T* istd, T* dx, T* dgamma, T* dbeta);

struct pool_geometry {
    std::size_t batch, channels, in_height, in_width, out_height, out_width, window, stride;
};
// Max over each window; argmax holds the index within the sample's channel plane of the winner
// (the first one on ties).
template <class T> void max_pool_forward(const pool_geometry& g, const T* x, T* y, std::uint32_t* argmax);
template <class T> void max_pool_backward(const pool_geometry& g, const T* dy, const std::uint32_t* argmax, T* dx);
template <class T> void max_pool_infer(const pool_geometry& g, const T* x, T* y);
template <class T> void avg_pool_forward(const pool_geometry& g, const T* x, T* y);
template <class T> void avg_pool_backward(const pool_geometry& g, const T* dy, T* dx);

// Elementwise.
template <class T> void relu_forward(std::size_t n, const T* x, T* y);            // y = max(x, 0); x may equal y
template <class T> void relu_backward(std::size_t n, const T* y, const T* dy, T* dx);  // dx = dy * (y > 0)

}  // namespace typenet::kernels
