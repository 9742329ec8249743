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
//   - Buffers do not overlap unless the kernel's comment allows it (ALIASING below).
//
// Two implementations stand behind these declarations (src/kernels/):
//   - double -> typenet::kernels::reference (kernels_reference.hpp, reference.cpp): plain loops,
//     the numerical reference every faster kernel is tested against, and the precision of
//     gradient checks;
//   - float -> the fast kernels: implicit-GEMM convolutions and a blocked GEMM on one
//     register-blocked micro-kernel, vectorised batch norm and ReLU, written once over
//     xsimd::batch<float, Arch> and compiled per instruction set (AVX-512, AVX2+FMA, SSE2),
//     chosen at run time (set_isa below), on one OpenMP team (set_threads below).
//
// Determinism: for a given instruction set the float kernels return bit-identical results run
// to run AND for every thread count: each output and each partial sum belongs to a fixed piece
// of work (an image, a fixed chunk of 8 images, a channel, a block of columns), and every sum
// over the batch (weight and bias gradients, batch-norm statistics) combines those partials
// in a fixed order, never in thread-arrival order; which thread runs a piece changes nothing.
// Different instruction sets round differently (FMA or not, vector widths): log isa_name().
//
// The float kernels keep their scratch (padded images, packed weights, partial sums) in
// grow-only per-thread buffers sized by the largest layer: a few MB, never per-call
// allocations. They may be called from several threads at once (the buffers are per thread).
//
// TYPENET_KERNEL_PROFILE=1 in the environment prints, at exit, the wall time and call count of
// every kernel (both precisions) to stderr.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace typenet::kernels {

// ---- run-time control of the float kernels ----------------------------------------------------

// Pins the instruction set of the float kernels: "auto" (the default: the best this CPU
// supports), "avx512", "avx2", or "sse2" (alias "scalar": the portable x86-64 baseline).
// Throws std::invalid_argument for an unknown name or one this CPU or build does not support.
// Process-wide; call it before training, not while kernels run.
void set_isa(std::string_view name);
// The instruction set the float kernels use now: "avx512", "avx2", "sse2", or "reference" in a
// build without SIMD kernels.
std::string isa_name();
// The names set_isa accepts on this machine besides "auto", best first.
std::vector<std::string> supported_isas();

// Threads of the float kernels, all in one OpenMP team: 0 = every core (the default, or
// OMP_NUM_THREADS when set). Results do not depend on it (see Determinism above).
void set_threads(std::size_t n);
// The number of threads the float kernels use now (1 in a build without OpenMP).
std::size_t threads();

// Algorithm of the float kernels for 3x3 convolutions with stride 1 and padding 1 on maps of
// even height and width with at least 64 pixels and at least 8 input and 8 output channels, in
// all three passes: Winograd (true, the default) -- F(4x4, 3x3) when both sides are multiples of
// 4, the map has at least 256 pixels and neither side has more than 64 channels (2.25
// multiply-adds per output and channel pair instead of 9), else F(2x2, 3x3) (4 instead of 9) --
// or the direct implicit GEMM of every other convolution (false). F(4x4)'s rounding grows with
// the channels it sums (docs/numerics.md), hence its width limit; on maps under 64 pixels the
// direct convolution is faster. Results agree with the double reference within float rounding
// (Winograd's transforms round differently: results differ in the last bits, not in
// determinism). Process-wide; conv_algorithm_of says which one a convolution takes.
void set_winograd(bool on);
bool winograd();

// ---- convolution ------------------------------------------------------------------------------

struct conv_geometry {
    std::size_t batch, in_channels, in_height, in_width;
    std::size_t out_channels, out_height, out_width;
    std::size_t kernel, stride, pad;
};

enum class conv_algorithm { direct, winograd_2x2, winograd_4x4 };
// The algorithm the float kernels take for this convolution now (by set_winograd's rule, under the
// current set_winograd; direct in a build without the SIMD kernels). The double kernels are
// always direct.
conv_algorithm conv_algorithm_of(const conv_geometry& g);
// "direct", "Winograd F(2x2, 3x3)" or "Winograd F(4x4, 3x3)".
const char* conv_algorithm_name(conv_algorithm a);

// y[b, o, i, j] = bias[o] + sum_{c, u, v} w[o, c, u, v] * x[b, c, i*s+u-p, j*s+v-p]
// (zero outside the input). bias may be null. w is (out_channels, in_channels, k, k).
template <class T> void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y);
// dx = J_x^T dy (overwrites dx), or with accumulate dx = dx + J_x^T dy: exactly the sum of dx
// and what the overwriting call writes (one rounding per element; the residual fan-in).
template <class T> void conv2d_backward_data(const conv_geometry& g, const T* dy, const T* w, T* dx,
                                             bool accumulate = false);
