// src/kernels/conv.cpp - the public convolution kernels (kernels.hpp: conv2d_forward(_bn_stats),
// conv2d_backward_data, conv2d_backward_params). double runs the reference kernels; float the
// direct passes of fast_impl.hpp, planned here (offset tables, packed weights), on the OpenMP team
// of runtime.hpp, or the Winograd passes of winograd.cpp where winograd_applies.
#include "typenet/kernels.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

#include "typenet/kernels_reference.hpp"
#include "runtime.hpp"
#include "winograd.hpp"

namespace typenet::kernels {

using namespace rt;

namespace {

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

void fast_conv2d_forward(const isa_table& t, const conv_geometry& g, const float* x, const float* w, const float* bias,
                         float* y, double* run_stats = nullptr) {
    if (wino::winograd_applies(g)) {
        wino::wino_conv2d_forward(t, g, x, w, bias, y, run_stats);
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
        wino::plane_stats(t, y, g.out_channels, g.out_height * g.out_width, b, b + 1, run_stats);
    });
}

void fast_conv2d_backward_data(const isa_table& t, const conv_geometry& g, const float* dy, const float* w, float* dx,
                               bool accumulate) {
    const std::size_t k = g.kernel, kk2 = k * k, K = g.in_channels * kk2;
    const std::size_t in_size = g.in_channels * g.in_height * g.in_width, out_size = g.out_channels * g.out_height * g.out_width;
    if (wino::winograd_applies(g)) {
        wino::wino_conv2d_backward_data(t, g, dy, w, dx, accumulate);
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

void fast_conv2d_backward_params(const isa_table& t, const conv_geometry& g, const float* x, const float* dy, float* dw,
                                 float* dbias) {
    if (wino::winograd_applies(g)) {
        wino::wino_backward_params(t, g, x, dy, dw, dbias);
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

#endif  // TYPENET_FAST_X86

}  // namespace

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

#undef TYPENET_FAST

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void conv2d_forward<T>(const conv_geometry&, const T*, const T*, const T*, T*);                     \
    template bool conv2d_forward_bn_stats<T>(const conv_geometry&, const T*, const T*, const T*, T*, double*);     \
    template void conv2d_backward_data<T>(const conv_geometry&, const T*, const T*, T*, bool);                         \
    template void conv2d_backward_params<T>(const conv_geometry&, const T*, const T*, T*, T*);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

#undef TYPENET_INSTANTIATE

}  // namespace typenet::kernels
