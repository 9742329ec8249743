// The public typenet::kernels functions: double -> reference kernels; float -> the fast kernels
// of the selected instruction set (fast_impl.hpp), with the threads, the scratch memory and the
// per-call preparation (packed weights, offset tables) kept here, in ordinary C++ compiled for
// the baseline instruction set.
//
// Parallel structure (one OpenMP team; no result depends on which thread ran what):
//   conv forward / backward-data   images of the batch;
//   conv backward-params           fixed chunks of kParamsChunk images, each summed into its own
//                                  partial dW; the partials are then added in chunk order, so
//                                  the result is the same for every thread count;
//   dense                          column (or row) blocks of the output; no sums across threads;
//   batch norm                     channels (each channel's statistics come from one thread);
//   ReLU, pooling                  contiguous blocks / channel planes.
#include "typenet/kernels.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "typenet/kernels_reference.hpp"
#include "runtime.hpp"

#if TYPENET_FAST_X86
#include <xsimd/xsimd.hpp>

#include "fast.hpp"
#endif

namespace typenet::kernels {

using namespace rt;

namespace {

std::atomic<bool> winograd_on{true};  // set_winograd

// ---- scratch ----------------------------------------------------------------------------------

thread_local scratch tl_work;     // per worker thread: the per-image work area
thread_local scratch tl_weights;  // calling thread: packed weights
thread_local scratch tl_partial;  // calling thread: partial sums / transposed operands
thread_local scratch tl_aux;      // calling thread: a second operand buffer (dense)
thread_local std::vector<std::size_t> tl_offsets;

#if TYPENET_FAST_X86

using fast::isa_table;

// ---- convolution plans --------------------------------------------------------------------------

// A pass reading a (cin, ih, iw) tensor and writing (cout, oh, ow), stride s, padding pad.
fast::conv_pass make_pass(const isa_table& t, std::size_t cin, std::size_t ih, std::size_t iw, std::size_t cout,
                          std::size_t oh, std::size_t ow, std::size_t k, std::size_t s, std::size_t pad) {
    fast::conv_pass p{};
    p.in_channels = cin, p.in_h = ih, p.in_w = iw;
    p.out_channels = cout, p.out_h = oh, p.out_w = ow;
    p.kernel = k, p.stride = s, p.pad = pad;
    p.implicit = s == 1 && ih + 2 * pad >= k && iw + 2 * pad >= k && oh == ih + 2 * pad - k + 1 &&
                 ow == iw + 2 * pad - k + 1;
    // Strided: phase planes (fast.hpp) when the output is the usual (in + 2 pad - k) / s + 1.
    p.phased = s > 1 && ih + 2 * pad >= k && iw + 2 * pad >= k && oh == (ih + 2 * pad - k) / s + 1 &&
               ow == (iw + 2 * pad - k) / s + 1;
    p.K = cin * k * k;
    const bool small = cout <= t.conv_mr_small;
    p.mr = small ? t.conv_mr_small : t.conv_mr;
    const std::size_t nr = small ? t.conv_nr_small : t.conv_nr;
    p.m_pad = round_up(cout, p.mr);
    if (p.implicit) {
        // Padded rows of pitch iw + pad: a row's trailing `pad` zeros are also the next row's
        // leading ones, so only (kernel - 1 - pad) virtual columns per row are wasted.
        p.src_h = ih + 2 * pad, p.src_w = iw + pad;
        p.vwidth = p.src_w;
        p.vn = (oh - 1) * p.vwidth + ow;
        p.vn_pad = round_up(p.vn, t.lanes);  // conv_tiles: full panels of nr, then a narrower one
        p.src_floats = cin * p.src_plane() + nr;  // slack: the last panel reads up to nr floats further
    } else if (p.phased) {
        p.qh = oh + (k - 1) / s, p.qw = ow + (k - 1) / s, p.phases = std::min(s, k);
        p.vwidth = p.qw;
        p.vn = (oh - 1) * p.vwidth + ow;
        p.vn_pad = round_up(p.vn, t.lanes);
        p.src_floats = cin * p.src_plane() + nr;
    } else {
        p.vwidth = ow;
        p.vn = oh * ow;
        p.vn_pad = round_up(p.vn, t.lanes);
        p.src_floats = p.K * p.vn_pad;
    }
    std::vector<std::size_t>& off = tl_offsets;
    off.resize(p.K);
    for (std::size_t c = 0; c < cin; ++c)
        for (std::size_t u = 0; u < k; ++u)
            for (std::size_t v = 0; v < k; ++v) {
                const std::size_t kk = (c * k + u) * k + v;
                if (p.implicit) off[kk] = c * p.src_plane() + u * p.src_w + v;
                else if (p.phased)
                    off[kk] = c * p.src_plane() + ((u % s) * p.phases + v % s) * p.qh * p.qw + (u / s) * p.qw + v / s;
                else off[kk] = kk * p.vn_pad;
            }
    p.off = off.data();
    return p;
}

std::size_t pass_work(const fast::conv_pass& p) { return round_up(p.src_floats, 16) + p.m_pad * p.vn_pad; }

// Packs A(m, kk) = get(m, kk) (m < rows, kk < K) in panels of mr rows: [panel][kk][mr], zero-padded.
template <class Get>
float* pack_panels(std::size_t rows, std::size_t K, std::size_t mr, Get&& get) {
    const std::size_t panels = (rows + mr - 1) / mr;
    float* a = tl_weights.get(panels * mr * K);
    for (std::size_t p = 0; p < panels; ++p)
        for (std::size_t kk = 0; kk < K; ++kk)
            for (std::size_t i = 0; i < mr; ++i) {
                const std::size_t m = p * mr + i;
                a[(p * K + kk) * mr + i] = m < rows ? get(m, kk) : 0.f;
            }
    return a;
}

// ---- Winograd F(4x4, 3x3) and F(2x2, 3x3) -----------------------------------------------------------

// Do this convolution's three passes take the Winograd path (kernels.hpp: conv_algorithm)? 3x3,
// stride 1, padding 1, even maps of at least 64 pixels, and at least 8 channels on both sides:
// the GEMMs reduce over one side and tile the other (the 3-channel stem stays direct). Symmetric
// in the channels, so backward-data, whose pass swaps them, follows the same rule. The 64 pixels:
// an image's tiles are padded to whole vectors, so a 4x4 map's 4 F(2x2) tiles fill a quarter of an
// AVX-512 vector; measured on ResNet-18's 512 -> 512 at 4x4 (batch 32), the three passes took
// 2.0-2.3x as long as the direct ones (typenet-kernel-bench --layers resnet18, docs/numerics.md).
bool winograd_applies(const conv_geometry& g) {
    return winograd_on.load(std::memory_order_relaxed) && g.kernel == 3 && g.stride == 1 && g.pad == 1 &&
           g.out_height == g.in_height && g.out_width == g.in_width && g.in_height % 2 == 0 && g.in_width % 2 == 0 &&
           g.in_height * g.in_width >= 64 && g.in_channels >= 8 && g.out_channels >= 8;
}

// F(4x4)'s rounding grows with the channels it sums: its output transform amplifies the
// rounding of the transformed-domain channel sum (bench/winograd_error.py). Per layer against
// the double path (typenet-kernel-bench --error, batch 32, Xeon (avx512)), forward, that sum in
// one chain: 1.3e-6 at 32 channels, 1.7e-6 at 64, 2.4e-6 at 128 (in blocks of 32, wino4_kc in
// fast_impl.hpp: 1.35e-6 at 64); F(2x2) and the direct convolution 2.6-5e-7 at any width. Speed
// sets the limit: at 64 channels F(4x4) is 10-15% faster than F(2x2) on 16x16 maps and 2x on
// 32x32 (the CNN's 16x16 layers, ResNet-18's first stage); at 128 on 16x16 the two are even
// (the one-chain and F(4x4)-against-F(2x2) figures from throw-away builds, docs/numerics.md).
// Above 64, F(2x2).
constexpr std::size_t kWinoF4MaxChannels = 64;

// The output tile side of the Winograd pass on an h x w map between cin and cout channels
// (fast.hpp): 4 when both sides are multiples of 4, the map has at least 256 pixels (16 x 16 and
// up) and neither side has more than kWinoF4MaxChannels channels, else 2. Symmetric in the
// channels: the three passes of a layer take the same tile.
std::size_t wino_tile(std::size_t h, std::size_t w, std::size_t cin, std::size_t cout) {
    return h % 4 == 0 && w % 4 == 0 && h * w >= 256 && std::max(cin, cout) <= kWinoF4MaxChannels ? 4 : 2;
}

// The geometry of a Winograd pass (fast.hpp) over chunks of up to `cap` images: up to 256 tiles
// (GEMMs of 256 columns), as many images as keep the transformed input and output (V and M, or
// dM) within 1 MB, in L2 (F(4x4), 32 channels, 32x32: one image per chunk; F(2x2), 64 channels,
// 8x8: eight; measured: chunks spilling to L3 cost 20% at 32 channels).
fast::wino_pass wino_plan(const isa_table& t, std::size_t cap, std::size_t cin, std::size_t cout, std::size_t h,
                          std::size_t w) {
    fast::wino_pass p{};
    p.in_channels = cin, p.out_channels = cout, p.h = h, p.w = w;
    p.m = wino_tile(h, w, cin, cout);
    p.tw = w / p.m, p.tiles = (h / p.m) * p.tw, p.tiles_pad = round_up(p.tiles, t.lanes);
    const std::size_t want = std::max<std::size_t>(1, (256 + p.tiles_pad - 1) / p.tiles_pad);
    const std::size_t fits = std::max<std::size_t>(
        1, (std::size_t(1) << 18) / ((p.m + 2) * (p.m + 2) * (cin + round_up(cout, t.conv_mr)) * p.tiles_pad));
    p.images = std::max<std::size_t>(1, std::min({want, fits, cap}));
    p.n = p.images * p.tiles_pad;
    const bool small = cout <= t.conv_mr_small;
    p.mr = small ? t.conv_mr_small : t.conv_mr;
    p.m_pad = round_up(cout, p.mr);
    p.ld = p.n + 16;
    p.v_xi = cin * p.ld + 16, p.m_xi = p.m_pad * p.ld + 16;
    p.plane = (h / p.m + 1) * p.tw;
    p.x_floats = round_up(p.m * (p.m + 2) * p.plane + t.lanes, 16);
    // Z: M^2 output planes of tiles_pad, then w floats for the merge of a row (and the planes'
    // split), w more for an accumulated row, lanes of slack.
    p.z_floats = round_up(p.m * p.m * p.tiles_pad + 2 * w + t.lanes, 16);
    std::vector<std::size_t>& off = tl_offsets;
    off.resize(cin);
    for (std::size_t c = 0; c < cin; ++c) off[c] = c * p.ld;
    p.off = off.data();
    return p;
}

// G of F(2x2) and F(4x4), (M + 2) x 3.
constexpr double wino_G2[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
constexpr double wino_G4[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                                  {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};

template <int A> constexpr const auto& wino_G() {
    if constexpr (A == 4) return wino_G2;
    else return wino_G4;
}

// U = G g G^T of kWinoBlock 3x3 kernels at once (g[k][v][b] is element (k, v) of kernel b), in
// double, G a compile-time constant: the loops over b vectorise and G's zeros and ones fold
// (one kernel at a time with run-time loops took 0.2-0.3 ms per call of a 32- or 64-channel
// layer, typenet-kernel-bench --batch 1; now 0.07-0.08 ms).
constexpr std::size_t kWinoBlock = 8;
template <int A>
inline void wino_weight(const double (&g)[3][3][kWinoBlock], double (&u)[A][A][kWinoBlock]) {
    const auto& G = wino_G<A>();
    double gg[A][3][kWinoBlock];  // G g
    for (int i = 0; i < A; ++i)
        for (int v = 0; v < 3; ++v)
            for (std::size_t b = 0; b < kWinoBlock; ++b)
                gg[i][v][b] = G[i][0] * g[0][v][b] + G[i][1] * g[1][v][b] + G[i][2] * g[2][v][b];
    for (int i = 0; i < A; ++i)
        for (int j = 0; j < A; ++j)
            for (std::size_t b = 0; b < kWinoBlock; ++b)
                u[i][j][b] = gg[i][0][b] * G[j][0] + gg[i][1][b] * G[j][1] + gg[i][2][b] * G[j][2];
}
// Its VJP: d = G^T m G (the weights' gradient from the gradient m of U).
template <int A>
inline void wino_weight_grad(const double (&m)[A][A], double (&d)[3][3]) {
    const auto& G = wino_G<A>();
    double gm[3][A];  // G^T m
    for (int u = 0; u < 3; ++u)
        for (int j = 0; j < A; ++j) {
            double s = 0;
            for (int i = 0; i < A; ++i) s += G[i][u] * m[i][j];
            gm[u][j] = s;
        }
    for (int u = 0; u < 3; ++u)
        for (int v = 0; v < 3; ++v) {
            double s = 0;
            for (int j = 0; j < A; ++j) s += gm[u][j] * G[j][v];
            d[u][v] = s;
        }
}

// The plan of a Winograd pass (forward, or backward-data); get(o, c, u, v) is the 3x3 kernel from
// the pass's input channel c to its output channel o (the layer's weights, or their flipped
// transpose for backward-data).
template <class Get>
fast::wino_pass make_wino(const isa_table& t, std::size_t batch, std::size_t cin, std::size_t cout, std::size_t h,
                          std::size_t w, const float* bias, Get&& get) {
    // No fewer chunks than threads (each column of a GEMM is computed alone: the chunking
    // changes no result).
    const std::size_t per_thread = std::max<std::size_t>(1, (batch + thread_count() - 1) / thread_count());
    fast::wino_pass p = wino_plan(t, per_thread, cin, cout, h, w);
    // U = G g G^T in double, packed per position xi in panels of mr output channels:
    // upack[((xi * panels + panel) * cin + c) * mr + i].
    const std::size_t A = p.m + 2, P = A * A, panels = p.m_pad / p.mr;
    float* u = tl_weights.get(P * p.m_pad * cin);
    std::memset(u, 0, P * p.m_pad * cin * sizeof(float));
    // Per panel of mr output channels (a panel's values for one (xi, c) are contiguous, so threads
    // share a cache line at most at a panel's ends; none with AVX-512's mr = 8), on
    // the threads (64 x 64 channels are 4,096 transforms), its channels as one block.
    if (p.mr > kWinoBlock) throw std::logic_error("typenet: Winograd panels of more than kWinoBlock output channels");
    auto transform = [&]<int AA>(std::size_t panel) {
        const std::size_t o0 = panel * p.mr, nb = std::min(p.mr, cout - o0);
        for (std::size_t c = 0; c < cin; ++c) {
            double g[3][3][kWinoBlock] = {}, uu[AA][AA][kWinoBlock];
            for (std::size_t b = 0; b < nb; ++b)
                for (std::size_t k = 0; k < 3; ++k)
                    for (std::size_t v = 0; v < 3; ++v) g[k][v][b] = get(o0 + b, c, k, v);
            wino_weight<AA>(g, uu);
            float* dst = u + (panel * cin + c) * p.mr;
            for (std::size_t xi = 0; xi < P; ++xi)
                for (std::size_t b = 0; b < nb; ++b) dst[xi * panels * cin * p.mr + b] = float(uu[xi / AA][xi % AA][b]);
        }
    };
    parallel_for(panels, [&](std::size_t panel) {
        if (A == 6) transform.template operator()<6>(panel);
        else transform.template operator()<4>(panel);
    }, cout * cin >= 1024);
    p.upack = u;
    p.bias = bias;
    p.accumulate = false;
    return p;
}

// Batch norm's per-plane statistics (run_stats, conv2d_forward_bn_stats) of images [b0, b1) of
// a convolution's output, just written by the calling thread: still in its cache.
void plane_stats(const isa_table& t, const float* out, std::size_t channels, std::size_t plane, std::size_t b0,
                 std::size_t b1, double* run_stats) {
    if (!run_stats) return;
    for (std::size_t b = b0; b < b1; ++b)
        for (std::size_t c = 0; c < channels; ++c) {
            const std::size_t i = b * channels + c;
            t.bn_run_stats(out + i * plane, plane, &run_stats[2 * i], &run_stats[2 * i + 1]);
        }
}

void run_wino(const isa_table& t, const fast::wino_pass& p, std::size_t batch, const float* in, float* out,
              double* run_stats = nullptr) {
    const std::size_t in_size = p.in_channels * p.h * p.w, out_size = p.out_channels * p.h * p.w;
    const std::size_t chunks = (batch + p.images - 1) / p.images, work = p.work_floats();
    parallel_for(chunks, [&](std::size_t ch) {
        const std::size_t b0 = ch * p.images, nimg = std::min(p.images, batch - b0);
        t.wino_chunk(p, in + b0 * in_size, out + b0 * out_size, nimg, tl_work.get(work));
        plane_stats(t, out, p.out_channels, p.h * p.w, b0, b0 + nimg, run_stats);
    });
}

void fast_conv2d_forward(const isa_table& t, const conv_geometry& g, const float* x, const float* w, const float* bias,
                         float* y, double* run_stats = nullptr) {
    if (winograd_applies(g)) {
        const std::size_t K = g.in_channels * 9;
        const fast::wino_pass p = make_wino(t, g.batch, g.in_channels, g.out_channels, g.in_height, g.in_width, bias,
                                            [&](std::size_t o, std::size_t c, std::size_t u, std::size_t v) {
                                                return w[o * K + c * 9 + u * 3 + v];
                                            });
        run_wino(t, p, g.batch, x, y, run_stats);
        return;
    }
    fast::conv_pass p = make_pass(t, g.in_channels, g.in_height, g.in_width, g.out_channels, g.out_height,
                                  g.out_width, g.kernel, g.stride, g.pad);
    p.apack = pack_panels(g.out_channels, p.K, p.mr, [&](std::size_t o, std::size_t kk) { return w[o * p.K + kk]; });
    p.bias = bias;
    const std::size_t in_size = g.in_channels * g.in_height * g.in_width, out_size = g.out_channels * g.out_height * g.out_width;
    const std::size_t work = pass_work(p);
    parallel_for(g.batch, [&](std::size_t b) {
        t.conv_pass_image(p, x + b * in_size, y + b * out_size, tl_work.get(work));
        plane_stats(t, y, g.out_channels, g.out_height * g.out_width, b, b + 1, run_stats);
    });
}

void fast_conv2d_backward_data(const isa_table& t, const conv_geometry& g, const float* dy, const float* w, float* dx,
                               bool accumulate) {
    const std::size_t k = g.kernel, kk2 = k * k, K = g.in_channels * kk2;
    const std::size_t in_size = g.in_channels * g.in_height * g.in_width, out_size = g.out_channels * g.out_height * g.out_width;
    if (winograd_applies(g)) {
        // The same Winograd pass on dy with the flipped, transposed kernel: w'[c][o][u][v] = w[o][c][2-u][2-v].
        fast::wino_pass p = make_wino(t, g.batch, g.out_channels, g.in_channels, g.in_height, g.in_width, nullptr,
                                      [&](std::size_t c, std::size_t o, std::size_t u, std::size_t v) {
                                          return w[(o * g.in_channels + c) * 9 + (2 - u) * 3 + (2 - v)];
                                      });
        p.accumulate = accumulate;
        run_wino(t, p, g.batch, dy, dx);
        return;
    }
    if (g.stride == 1 && g.pad <= k - 1) {
        // dx is the stride-1 convolution of dy with the flipped, transposed kernel, padding k-1-pad.
        fast::conv_pass p = make_pass(t, g.out_channels, g.out_height, g.out_width, g.in_channels, g.in_height,
                                      g.in_width, k, 1, k - 1 - g.pad);
        // A'[c][(o, u, v)] = w[o][c][k-1-u][k-1-v], packed in panels of p.mr rows (c).
        {
            const std::size_t mr = p.mr, panels = (g.in_channels + mr - 1) / mr, K2 = p.K;
            float* a = tl_weights.get(panels * mr * K2);
            std::memset(a, 0, panels * mr * K2 * sizeof(float));
            for (std::size_t c = 0; c < g.in_channels; ++c) {
                float* panel = a + (c / mr) * mr * K2 + c % mr;
                for (std::size_t o = 0; o < g.out_channels; ++o) {
                    const float* wk = w + (o * g.in_channels + c) * kk2;
                    for (std::size_t j = 0; j < kk2; ++j) panel[(o * kk2 + j) * mr] = wk[kk2 - 1 - j];
                }
            }
            p.apack = a;
        }
        p.bias = nullptr;
        p.accumulate = accumulate;
        const std::size_t work = pass_work(p);
        parallel_for(g.batch,
                     [&](std::size_t b) { t.conv_pass_image(p, dy + b * out_size, dx + b * in_size, tl_work.get(work)); });
        return;
    }
    fast::conv_data_general p{};
    p.g = g;
    p.K = K;
    p.k_pad = round_up(K, t.conv_mr);
    p.vn = g.out_height * g.out_width;
    p.vn_pad = round_up(p.vn, t.conv_nr);
    std::vector<std::size_t>& off = tl_offsets;
    off.resize(g.out_channels);
    for (std::size_t o = 0; o < g.out_channels; ++o) off[o] = o * p.vn_pad;
    p.off = off.data();
    p.apack = pack_panels(K, g.out_channels, t.conv_mr, [&](std::size_t j, std::size_t o) { return w[o * K + j]; });
    p.accumulate = accumulate;
    const std::size_t work = p.work_floats();
    parallel_for(g.batch, [&](std::size_t b) {
        t.conv_data_general_image(p, dy + b * out_size, dx + b * in_size, tl_work.get(work));
    });
}

// Images per partial sum of backward-params: fixed, so the summation order (within a chunk
// image by image, then chunk by chunk) does not depend on the thread count.
constexpr std::size_t kParamsChunk = 8;

// Images per partial sum of Winograd backward-params: fixed (the summation order does not depend
// on the thread count), and four times kParamsChunk: fewer partials to zero and sum (chosen when
// every chunk's GEMMs also summed across the vector lanes, which the outer products of 32 or
// more channels no longer do; 16 -> 32: 64->64 at 8x8 3.28 -> 3.02 ms, 32->32 at 16x16 2.93 ->
// 2.56 ms per batch of 128, typenet-kernel-bench --only conv --layers resnet20; 64 gains little
// more and leaves 2 groups per batch of 128: no work for a third thread).
constexpr std::size_t kWinoParamsGroup = 32;

// Backward-params by Winograd: per fixed group of images a partial dU ((M+2)^2 x cin x ko_pad) and
// partial bias sums; then, in group order, dU = sum of the partials and dw += G^T dU G.
void wino_backward_params(const isa_table& t, const conv_geometry& g, const float* x, const float* dy, float* dw,
                          float* dbias) {
    fast::wino_params_pass pp{};
    pp.fwd = wino_plan(t, kWinoParamsGroup, g.in_channels, g.out_channels, g.in_height, g.in_width);
    const fast::wino_pass& p = pp.fwd;
    pp.dm_xi = g.out_channels * p.ld + 16;
    pp.ko_pad = round_up(g.out_channels, t.lanes);
    const std::size_t C = g.in_channels, Ko = g.out_channels, hw = g.in_height * g.in_width, kp = pp.ko_pad;
    const std::size_t A = p.m + 2, P = A * A;
    const std::size_t groups = (g.batch + kWinoParamsGroup - 1) / kWinoParamsGroup;
    const std::size_t du = P * C * kp, part_size = round_up(du + Ko, 16);
    float* parts = tl_partial.get(groups * part_size);
    const std::size_t work = pp.work_floats();
    parallel_for(groups, [&](std::size_t gr) {
        float* part = parts + gr * part_size;
        std::memset(part, 0, part_size * sizeof(float));
        float* wk = tl_work.get(work);
        const std::size_t b1 = std::min(g.batch, (gr + 1) * kWinoParamsGroup);
        for (std::size_t b = gr * kWinoParamsGroup; b < b1; b += p.images) {
            const std::size_t nimg = std::min(p.images, b1 - b);
            t.wino_params_chunk(pp, x + b * C * hw, dy + b * Ko * hw, nimg, part, dbias ? part + du : nullptr, wk);
        }
    });
    // dw[o][c][u][v] += sum_ij G[i][u] dU[i][j] G[j][v], dU summed over the groups in order.
    auto back = [&]<int AA>(std::size_t c) {
        double m[AA][AA], d[3][3];
        for (std::size_t o = 0; o < Ko; ++o) {
            for (std::size_t xi = 0; xi < P; ++xi) {
                float s = 0.f;
                for (std::size_t gr = 0; gr < groups; ++gr) s += parts[gr * part_size + (xi * C + c) * kp + o];
                m[xi / AA][xi % AA] = s;
            }
            wino_weight_grad<AA>(m, d);
            float* dst = dw + (o * C + c) * 9;
            for (std::size_t k = 0; k < 9; ++k) dst[k] += float(d[k / 3][k % 3]);
        }
    };
    parallel_for(C, [&](std::size_t c) {
        if (A == 6) back.template operator()<6>(c);
        else back.template operator()<4>(c);
    }, C * Ko * groups > (1u << 14));
    if (dbias)
        for (std::size_t o = 0; o < Ko; ++o) {
            float s = 0.f;
            for (std::size_t gr = 0; gr < groups; ++gr) s += parts[gr * part_size + du + o];
            dbias[o] += s;
        }
}

void fast_conv2d_backward_params(const isa_table& t, const conv_geometry& g, const float* x, const float* dy, float* dw,
                                 float* dbias) {
    if (winograd_applies(g)) {
        wino_backward_params(t, g, x, dy, dw, dbias);
        return;
    }
    fast::conv_params_pass pp{};
    pp.fwd = make_pass(t, g.in_channels, g.in_height, g.in_width, g.out_channels, g.out_height, g.out_width, g.kernel,
                       g.stride, g.pad);
    pp.n_pad = round_up(g.out_channels, t.lanes);  // conv_params_image: tiles of params_nr, then of lanes
    const std::size_t K = pp.fwd.K, np = pp.n_pad;
    const std::size_t in_size = g.in_channels * g.in_height * g.in_width, out_size = g.out_channels * g.out_height * g.out_width;
    const std::size_t chunks = (g.batch + kParamsChunk - 1) / kParamsChunk;
    const std::size_t part_size = round_up(K * np + np, 16);
    float* parts = tl_partial.get(chunks * part_size);
    const std::size_t work = round_up(pp.fwd.src_floats, 16) + pp.fwd.vn * np;
    parallel_for(chunks, [&](std::size_t ch) {
        float* part = parts + ch * part_size;
        std::memset(part, 0, part_size * sizeof(float));
        float* w = tl_work.get(work);
        const std::size_t b1 = std::min(g.batch, (ch + 1) * kParamsChunk);
        for (std::size_t b = ch * kParamsChunk; b < b1; ++b)
            t.conv_params_image(pp, x + b * in_size, dy + b * out_size, part, dbias ? part + K * np : nullptr, w);
    });
    // dw[o][kk] += sum over chunks, in chunk order, of part[kk][o].
    const std::size_t kblocks = (K + 63) / 64;
    parallel_for(kblocks, [&](std::size_t kb) {
        const std::size_t k1 = std::min(K, (kb + 1) * 64);
        for (std::size_t kk = kb * 64; kk < k1; ++kk)
            for (std::size_t o = 0; o < g.out_channels; ++o) {
                float s = 0.f;
                for (std::size_t ch = 0; ch < chunks; ++ch) s += parts[ch * part_size + kk * np + o];
                dw[o * K + kk] += s;
            }
    }, K * g.out_channels * chunks > (1u << 16));
    if (dbias)
        for (std::size_t o = 0; o < g.out_channels; ++o) {
            float s = 0.f;
            for (std::size_t ch = 0; ch < chunks; ++ch) s += parts[ch * part_size + K * np + o];
            dbias[o] += s;
        }
}

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

// ---- pooling and ReLU for float (plain C++; split over threads) --------------------------------------

constexpr std::size_t kElementBlock = 1 << 14;

template <class F>
void elementwise_blocks(std::size_t n, F&& f) {
    const std::size_t blocks = (n + kElementBlock - 1) / kElementBlock;
    parallel_for(blocks, [&](std::size_t i) {
        const std::size_t b0 = i * kElementBlock;
        f(b0, std::min(n, b0 + kElementBlock) - b0);
    }, n >= 64 * kElementBlock);  // below ~4 MB a parallel region costs more than it saves
}

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

// ---- control ----------------------------------------------------------------------------------------

void set_winograd(bool on) { winograd_on.store(on, std::memory_order_relaxed); }
bool winograd() { return winograd_on.load(std::memory_order_relaxed); }

conv_algorithm conv_algorithm_of(const conv_geometry& g) {
#if TYPENET_FAST_X86
    if (winograd_applies(g))
        return wino_tile(g.in_height, g.in_width, g.in_channels, g.out_channels) == 4 ? conv_algorithm::winograd_4x4
                                                                                        : conv_algorithm::winograd_2x2;
#else
    (void)g;
#endif
    return conv_algorithm::direct;
}

const char* conv_algorithm_name(conv_algorithm a) {
    switch (a) {
    case conv_algorithm::winograd_4x4: return "Winograd F(4x4, 3x3)";
    case conv_algorithm::winograd_2x2: return "Winograd F(2x2, 3x3)";
    case conv_algorithm::direct: break;
    }
    return "direct";
}


// ---- the public kernels ----------------------------------------------------------------------------


template <class T>
bool conv2d_forward_bn_stats(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y, double* run_stats) {
    const profile_scope scope(k_conv_fwd);
#if TYPENET_FAST_X86
    if constexpr (std::is_same_v<T, float>) {
        fast_conv2d_forward(*table(), g, x, w, bias, y, run_stats);
        return true;
    }
#endif
    (void)run_stats;
    reference::conv2d_forward<T>(g, x, w, bias, y);
    return false;
}
template <class T>
void conv2d_forward(const conv_geometry& g, const T* x, const T* w, const T* bias, T* y) {
    (void)conv2d_forward_bn_stats<T>(g, x, w, bias, y, nullptr);  // the same, without the statistics
}
template <class T>
void conv2d_backward_data(const conv_geometry& g, const T* dy, const T* w, T* dx, bool accumulate) {
    const profile_scope scope(k_conv_bwd_data);
    TYPENET_FAST(fast_conv2d_backward_data(*table(), g, dy, w, dx, accumulate))
    reference::conv2d_backward_data<T>(g, dy, w, dx, accumulate);
}
template <class T>
void conv2d_backward_params(const conv_geometry& g, const T* x, const T* dy, T* dw, T* dbias) {
    const profile_scope scope(k_conv_bwd_params);
    TYPENET_FAST(fast_conv2d_backward_params(*table(), g, x, dy, dw, dbias))
    reference::conv2d_backward_params<T>(g, x, dy, dw, dbias);
}
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

// ---- optimizer updates: float math, split over threads in fixed blocks ---------------------------
// Plain loops the compiler vectorises (no dependence between elements); a fixed block split, so
// the result does not depend on the thread count.
void fast_sgd_update(std::size_t n, float* w, const float* g, float* velocity, const sgd_hyper& h) {
    const float lr = float(h.lr), wd = float(h.weight_decay), mu = float(h.momentum);
    const bool nesterov = h.nesterov, momentum = h.momentum > 0;
    elementwise_blocks(n, [&](std::size_t i0, std::size_t len) {
        float* __restrict wp = w + i0;
        const float* __restrict gp = g + i0;
        if (!momentum) {
            for (std::size_t k = 0; k < len; ++k) wp[k] -= lr * (gp[k] + wd * wp[k]);
            return;
        }
        float* __restrict vp = velocity + i0;
        if (nesterov) {
            for (std::size_t k = 0; k < len; ++k) {
                const float d = gp[k] + wd * wp[k];
                const float v = mu * vp[k] + d;
                vp[k] = v;
                wp[k] -= lr * (d + mu * v);
            }
        } else {
            for (std::size_t k = 0; k < len; ++k) {
                const float v = mu * vp[k] + (gp[k] + wd * wp[k]);
                vp[k] = v;
                wp[k] -= lr * v;
            }
        }
    });
}

void fast_adam_update(std::size_t n, float* w, const float* g, float* m, float* s, const adam_hyper& h) {
    // 1 - beta in double, then rounded: 1.f - 0.999f would be off by 1.3e-5 relative.
    const float b1 = float(h.beta1), b2 = float(h.beta2), a1 = float(1.0 - h.beta1), a2 = float(1.0 - h.beta2);
    const float eps = float(h.eps);
    const float step = float(h.lr / h.correction1), inv_c2 = float(1.0 / h.correction2);
    const float keep = float(1.0 - h.lr * h.weight_decay), wd = float(h.weight_decay);
    const bool decoupled = h.decoupled;
    elementwise_blocks(n, [&](std::size_t i0, std::size_t len) {
        float* __restrict wp = w + i0;
        const float* __restrict gp = g + i0;
        float* __restrict mp = m + i0;
        float* __restrict sp = s + i0;
        for (std::size_t k = 0; k < len; ++k) {
            float p = wp[k], d = gp[k];
            if (decoupled) p *= keep;
            else d += wd * p;
            const float mk = b1 * mp[k] + a1 * d;
            const float sk = b2 * sp[k] + a2 * d * d;
            mp[k] = mk;
            sp[k] = sk;
            wp[k] = p - step * mk / (std::sqrt(sk * inv_c2) + eps);
        }
    });
}

template <class T>
void sgd_update(std::size_t n, T* w, const T* g, T* velocity, const sgd_hyper& h) {
    const profile_scope scope(k_optim);
    if constexpr (std::is_same_v<T, float>) fast_sgd_update(n, w, g, velocity, h);
    else reference::sgd_update<T>(n, w, g, velocity, h);
}
template <class T>
void adam_update(std::size_t n, T* w, const T* g, T* m, T* s, const adam_hyper& h) {
    const profile_scope scope(k_optim);
    if constexpr (std::is_same_v<T, float>) fast_adam_update(n, w, g, m, s, h);
    else reference::adam_update<T>(n, w, g, m, s, h);
}

#undef TYPENET_FAST

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void conv2d_forward<T>(const conv_geometry&, const T*, const T*, const T*, T*);                     \
    template bool conv2d_forward_bn_stats<T>(const conv_geometry&, const T*, const T*, const T*, T*, double*);     \
    template void conv2d_backward_data<T>(const conv_geometry&, const T*, const T*, T*, bool);                         \
    template void conv2d_backward_params<T>(const conv_geometry&, const T*, const T*, T*, T*);                   \
    template void dense_forward<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, const T*, T*);     \
    template void dense_backward_data<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, T*);         \
    template void dense_backward_params<T>(std::size_t, std::size_t, std::size_t, const T*, const T*, T*, T*);   \
    template void max_pool_forward<T>(const pool_geometry&, const T*, T*, std::uint32_t*);                        \
    template void max_pool_infer<T>(const pool_geometry&, const T*, T*);                                          \
    template void max_pool_backward<T>(const pool_geometry&, const T*, const std::uint32_t*, T*);                 \
    template void avg_pool_forward<T>(const pool_geometry&, const T*, T*);                                        \
    template void avg_pool_backward<T>(const pool_geometry&, const T*, T*);                                       \
    template void relu_forward<T>(std::size_t, const T*, T*);                                                     \
    template void relu_backward<T>(std::size_t, const T*, const T*, T*);                                          \
    template void relu_backward_copy<T>(std::size_t, const T*, const T*, T*, T*);                                 \
    template void add<T>(std::size_t, const T*, const T*, T*, bool);                                             \
    template void sgd_update<T>(std::size_t, T*, const T*, T*, const sgd_hyper&);                                 \
    template void adam_update<T>(std::size_t, T*, const T*, T*, T*, const adam_hyper&);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

#undef TYPENET_INSTANTIATE

}  // namespace typenet::kernels