// As conv2d_forward, and, where the fast float kernels run it (returns true), the statistics that
// batch norm's train-mode forward starts from, computed per output plane while the plane is in
// cache: run_stats[2 (b out_channels + o)] = the plane's sum, [... + 1] = its sum of squares
// about its own mean (2 batch out_channels doubles). false: run_stats untouched (double, or no
// fast kernels), and batch norm computes them itself. conv_bn passes them to batch norm.
template <class T> bool conv2d_forward_bn_stats(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y,
                                                double* run_stats);
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

// ---- normalisation ----------------------------------------------------------------------------
// Every normalisation layer (batch norm in train mode, batch norm over groups of samples, batch
// renorm, group, layer and instance norm) runs on three kernels over blocks of values,
// norm_statistics, norm_apply and norm_backward below, with the epilogues a fused ReLU and a
// residual addend; batch norm in eval mode (running statistics) on batch_norm_infer.

// Batch normalisation over (batch, channels, spatial): per channel over batch * spatial values.
// Flat inputs use spatial = 1 (statistics per feature).
struct bn_geometry {
    std::size_t batch, channels, spatial;
};
// Eval mode: y = act(gamma * (x - running_mean) / sqrt(running_var + eps) + beta (+ a)), computed
// as scale * x + shift with scale = gamma / sqrt(running_var + eps) rounded once from double;
// a may be null; act = ReLU when relu. Bit for bit the same as without a into a buffer of its own
// followed by add(n, that, a, y, relu). y may equal x or a.
template <class T> void batch_norm_infer(const bn_geometry& g, const T* x, const T* gamma, const T* beta,
                                         const T* running_mean, const T* running_var, double eps, const T* a,
                                         bool relu, T* y);

// Train mode over blocks: group, layer and instance norm; batch norm, over the batch or over groups of samples.
// x is (batch, channels, spatial). Statistics are taken over blocks of sample_group consecutive
// samples x channel_group consecutive channels x all spatial values:
//   batch norm               sample_group = batch, channel_group = 1
//   batch norm over groups   sample_group = n (ghost batch norm), channel_group = 1
//   group norm with G groups sample_group = 1, channel_group = channels / G
//   layer norm / instance    sample_group = 1, channel_group = channels / 1
// channel_group divides channels. When sample_group does not divide batch the remainder joins the
// last sample group (which then has between sample_group and 2 sample_group - 1 samples), so no
// group is smaller than sample_group; a batch smaller than sample_group is one group. Block
// (s, k) -- sample group s, channel group k -- has index s * channel_groups() + k in the mean /
// var / istd arrays.
// The affine parameters gamma and beta are per channel, or (per_sample_group) per sample group
// and channel, index s * channels + c: batch renormalisation folds its r and d into them.
struct norm_geometry {
    std::size_t batch, channels, spatial, sample_group, channel_group;
    std::size_t sample_groups() const { return batch >= sample_group ? batch / sample_group : 1; }
    // The sample group of sample b, and the first sample of group s (s = sample_groups(): batch).
    std::size_t sample_group_of(std::size_t b) const { return std::min(b / sample_group, sample_groups() - 1); }
    std::size_t group_begin(std::size_t s) const { return s >= sample_groups() ? batch : s * sample_group; }
    std::size_t channel_groups() const { return channels / channel_group; }
    std::size_t blocks() const { return sample_groups() * channel_groups(); }
    // The block of value (b, c), and the index of its gamma and beta.
    std::size_t block(std::size_t b, std::size_t c) const {
        return sample_group_of(b) * channel_groups() + c / channel_group;
    }
    std::size_t affine(std::size_t b, std::size_t c, bool per_sample_group) const {
        return per_sample_group ? sample_group_of(b) * channels + c : c;
    }
};
// Statistics whose blocks span processes (synchronized batch norm, typenet/dist/): the kernels
// hand their per-block partial results to a norm_sync before using them, and use what it returns.
// Every process of the group must call the kernel with the same number of blocks.
class norm_sync {
public:
    // moments: per block (count, mean, M2 = the centred sum of squares) of this process's values,
    // 3 doubles a block; replaced by the same over every process's values.
    virtual void merge_moments(double* moments, std::size_t blocks) = 0;
    // sums: per block 3 doubles to be summed over the processes, replaced by the sums.
    virtual void sum(double* sums, std::size_t blocks) = 0;

protected:
    ~norm_sync() = default;
};

