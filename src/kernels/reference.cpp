// Reference kernels: plain loops, written for clarity. They define the numerics every fast
// kernel is compared against, and they serve double precision (gradient checks): the public
// typenet::kernels functions forward double here (conv.cpp, dense.cpp, pool_elementwise.cpp, optim.cpp, norm.cpp). Declared in
// typenet/kernels_reference.hpp.
#include "typenet/kernels_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace typenet::kernels::reference {

template <class T>
void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    const std::size_t kk = g.kernel * g.kernel;
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t o = 0; o < g.out_channels; ++o) {
            T* yo = y + (b * g.out_channels + o) * out_plane;
            for (std::size_t i = 0; i < out_plane; ++i) yo[i] = bias ? bias[o] : T(0);
            for (std::size_t c = 0; c < g.in_channels; ++c) {
                const T* xc = x + (b * g.in_channels + c) * in_plane;
                const T* wk = w + (o * g.in_channels + c) * kk;
                for (std::size_t oh = 0; oh < g.out_height; ++oh)
                    for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                        T acc = 0;
                        for (std::size_t u = 0; u < g.kernel; ++u) {
                            const std::ptrdiff_t ih = std::ptrdiff_t(oh * g.stride + u) - std::ptrdiff_t(g.pad);
                            if (ih < 0 || ih >= std::ptrdiff_t(g.in_height)) continue;
                            for (std::size_t v = 0; v < g.kernel; ++v) {
                                const std::ptrdiff_t iw = std::ptrdiff_t(ow * g.stride + v) - std::ptrdiff_t(g.pad);
                                if (iw < 0 || iw >= std::ptrdiff_t(g.in_width)) continue;
                                acc += wk[u * g.kernel + v] * xc[std::size_t(ih) * g.in_width + std::size_t(iw)];
                            }
                        }
                        yo[oh * g.out_width + ow] += acc;
                    }
            }
        }
}

template <class T>
void conv2d_backward_data(const conv_geometry& g, const T* dy, const T* w, T* dx, bool accumulate) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    const std::size_t kk = g.kernel * g.kernel;
    if (accumulate) {  // dx + (the result), the result computed alone
        std::vector<T> r(g.batch * g.in_channels * in_plane);
        reference::conv2d_backward_data<T>(g, dy, w, r.data(), false);
        for (std::size_t i = 0; i < r.size(); ++i) dx[i] = dx[i] + r[i];
        return;
    }
    std::fill(dx, dx + g.batch * g.in_channels * in_plane, T(0));
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t o = 0; o < g.out_channels; ++o) {
            const T* dyo = dy + (b * g.out_channels + o) * out_plane;
            for (std::size_t c = 0; c < g.in_channels; ++c) {
                T* dxc = dx + (b * g.in_channels + c) * in_plane;
                const T* wk = w + (o * g.in_channels + c) * kk;
                for (std::size_t oh = 0; oh < g.out_height; ++oh)
                    for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                        const T d = dyo[oh * g.out_width + ow];
                        for (std::size_t u = 0; u < g.kernel; ++u) {
                            const std::ptrdiff_t ih = std::ptrdiff_t(oh * g.stride + u) - std::ptrdiff_t(g.pad);
                            if (ih < 0 || ih >= std::ptrdiff_t(g.in_height)) continue;
                            for (std::size_t v = 0; v < g.kernel; ++v) {
                                const std::ptrdiff_t iw = std::ptrdiff_t(ow * g.stride + v) - std::ptrdiff_t(g.pad);
                                if (iw < 0 || iw >= std::ptrdiff_t(g.in_width)) continue;
                                dxc[std::size_t(ih) * g.in_width + std::size_t(iw)] += wk[u * g.kernel + v] * d;
                            }
                        }
                    }
            }
        }
}

