// src/kernels/norm.cpp - the public normalisation kernels (kernels.hpp): normalisation over
// blocks in train mode (norm_statistics, norm_apply, norm_backward: batch norm over the batch or
// groups of samples, batch renorm, group, layer and instance norm, with the fused ReLU and the
// residual addend) and batch norm in eval mode (batch_norm_infer).
// double runs the reference kernels (reference.cpp); float the fast ones, built from the per-run
// loops of fast_impl.hpp (one run = one sample's plane of one channel) on the OpenMP team of
// runtime.hpp. Every sum over runs is combined serially in a fixed order: results do not depend
// on the thread count.
#include <cmath>
#include <type_traits>
#include <vector>

#include "runtime.hpp"
#include "typenet/kernels.hpp"
#include "typenet/kernels_reference.hpp"

namespace typenet::kernels {

using namespace rt;

namespace {

#if TYPENET_FAST_X86
using fast::isa_table;

// ---- batch norm in eval mode ---------------------------------------------------------------------
// One pass in memory order, split over images: y = scale * x + shift (+ a, ReLU) per channel.

thread_local std::vector<float> tl_bn_coef;

void fast_bn_infer(const isa_table& t, const bn_geometry& g, const float* x, const float* gamma, const float* beta,
                   const float* running_mean, const float* running_var, double eps, float* y, const float* a,
                   bool relu) {
    const std::size_t B = g.batch, C = g.channels, S = g.spatial;
    std::vector<float>& coef = tl_bn_coef;
    coef.resize(2 * C);
    for (std::size_t c = 0; c < C; ++c) {
        // The same scale and shift as the reference: rounded once from double.
        const float scale = float(gamma[c] / std::sqrt(double(running_var[c]) + eps));
        coef[2 * c] = scale, coef[2 * c + 1] = beta[c] - scale * running_mean[c];
    }
    parallel_for(B, [&](std::size_t b) {
        for (std::size_t c = 0; c < C; ++c) {
            const std::size_t o = (b * C + c) * S;
            t.bn_infer_run(x + o, S, coef[2 * c], coef[2 * c + 1], a ? a + o : nullptr, relu, y + o);
        }
    }, B * C * S > (1u << 15));
}


// ---- normalisation over blocks ------------------------------------------------------------------
// Runs (one sample's plane of one channel) grouped into blocks (kernels.hpp's norm_geometry), in
// three phases, all in memory order and split over samples (a channel's runs are one page each,
// so walking them channel by channel defeats the prefetchers):
//   1. per run: sum and centred sum of squares (isa_table::bn_run_stats);
//   2. per block, serially: merge its runs in (sample, channel) order in double (Chan et al.),
//      giving mean, biased variance, 1/sqrt(var + eps) -- the same numbers for every thread count;
//   3. per run: normalise (isa_table::bn_normalize_run).

thread_local std::vector<double> tl_norm_runs;
thread_local std::vector<float> tl_norm_coef;
thread_local std::vector<double> tl_norm_moments, tl_norm_sums;

bool worth_threads(const norm_geometry& g) { return g.batch * g.channels * g.spatial > (1u << 15); }

void fast_norm_statistics(const isa_table& t, const norm_geometry& g, const float* x, double eps, float* mean,
                          float* var, float* istd, const double* run_stats, norm_sync* sync, double* count_out) {
    const std::size_t B = g.batch, C = g.channels, S = g.spatial;
    const double* st = run_stats;  // phase 1 done by the convolution (conv2d_forward_bn_stats)
    if (!st) {
        tl_norm_runs.resize(2 * B * C);
        double* out = tl_norm_runs.data();
        parallel_for(B, [&](std::size_t b) {
            for (std::size_t c = 0; c < C; ++c)
                t.bn_run_stats(x + (b * C + c) * S, S, &out[2 * (b * C + c)], &out[2 * (b * C + c) + 1]);
        }, worth_threads(g));
        st = out;
    }
    const std::size_t KG = g.channel_groups();
    std::vector<double>& moments = tl_norm_moments;  // per block: count, mean, centred sum of squares
    moments.resize(3 * g.blocks());
    for (std::size_t s = 0; s < g.sample_groups(); ++s)
        for (std::size_t k = 0; k < KG; ++k) {
            // Chan et al.'s pairwise update, run by run.
            double count = 0, m = 0, m2 = 0;
            for (std::size_t b = g.group_begin(s); b < g.group_begin(s + 1); ++b)
                for (std::size_t c = k * g.channel_group; c < (k + 1) * g.channel_group; ++c) {
                    const double n_r = double(S), mean_r = st[2 * (b * C + c)] / n_r, total = count + n_r,
                                 delta = mean_r - m;
                    m += delta * n_r / total;
                    m2 += st[2 * (b * C + c) + 1] + delta * delta * count * n_r / total;
                    count = total;
                }
            const std::size_t j = s * KG + k;
            moments[3 * j] = count, moments[3 * j + 1] = m, moments[3 * j + 2] = m2;
        }
    if (sync) sync->merge_moments(moments.data(), g.blocks());
    for (std::size_t j = 0; j < g.blocks(); ++j) {
        const double count = moments[3 * j], m = moments[3 * j + 1], v = count > 0 ? moments[3 * j + 2] / count : 0.0;
        mean[j] = float(m), var[j] = float(v), istd[j] = float(1.0 / std::sqrt(v + eps));
        if (count_out) count_out[j] = count;
    }
}

void fast_norm_apply(const isa_table& t, const norm_geometry& g, const float* x, const float* mean, const float* istd,
                     const float* gamma, const float* beta, bool per_sample_group, const float* a, bool relu,
                     float* y) {
    const std::size_t C = g.channels, S = g.spatial;
    parallel_for(g.batch, [&](std::size_t b) {
        for (std::size_t c = 0; c < C; ++c) {
            const std::size_t o = (b * C + c) * S, j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            t.bn_normalize_run(x + o, S, mean[j], istd[j], gamma[p], beta[p], a ? a + o : nullptr, relu, y + o);
        }
    }, worth_threads(g));
}

void fast_norm_backward(const isa_table& t, const norm_geometry& g, const float* x, const float* mean,
                        const float* istd, const float* gamma, const float* beta, bool per_sample_group, bool relu,
                        const float* dy, float* dx, float* dgamma, float* dbeta, norm_sync* sync) {
    const std::size_t B = g.batch, C = g.channels, S = g.spatial;
    std::vector<double>& st = tl_norm_runs;  // per run: sum dm, sum dm * xhat
    st.resize(2 * B * C);
    parallel_for(B, [&](std::size_t b) {
        for (std::size_t c = 0; c < C; ++c) {
            const std::size_t o = (b * C + c) * S, j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            double* out = &st[2 * (b * C + c)];
            t.bn_backward_run_sums_x(dy + o, x + o, mean[j], istd[j], relu, gamma[p], relu ? beta[p] : 0.f, S, out,
                                     out + 1);
        }
    }, worth_threads(g));
    // Per block: sum of dxhat = gamma dm and of dxhat * xhat; per affine entry: the parameter sums.
    const std::size_t KG = g.channel_groups();
    const std::size_t affine = (per_sample_group ? g.sample_groups() : 1) * C;
    std::vector<float>& coef = tl_norm_coef;  // per run: ka, kb, kc of bn_backward_run_x
    coef.resize(3 * B * C);
    std::vector<double> param(2 * affine, 0.0);
    std::vector<double>& sums = tl_norm_sums;  // per block: sum dxhat, sum dxhat * xhat, m
    sums.resize(3 * g.blocks());
    for (std::size_t s = 0; s < g.sample_groups(); ++s)
        for (std::size_t k = 0; k < KG; ++k) {
            const std::size_t b0 = g.group_begin(s), b1 = g.group_begin(s + 1);
            const std::size_t c0 = k * g.channel_group, c1 = (k + 1) * g.channel_group;
            double sum_dxhat = 0, sum_dxhat_xhat = 0;
            for (std::size_t b = b0; b < b1; ++b)
                for (std::size_t c = c0; c < c1; ++c) {
                    const double gm = gamma[g.affine(b, c, per_sample_group)];
                    sum_dxhat += gm * st[2 * (b * C + c)];
                    sum_dxhat_xhat += gm * st[2 * (b * C + c) + 1];
                }
            double* blk = &sums[3 * (s * KG + k)];
            blk[0] = sum_dxhat, blk[1] = sum_dxhat_xhat, blk[2] = double((b1 - b0) * (c1 - c0) * S);
        }
    if (sync) sync->sum(sums.data(), g.blocks());
    for (std::size_t s = 0; s < g.sample_groups(); ++s)
        for (std::size_t k = 0; k < KG; ++k) {
            const std::size_t b0 = g.group_begin(s), b1 = g.group_begin(s + 1);
            const std::size_t c0 = k * g.channel_group, c1 = (k + 1) * g.channel_group;
            const double* blk = &sums[3 * (s * KG + k)];
            const double sum_dxhat = blk[0], sum_dxhat_xhat = blk[1], m = blk[2];
            // dx = istd (gamma dm - (sum_dxhat + xhat sum_dxhat_xhat) / m) = ka dm - (kb + kc xhat)
            const double is = istd[s * KG + k];
            for (std::size_t b = b0; b < b1; ++b)
                for (std::size_t c = c0; c < c1; ++c) {
                    float* q = &coef[3 * (b * C + c)];
                    q[0] = float(double(gamma[g.affine(b, c, per_sample_group)]) * is);
                    q[1] = float(is * sum_dxhat / m), q[2] = float(is * sum_dxhat_xhat / m);
                }
        }
    for (std::size_t b = 0; b < B; ++b)  // in sample order: the same sums for every thread count
        for (std::size_t c = 0; c < C; ++c) {
            const std::size_t p = g.affine(b, c, per_sample_group);
            param[2 * p] += st[2 * (b * C + c) + 1];
            param[2 * p + 1] += st[2 * (b * C + c)];
        }
    for (std::size_t p = 0; p < affine; ++p) dgamma[p] += float(param[2 * p]), dbeta[p] += float(param[2 * p + 1]);
    parallel_for(B, [&](std::size_t b) {
        for (std::size_t c = 0; c < C; ++c) {
            const std::size_t o = (b * C + c) * S, j = g.block(b, c), p = g.affine(b, c, per_sample_group);
            const float* q = &coef[3 * (b * C + c)];
            t.bn_backward_run_x(dy + o, x + o, mean[j], istd[j], relu, gamma[p], relu ? beta[p] : 0.f, S, q[0], q[1],
                                q[2], dx + o);
        }
    }, worth_threads(g));
}

#endif  // TYPENET_FAST_X86

}  // namespace

// ---- the public kernels ----------------------------------------------------------------------------

template <class T>
void batch_norm_infer(const bn_geometry& g, const T* x, const T* gamma, const T* beta, const T* running_mean,
                      const T* running_var, double eps, const T* a, bool relu, T* y) {
    const profile_scope scope(k_bn_infer);
    TYPENET_FAST(fast_bn_infer(*table(), g, x, gamma, beta, running_mean, running_var, eps, y, a, relu))
    reference::batch_norm_infer<T>(g, x, gamma, beta, running_mean, running_var, eps, a, relu, y);
}

template <class T>
void norm_statistics(const norm_geometry& g, const T* x, double eps, T* mean, T* var, T* istd,
                     const double* run_stats, norm_sync* sync, double* count) {
    const profile_scope scope(k_norm_stats);
    TYPENET_FAST(fast_norm_statistics(*table(), g, x, eps, mean, var, istd, run_stats, sync, count))
    (void)run_stats;
    reference::norm_statistics<T>(g, x, eps, mean, var, istd, sync, count);
}
template <class T>
void norm_apply(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma, const T* beta,
                bool per_sample_group, const T* a, bool relu, T* y) {
    const profile_scope scope(k_norm_apply);
    TYPENET_FAST(fast_norm_apply(*table(), g, x, mean, istd, gamma, beta, per_sample_group, a, relu, y))
    reference::norm_apply<T>(g, x, mean, istd, gamma, beta, per_sample_group, a, relu, y);
}
template <class T>
void norm_backward(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma, const T* beta,
                   bool per_sample_group, bool relu, const T* dy, T* dx, T* dgamma, T* dbeta, norm_sync* sync) {
    const profile_scope scope(k_norm_bwd);
    TYPENET_FAST(fast_norm_backward(*table(), g, x, mean, istd, gamma, beta, per_sample_group, relu, dy, dx, dgamma,
                                    dbeta, sync))
    reference::norm_backward<T>(g, x, mean, istd, gamma, beta, per_sample_group, relu, dy, dx, dgamma, dbeta, sync);
}

#undef TYPENET_FAST

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void batch_norm_infer<T>(const bn_geometry&, const T*, const T*, const T*, const T*, const T*,      \
                                      double, const T*, bool, T*);                                                \
    template void norm_statistics<T>(const norm_geometry&, const T*, double, T*, T*, T*, const double*,           \
                                     norm_sync*, double*);                                                        \
    template void norm_apply<T>(const norm_geometry&, const T*, const T*, const T*, const T*, const T*, bool,      \
                                const T*, bool, T*);                                                              \
    template void norm_backward<T>(const norm_geometry&, const T*, const T*, const T*, const T*, const T*, bool,   \
                                   bool, const T*, T*, T*, T*, norm_sync*);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

#undef TYPENET_INSTANTIATE

}  // namespace typenet::kernels