// Per block: mean, biased variance and istd = 1 / sqrt(var + eps), combined from per-(sample,
// channel) partial statistics in a fixed order (the same numbers for every thread count).
// run_stats: null, or x's per-plane statistics from conv2d_forward_bn_stats (it returned true):
// the results are the same bit for bit, one pass over x fewer.
// sync: null, or the statistics cover the blocks of every process (sync->merge_moments); count,
// when not null, receives per block the number of values they cover (all processes').
template <class T> void norm_statistics(const norm_geometry& g, const T* x, double eps, T* mean, T* var, T* istd,
                                        const double* run_stats = nullptr, norm_sync* sync = nullptr,
                                        double* count = nullptr);
// y = act(gamma * (x - mean) * istd + beta (+ a)) with the mean and istd of x's block; a may be
// null; act = ReLU when relu. With a: bit for bit the same as without a into a buffer of its own
// followed by add(n, that, a, y, relu). y may equal x or a.
template <class T> void norm_apply(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma,
                                   const T* beta, bool per_sample_group, const T* a, bool relu, T* y);
// The VJP of norm_statistics + norm_apply (without the addend: a residual sum's gradient passes
// through unchanged) with gamma and beta as given. dm = dy, first masked by the forward's ReLU
// when relu (the mask gamma * xhat + beta > 0 recomputed from x, as norm_apply computed it).
// Per block of m values, with g_c = gamma of value i's channel:
//   dx_i = istd * (g_c dm_i - (sum_j g_c(j) dm_j + xhat_i sum_j g_c(j) dm_j xhat_j) / m)
// and ADDS sum dm * xhat into dgamma and sum dm into dbeta (per channel, or per sample group and
// channel, like gamma). ALIASING: dx may equal dy or x.
// sync: the statistics came from norm_statistics with this sync: the block sums and m cover every
// process's values (sync->sum of (sum g dm, sum g dm xhat, m) per block); dgamma and dbeta stay this
// process's (data-parallel training sums parameter gradients over processes anyway).
template <class T> void norm_backward(const norm_geometry& g, const T* x, const T* mean, const T* istd, const T* gamma,
                                      const T* beta, bool per_sample_group, bool relu, const T* dy, T* dx, T* dgamma,
                                      T* dbeta, norm_sync* sync = nullptr);

// ---- pooling ----------------------------------------------------------------------------------

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

// ---- elementwise ------------------------------------------------------------------------------
// y = max(x, 0) (NaN -> 0, as x > 0 ? x : 0); x may equal y.
template <class T> void relu_forward(std::size_t n, const T* x, T* y);
// dx = y > 0 ? dy : 0; dx may equal dy or y.
template <class T> void relu_backward(std::size_t n, const T* y, const T* dy, T* dx);
// dx = copy = (y > 0 ? dy : 0) in one pass (a residual block's identity shortcut needs the
// gradient twice); dx may equal dy.
template <class T> void relu_backward_copy(std::size_t n, const T* y, const T* dy, T* dx, T* copy);
// y = a + b, then max(., 0) when relu (the join of a residual block); y may equal a or b.
template <class T> void add(std::size_t n, const T* a, const T* b, T* y, bool relu);

// ---- optimizer updates (elementwise over one parameter tensor of n values) --------------------
// PyTorch's rules (torch.optim 1.13). The double kernels compute in double (the reference); the
// float kernels compute in float, vectorised and split over the threads (they are memory bound:
// five streams of n floats), and agree with the double ones within a few float roundings.
struct sgd_hyper {
    double lr, weight_decay, momentum;
    bool nesterov;
};
// d = g + wd * w; with momentum mu > 0: v = mu * v + d, d = nesterov ? d + mu * v : v;
// w -= lr * d. velocity is read and written only when mu > 0 (it may be null otherwise).
template <class T> void sgd_update(std::size_t n, T* w, const T* g, T* velocity, const sgd_hyper& h);
struct adam_hyper {
    double lr, weight_decay, beta1, beta2, eps;
    double correction1, correction2;  // 1 - beta1^t, 1 - beta2^t at step t
    bool decoupled;                   // AdamW: w *= 1 - lr * wd; Adam: g += wd * w
};
// m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2; w -= lr (m / c1) / (sqrt(s / c2) + eps).
template <class T> void adam_update(std::size_t n, T* w, const T* g, T* m, T* s, const adam_hyper& h);

}  // namespace typenet::kernels