template <class T>
void conv2d_backward_params(const conv_geometry& g, const T* x, const T* dy, T* dw, T* dbias) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    const std::size_t kk = g.kernel * g.kernel;
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t o = 0; o < g.out_channels; ++o) {
            const T* dyo = dy + (b * g.out_channels + o) * out_plane;
            if (dbias) {
                T s = 0;
                for (std::size_t i = 0; i < out_plane; ++i) s += dyo[i];
                dbias[o] += s;
            }
            for (std::size_t c = 0; c < g.in_channels; ++c) {
                const T* xc = x + (b * g.in_channels + c) * in_plane;
                T* dwk = dw + (o * g.in_channels + c) * kk;
                for (std::size_t u = 0; u < g.kernel; ++u)
                    for (std::size_t v = 0; v < g.kernel; ++v) {
                        T acc = 0;
                        for (std::size_t oh = 0; oh < g.out_height; ++oh) {
                            const std::ptrdiff_t ih = std::ptrdiff_t(oh * g.stride + u) - std::ptrdiff_t(g.pad);
                            if (ih < 0 || ih >= std::ptrdiff_t(g.in_height)) continue;
                            for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                                const std::ptrdiff_t iw = std::ptrdiff_t(ow * g.stride + v) - std::ptrdiff_t(g.pad);
                                if (iw < 0 || iw >= std::ptrdiff_t(g.in_width)) continue;
                                acc += dyo[oh * g.out_width + ow] * xc[std::size_t(ih) * g.in_width + std::size_t(iw)];
                            }
                        }
                        dwk[u * g.kernel + v] += acc;
                    }
            }
        }
}

template <class T>
void dense_forward(std::size_t batch, std::size_t in, std::size_t out, const T* x, const T* w, const T* bias, T* y) {
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t o = 0; o < out; ++o) {
            T acc = bias ? bias[o] : T(0);
            for (std::size_t i = 0; i < in; ++i) acc += w[o * in + i] * x[b * in + i];
            y[b * out + o] = acc;
        }
}

template <class T>
void dense_backward_data(std::size_t batch, std::size_t in, std::size_t out, const T* dy, const T* w, T* dx) {
    for (std::size_t b = 0; b < batch; ++b) {
        T* dxb = dx + b * in;
        std::fill(dxb, dxb + in, T(0));
        for (std::size_t o = 0; o < out; ++o) {
            const T d = dy[b * out + o];
            for (std::size_t i = 0; i < in; ++i) dxb[i] += d * w[o * in + i];
        }
    }
}

template <class T>
void dense_backward_params(std::size_t batch, std::size_t in, std::size_t out, const T* x, const T* dy, T* dw,
                           T* dbias) {
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t o = 0; o < out; ++o) {
            const T d = dy[b * out + o];
            if (dbias) dbias[o] += d;
            for (std::size_t i = 0; i < in; ++i) dw[o * in + i] += d * x[b * in + i];
        }
}

// gamma * xhat + beta with one rounding: the value a fused ReLU sees, computed the same way when
// norm_backward recomputes the ReLU mask.
template <class T> T pre_relu(T gamma, T xhat, T beta) { return std::fma(gamma, xhat, beta); }

template <class T>
void batch_norm_infer(const bn_geometry& g, const T* x, const T* gamma, const T* beta, const T* running_mean,
                      const T* running_var, double eps, const T* a, bool relu, T* y) {
    for (std::size_t c = 0; c < g.channels; ++c) {
        const T scale = T(gamma[c] / std::sqrt(double(running_var[c]) + eps));
        const T shift = beta[c] - scale * running_mean[c];
        for (std::size_t b = 0; b < g.batch; ++b) {
            const std::size_t off = (b * g.channels + c) * g.spatial;
            for (std::size_t i = 0; i < g.spatial; ++i) {
                T v = scale * x[off + i] + shift;
                if (a) v = v + a[off + i];
                y[off + i] = relu ? (v > T(0) ? v : T(0)) : v;
            }
        }
    }
}

template <class T>
void max_pool_forward(const pool_geometry& g, const T* x, T* y, std::uint32_t* argmax) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    for (std::size_t bc = 0; bc < g.batch * g.channels; ++bc) {
        const T* xp = x + bc * in_plane;
        for (std::size_t oh = 0; oh < g.out_height; ++oh)
            for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                T best = -std::numeric_limits<T>::infinity();
                std::uint32_t where = 0;
                bool first = true;
                for (std::size_t u = 0; u < g.window; ++u)
                    for (std::size_t v = 0; v < g.window; ++v) {
                        const std::size_t idx = (oh * g.stride + u) * g.in_width + ow * g.stride + v;
                        if (first || xp[idx] > best) {
                            best = xp[idx];
                            where = std::uint32_t(idx);
                            first = false;
                        }
                    }
                y[bc * out_plane + oh * g.out_width + ow] = best;
                if (argmax) argmax[bc * out_plane + oh * g.out_width + ow] = where;
            }
    }
}

