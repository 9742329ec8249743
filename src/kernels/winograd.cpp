// src/kernels/winograd.cpp - the float kernels' Winograd F(4x4, 3x3) and F(2x2, 3x3) convolution
// passes (plans, weight transforms, forward, backward-data, backward-params; conv.cpp calls them
// through winograd.hpp) and the public controls of the convolution algorithm (kernels.hpp:
// set_winograd, winograd, conv_algorithm_of, conv_algorithm_name).
#include "winograd.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "runtime.hpp"
#include "typenet/kernels.hpp"

namespace typenet::kernels {

using namespace rt;

namespace {

std::atomic<bool> winograd_on{true};  // set_winograd

}  // namespace

#if TYPENET_FAST_X86

namespace wino {

using fast::isa_table;

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

namespace {

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

}  // namespace

void wino_conv2d_forward(const isa_table& t, const conv_geometry& g, const float* x, const float* w, const float* bias,
                         float* y, double* run_stats) {
    const std::size_t K = g.in_channels * 9;
    const fast::wino_pass p = make_wino(t, g.batch, g.in_channels, g.out_channels, g.in_height, g.in_width, bias,
                                        [&](std::size_t o, std::size_t c, std::size_t u, std::size_t v) {
                                            return w[o * K + c * 9 + u * 3 + v];
                                        });
    run_wino(t, p, g.batch, x, y, run_stats);
}

void wino_conv2d_backward_data(const isa_table& t, const conv_geometry& g, const float* dy, const float* w, float* dx,
                               bool accumulate) {
    // The same Winograd pass on dy with the flipped, transposed kernel: w'[c][o][u][v] = w[o][c][2-u][2-v].
    fast::wino_pass p = make_wino(t, g.batch, g.out_channels, g.in_channels, g.in_height, g.in_width, nullptr,
                                  [&](std::size_t c, std::size_t o, std::size_t u, std::size_t v) {
                                      return w[(o * g.in_channels + c) * 9 + (2 - u) * 3 + (2 - v)];
                                  });
    p.accumulate = accumulate;
    run_wino(t, p, g.batch, dy, dx);
}

// Images per partial sum of Winograd backward-params: fixed (the summation order does not depend
// on the thread count), and four times kParamsChunk (conv.cpp): fewer partials to zero and sum
// (chosen when every chunk's GEMMs also summed across the vector lanes, which the outer products
// of 32 or more channels no longer do; 16 -> 32: 64->64 at 8x8 3.28 -> 3.02 ms, 32->32 at 16x16
// 2.93 -> 2.56 ms per batch of 128, typenet-kernel-bench --only conv --layers resnet20; 64 gains
// little more and leaves 2 groups per batch of 128: no work for a third thread).
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

}  // namespace wino

#endif  // TYPENET_FAST_X86

// ---- control ----------------------------------------------------------------------------------------

void set_winograd(bool on) { winograd_on.store(on, std::memory_order_relaxed); }
bool winograd() { return winograd_on.load(std::memory_order_relaxed); }

conv_algorithm conv_algorithm_of(const conv_geometry& g) {
#if TYPENET_FAST_X86
    if (wino::winograd_applies(g))
        return wino::wino_tile(g.in_height, g.in_width, g.in_channels, g.out_channels) == 4
                   ? conv_algorithm::winograd_4x4
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

}  // namespace typenet::kernels
