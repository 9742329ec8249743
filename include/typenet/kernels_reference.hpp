// typenet/kernels_reference.hpp - the reference kernels, callable directly.
//
// typenet::kernels::reference holds plain-loop kernels with exactly the signatures, contracts
// and aliasing rules of typenet/kernels.hpp, for float and double (src/kernels/reference.cpp).
// The public typenet::kernels functions forward double to them; tests call them to check the
// fast float kernels, and they document the numerics (batch-norm statistics in double, two
// passes). They are slow: O(naive loops), one thread.
#pragma once

#include "typenet/kernels.hpp"

namespace typenet::kernels::reference {

template <class T> void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y);
template <class T> void conv2d_backward_data(const conv_geometry& g, const T* dy, const T* w, T* dx,
                                             bool accumulate = false);
template <class T> void conv2d_backward_params(const conv_geometry& g, const T* x, const T* dy, T* dw, T* dbias);

template <class T> void dense_forward(std::size_t batch, std::size_t in, std::size_t out, const T* x, const T* w,
                                      const T* bias, T* y);
template <class T> void dense_backward_data(std::size_t batch, std::size_t in, std::size_t out, const T* dy, const T* w,
                                            T* dx);
template <class T> void dense_backward_params(std::size_t batch, std::size_t in, std::size_t out, const T* x,
                                              const T* dy, T* dw, T* dbias);

template <class T> void batch_norm_infer(const bn_geometry& g, const T* x, const T* gamma, const T* beta,
                                         const T* running_mean, const T* running_var, double eps, const T* a,
                                         bool relu, T* y);

template <class T> void norm_statistics(const norm_geometry& g, const T* x, double eps, T* mean, T* var, T* istd,
                                        norm_sync* sync = nullptr, double* count = nullptr);
template <class T> void norm_apply(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma,
                                   const T* beta, bool per_sample_group, const T* a, bool relu, T* y);
template <class T> void norm_backward(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma,
                                      const T* beta, bool per_sample_group, bool relu, const T* dy, T* dx, T* dgamma,
                                      T* dbeta, norm_sync* sync = nullptr);

template <class T> void max_pool_forward(const pool_geometry& g, const T* x, T* y, std::uint32_t* argmax);
template <class T> void max_pool_backward(const pool_geometry& g, const T* dy, const std::uint32_t* argmax, T* dx);
template <class T> void max_pool_infer(const pool_geometry& g, const T* x, T* y);
template <class T> void avg_pool_forward(const pool_geometry& g, const T* x, T* y);
template <class T> void avg_pool_backward(const pool_geometry& g, const T* dy, T* dx);

template <class T> void relu_forward(std::size_t n, const T* x, T* y);
template <class T> void relu_backward(std::size_t n, const T* y, const T* dy, T* dx);
template <class T> void relu_backward_copy(std::size_t n, const T* y, const T* dy, T* dx, T* copy);
template <class T> void add(std::size_t n, const T* a, const T* b, T* y, bool relu);
template <class T> void sgd_update(std::size_t n, T* w, const T* g, T* velocity, const sgd_hyper& h);
template <class T> void adam_update(std::size_t n, T* w, const T* g, T* m, T* s, const adam_hyper& h);

}  // namespace typenet::kernels::reference