template <class T>
void max_pool_infer(const pool_geometry& g, const T* x, T* y) {
    reference::max_pool_forward<T>(g, x, y, nullptr);
}

template <class T>
void max_pool_backward(const pool_geometry& g, const T* dy, const std::uint32_t* argmax, T* dx) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    std::fill(dx, dx + g.batch * g.channels * in_plane, T(0));
    for (std::size_t bc = 0; bc < g.batch * g.channels; ++bc)
        for (std::size_t i = 0; i < out_plane; ++i) dx[bc * in_plane + argmax[bc * out_plane + i]] += dy[bc * out_plane + i];
}

template <class T>
void avg_pool_forward(const pool_geometry& g, const T* x, T* y) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    const T scale = T(1) / T(g.window * g.window);
    for (std::size_t bc = 0; bc < g.batch * g.channels; ++bc) {
        const T* xp = x + bc * in_plane;
        for (std::size_t oh = 0; oh < g.out_height; ++oh)
            for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                T acc = 0;
                for (std::size_t u = 0; u < g.window; ++u)
                    for (std::size_t v = 0; v < g.window; ++v)
                        acc += xp[(oh * g.stride + u) * g.in_width + ow * g.stride + v];
                y[bc * out_plane + oh * g.out_width + ow] = acc * scale;
            }
    }
}

template <class T>
void avg_pool_backward(const pool_geometry& g, const T* dy, T* dx) {
    const std::size_t in_plane = g.in_height * g.in_width, out_plane = g.out_height * g.out_width;
    const T scale = T(1) / T(g.window * g.window);
    std::fill(dx, dx + g.batch * g.channels * in_plane, T(0));
    for (std::size_t bc = 0; bc < g.batch * g.channels; ++bc) {
        T* dxp = dx + bc * in_plane;
        for (std::size_t oh = 0; oh < g.out_height; ++oh)
            for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                const T d = dy[bc * out_plane + oh * g.out_width + ow] * scale;
                for (std::size_t u = 0; u < g.window; ++u)
                    for (std::size_t v = 0; v < g.window; ++v) dxp[(oh * g.stride + u) * g.in_width + ow * g.stride + v] += d;
            }
    }
}

template <class T>
void relu_forward(std::size_t n, const T* x, T* y) {
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
void relu_backward(std::size_t n, const T* y, const T* dy, T* dx) {
    for (std::size_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <class T>
void relu_backward_copy(std::size_t n, const T* y, const T* dy, T* dx, T* copy) {
    for (std::size_t i = 0; i < n; ++i) copy[i] = dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <class T>
void add(std::size_t n, const T* a, const T* b, T* y, bool relu) {
    for (std::size_t i = 0; i < n; ++i) {
        const T s = a[i] + b[i];
        y[i] = relu ? (s > T(0) ? s : T(0)) : s;
    }
}

// The optimizer updates in double whatever T is: the reference the float kernels are held to.
template <class T>
void sgd_update(std::size_t n, T* w, const T* g, T* velocity, const sgd_hyper& h) {
    const double mu = h.momentum;
    for (std::size_t k = 0; k < n; ++k) {
        double d = double(g[k]) + h.weight_decay * double(w[k]);
        if (mu > 0) {
            const double vel = mu * double(velocity[k]) + d;
            velocity[k] = T(vel);
            d = h.nesterov ? d + mu * vel : vel;
        }
        w[k] = T(double(w[k]) - h.lr * d);
    }
}

template <class T>
void adam_update(std::size_t n, T* w, const T* g, T* m, T* s, const adam_hyper& h) {
    const double b1 = h.beta1, b2 = h.beta2;
    for (std::size_t k = 0; k < n; ++k) {
        double p = double(w[k]);
        double d = double(g[k]);
        if (h.decoupled) p *= 1.0 - h.lr * h.weight_decay;
        else d += h.weight_decay * p;
        const double mk = b1 * double(m[k]) + (1.0 - b1) * d;
        const double sk = b2 * double(s[k]) + (1.0 - b2) * d * d;
        m[k] = T(mk);
        s[k] = T(sk);
        p -= h.lr * (mk / h.correction1) / (std::sqrt(sk / h.correction2) + h.eps);
        w[k] = T(p);
    }
}

// ---- normalisation over blocks (kernels.hpp: norm_geometry) -----------------------------------------
namespace {
// Calls f(b, c) for every (sample, channel) plane of block (s, k).
template <class F> void for_each_plane(const norm_geometry& g, std::size_t s, std::size_t k, F&& f) {
    for (std::size_t b = g.group_begin(s); b < g.group_begin(s + 1); ++b)
        for (std::size_t c = k * g.channel_group; c < (k + 1) * g.channel_group; ++c) f(b, c);
}
}  // namespace

template <class T>
void norm_statistics(const norm_geometry& g, const T* x, double eps, T* mean, T* var, T* istd, norm_sync* sync,
                     double* count_out) {
    std::vector<double> moments(3 * g.blocks());  // per block: count, mean, centred sum of squares
    for (std::size_t s = 0; s < g.sample_groups(); ++s)
        for (std::size_t k = 0; k < g.channel_groups(); ++k) {
            // Two passes in double: the mean, then the centred sum of squares (no cancellation).
            double sum = 0, count = 0;
            for_each_plane(g, s, k, [&](std::size_t b, std::size_t c) {
                const T* p = x + (b * g.channels + c) * g.spatial;
                for (std::size_t i = 0; i < g.spatial; ++i) sum += p[i];
                count += double(g.spatial);
            });
            const double m = sum / count;
            double sq = 0;
            for_each_plane(g, s, k, [&](std::size_t b, std::size_t c) {
                const T* p = x + (b * g.channels + c) * g.spatial;
                for (std::size_t i = 0; i < g.spatial; ++i) sq += (p[i] - m) * (p[i] - m);
            });
            const std::size_t j = s * g.channel_groups() + k;
            moments[3 * j] = count, moments[3 * j + 1] = m, moments[3 * j + 2] = sq;
        }
    if (sync) sync->merge_moments(moments.data(), g.blocks());
    for (std::size_t j = 0; j < g.blocks(); ++j) {
        const double count = moments[3 * j], m = moments[3 * j + 1], sq = moments[3 * j + 2];
        mean[j] = T(m);
        var[j] = T(sq / count);
        istd[j] = T(1.0 / std::sqrt(sq / count + eps));
        if (count_out) count_out[j] = count;
    }
}

template <class T>
void norm_apply(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma, const T* beta,
                bool per_sample_group, const T* a, bool relu, T* y) {
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t c = 0; c < g.channels; ++c) {
            const std::size_t j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            const std::size_t off = (b * g.channels + c) * g.spatial;
            for (std::size_t i = 0; i < g.spatial; ++i) {
                const T h = T((double(x[off + i]) - double(mean[j])) * double(istd[j]));
                T v = pre_relu(gamma[p], h, beta[p]);
                if (a) v = v + a[off + i];
                y[off + i] = relu ? (v > T(0) ? v : T(0)) : v;
            }
        }
}

template <class T>
void norm_backward(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma, const T* beta,
                   bool per_sample_group, bool relu, const T* dy, T* dx, T* dgamma, T* dbeta, norm_sync* sync) {
    const std::size_t n = g.batch * g.channels * g.spatial;
    std::vector<T> xhat(n), dm(n);
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t c = 0; c < g.channels; ++c) {
            const std::size_t j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            for (std::size_t i = 0; i < g.spatial; ++i) {
                const std::size_t v = (b * g.channels + c) * g.spatial + i;
                xhat[v] = T((double(x[v]) - double(mean[j])) * double(istd[j]));
                dm[v] = (!relu || pre_relu(gamma[p], xhat[v], beta[p]) > T(0)) ? dy[v] : T(0);
            }
        }
    // Per block: the sums of dxhat = gamma * dm and of dxhat * xhat, in double.
    std::vector<double> sum_dxhat(g.blocks()), sum_dxhat_xhat(g.blocks()), count(g.blocks());
    const std::size_t affine_rows = per_sample_group ? g.sample_groups() : 1;
    std::vector<double> sum_dm(affine_rows * g.channels), sum_dm_xhat(affine_rows * g.channels);
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t c = 0; c < g.channels; ++c) {
            const std::size_t j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            for (std::size_t i = 0; i < g.spatial; ++i) {
                const std::size_t v = (b * g.channels + c) * g.spatial + i;
                const double d = dm[v], h = xhat[v];
                sum_dxhat[j] += double(gamma[p]) * d;
                sum_dxhat_xhat[j] += double(gamma[p]) * d * h;
                sum_dm[p] += d;
                sum_dm_xhat[p] += d * h;
            }
            count[j] += double(g.spatial);
        }
    for (std::size_t p = 0; p < sum_dm.size(); ++p) {
        dgamma[p] += T(sum_dm_xhat[p]);
        dbeta[p] += T(sum_dm[p]);
    }
    if (sync) {  // the block sums and counts of every process
        std::vector<double> sums(3 * g.blocks());
        for (std::size_t j = 0; j < g.blocks(); ++j)
            sums[3 * j] = sum_dxhat[j], sums[3 * j + 1] = sum_dxhat_xhat[j], sums[3 * j + 2] = count[j];
        sync->sum(sums.data(), g.blocks());
        for (std::size_t j = 0; j < g.blocks(); ++j)
            sum_dxhat[j] = sums[3 * j], sum_dxhat_xhat[j] = sums[3 * j + 1], count[j] = sums[3 * j + 2];
    }
    for (std::size_t b = 0; b < g.batch; ++b)
        for (std::size_t c = 0; c < g.channels; ++c) {
            const std::size_t j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            for (std::size_t i = 0; i < g.spatial; ++i) {
                const std::size_t v = (b * g.channels + c) * g.spatial + i;
                dx[v] = T(double(istd[j]) * (double(gamma[p]) * double(dm[v]) -
                                             (sum_dxhat[j] + double(xhat[v]) * sum_dxhat_xhat[j]) / count[j]));
            }
        }
}

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void conv2d_forward<T>(const conv_geometry&, const T*, const T*, const T*, T*);                     \
    template void conv2d_backward_data<T>(const conv_geometry&, const T*, const T*, T*, bool);                         \
    template void conv2d_backward_params<T>(const conv_geometry&, const T*, const T*, T*, T*);                   \
    template void dense_forward<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, const T*, T*);     \
    template void dense_backward_data<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, T*);         \
    template void dense_backward_params<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, T*, T*);   \
    template void batch_norm_infer<T>(const bn_geometry&, const T*, const T*, const T*, const T*, const T*,      \
                                      double, const T*, bool, T*);                                                \
    template void max_pool_forward<T>(const pool_geometry&, const T*, T*, std::uint32_t*);                        \
    template void max_pool_infer<T>(const pool_geometry&, const T*, T*);                                          \
    template void max_pool_backward<T>(const pool_geometry&, const T*, const std::uint32_t*, T*);                 \
    template void avg_pool_forward<T>(const pool_geometry&, const T*, T*);                                        \
    template void avg_pool_backward<T>(const pool_geometry&, const T*, T*);                                       \
    template void norm_statistics<T>(const norm_geometry&, const T*, double, T*, T*, T*, norm_sync*, double*);    \
    template void norm_apply<T>(const norm_geometry&, const T*, const T*, const T*, const T*, const T*, bool,      \
                                const T*, bool, T*);                                                              \
    template void norm_backward<T>(const norm_geometry&, const T*, const T*, const T*, const T*, const T*, bool,   \
                                   bool, const T*, T*, T*, T*, norm_sync*);                                       \
    template void relu_forward<T>(std::size_t, const T*, T*);                                                     \
    template void relu_backward<T>(std::size_t, const T*, const T*, T*);                                          \
    template void relu_backward_copy<T>(std::size_t, const T*, const T*, T*, T*);                                 \
    template void add<T>(std::size_t, const T*, const T*, T*, bool);                                             \
    template void sgd_update<T>(std::size_t, T*, const T*, T*, const sgd_hyper&);                                 \
    template void adam_update<T>(std::size_t, T*, const T*, T*, T*, const adam_hyper&);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

}  // namespace typenet::kernels::reference
