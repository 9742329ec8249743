// src/kernels/fast_impl.hpp - the float kernels, generic in the xsimd architecture type.
//
// Included by exactly one translation unit per instruction set (fast_avx512.cpp, fast_avx2.cpp,
// fast_sse2.cpp), each compiled with that instruction set enabled and each defining
// TYPENET_FAST_ISA_NS first: every function here lives in that per-ISA namespace, so the linker
// can never pick a copy compiled for AVX-512 when a machine without it runs the SSE2 table.
// For the same reason this file uses no standard containers or algorithms.
//
// Everything rests on one register-blocked micro-kernel, tile<MR, NV>: an MR x (NV * lanes) block
// of C held in registers, updated for every k by MR broadcasts of A and NV vector loads of B:
//     C[i][j] (+)= sum_k A(i, k) * B(k)[j]
// A and B are small accessor objects, so the same kernel reads packed weights, rows of a matrix,
// rows of a zero-padded image at an offset per k (implicit im2col), ... without copies.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "fast.hpp"

#ifndef TYPENET_FAST_ISA_NS
#error "define TYPENET_FAST_ISA_NS (a namespace name unique to the instruction set) before including fast_impl.hpp"
#endif

#if defined(__clang__)
#define TYPENET_UNROLL _Pragma("unroll")
#else
#define TYPENET_UNROLL _Pragma("GCC unroll 32")
#endif

namespace typenet::kernels::fast::TYPENET_FAST_ISA_NS {

inline std::size_t min_size(std::size_t a, std::size_t b) { return a < b ? a : b; }

// ---- accessors of the micro-kernel's operands ----------------------------------------------

// A packed in panels: the MR values of step k are contiguous, panels of Stride rows.
template <int Stride> struct a_packed {
    const float* p;
    float operator()(int i, std::size_t k) const { return p[k * Stride + i]; }
};
// A(i, k) = p[k * ld + i]: a column-major block (e.g. dy^T read from a row-major dy).
struct a_cols {
    const float* p;
    std::size_t ld;
    float operator()(int i, std::size_t k) const { return p[k * ld + i]; }
};
// A(i, k) = r[i][k]: one pointer per row (rows of a matrix, or shifted rows of a padded image).
template <int N> struct a_rows {
    const float* r[N];
    float operator()(int i, std::size_t k) const { return r[i][k]; }
};
// B(k) = base + off[k]: the k-th row of an implicit im2col matrix.
struct b_offsets {
    const float* base;
    const std::size_t* off;
    const float* operator()(std::size_t k) const { return base + off[k]; }
};
// B(k) = base + k * ld.
struct b_strided {
    const float* base;
    std::size_t ld;
    const float* operator()(std::size_t k) const { return base + k * ld; }
};

template <class Arch>
struct impl {
    using V = xsimd::batch<float, Arch>;
    static constexpr std::size_t L = V::size;

    // Tile shapes. AVX-512 (32 zmm): 8 x 48 = 24 accumulators + 3 B vectors + 1 broadcast.
    // AVX2 / SSE2 (16 registers): 6 x 2 vectors = 12 accumulators.
    static constexpr int conv_mr = L == 16 ? 8 : 6;
    static constexpr int conv_nv = L == 16 ? 3 : 2;
    // For passes with few output channels (conv1's backward-data writes 3): a flatter tile.
    static constexpr int conv_mr_small = L == 16 ? 4 : 3;
    static constexpr int conv_nv_small = L == 16 ? 6 : 4;
    static constexpr int params_mr = L == 16 ? 8 : 6;
    static constexpr int params_nv = 2;
    static constexpr int gemm_mr = L == 16 ? 8 : 6;
    static constexpr int gemm_nv = L == 16 ? 3 : 2;
    static constexpr std::size_t conv_nr = conv_nv * L, conv_nr_small = conv_nv_small * L, params_nr = params_nv * L, gemm_nr = gemm_nv * L;
    static constexpr std::size_t gemm_kc = 256;           // K block of the dense GEMM
    static constexpr std::size_t gemm_nc = gemm_nr * 8;   // N block of the dense GEMM
    static constexpr std::size_t params_qb = 128;         // pixel block of backward-params

    // ---- the micro-kernel ----------------------------------------------------------------
    // C (MR x nc, row pitch ldc) = or += sum_{k < kc} A(i, k) * B(k)[j]; B(k) must be readable for
    // NV * L floats even when nc < NV * L (the extra columns are computed and dropped).
    template <int MR, int NV, class AF, class BF>
    static inline __attribute__((always_inline)) void tile(std::size_t kc, const AF& a, const BF& b, float* c,
                                                           std::size_t ldc, bool accumulate, std::size_t nc) {
        V acc[MR][NV];
        TYPENET_UNROLL for (int i = 0; i < MR; ++i)
            TYPENET_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V(0.f);
        for (std::size_t k = 0; k < kc; ++k) {
            const float* br = b(k);
            V bv[NV];
            TYPENET_UNROLL for (int j = 0; j < NV; ++j) bv[j] = V::load_unaligned(br + j * L);
            TYPENET_UNROLL for (int i = 0; i < MR; ++i) {
                const V ai(a(i, k));
                TYPENET_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = xsimd::fma(ai, bv[j], acc[i][j]);
            }
        }
        if (nc == NV * L) {
            TYPENET_UNROLL for (int i = 0; i < MR; ++i)
                TYPENET_UNROLL for (int j = 0; j < NV; ++j) {
                    float* p = c + i * ldc + j * L;
                    if (accumulate) (acc[i][j] + V::load_unaligned(p)).store_unaligned(p);
                    else acc[i][j].store_unaligned(p);
                }
        } else {
            alignas(64) float t[NV * L];
            for (int i = 0; i < MR; ++i) {
                TYPENET_UNROLL for (int j = 0; j < NV; ++j) acc[i][j].store_aligned(t + j * L);
                float* p = c + i * ldc;
                if (accumulate)
                    for (std::size_t j = 0; j < nc; ++j) p[j] += t[j];
                else
                    for (std::size_t j = 0; j < nc; ++j) p[j] = t[j];
            }
        }
    }

    // Calls f.template operator()<mr>() for a run-time 1 <= mr <= MAX (edge tiles).
    template <int MAX, class F>
    static inline __attribute__((always_inline)) void with_mr(int mr, F&& f) {
        if (mr == MAX) {
            f.template operator()<MAX>();
        } else if constexpr (MAX > 1) {
            with_mr<MAX - 1>(mr, f);
        }
    }

    // ---- small vector helpers ------------------------------------------------------------
    static double sum(const float* p, std::size_t n) {
        V a0(0.f), a1(0.f);
        std::size_t i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 += V::load_unaligned(p + i);
            a1 += V::load_unaligned(p + i + L);
        }
        for (; i + L <= n; i += L) a0 += V::load_unaligned(p + i);
        double s = double(xsimd::hadd(a0 + a1));
        for (; i < n; ++i) s += double(p[i]);
        return s;
    }

    // d[j] += a[j], j < n.
    static void add_run(const float* __restrict a, std::size_t n, float* __restrict d) {
        std::size_t j = 0;
        for (; j + L <= n; j += L) (V::load_unaligned(d + j) + V::load_unaligned(a + j)).store_unaligned(d + j);
        for (; j < n; ++j) d[j] += a[j];
    }

    // ---- transposition ---------------------------------------------------------------------
    // dst[j * dld + i] = src[i * sld + j] for i, j < L: one L x L block. xsimd 8.1 has no
    // cross-lane shuffle (its zip_lo / zip_hi interleave within 128-bit lanes on AVX and
    // AVX-512), so the AVX-512 and AVX translation units use the classic intrinsic sequences.
    static inline void transpose_block(const float* src, std::size_t sld, float* dst, std::size_t dld) {
#if defined(__AVX512F__)
        if constexpr (L == 16) {
            __m512 r[16], t[16];
            for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * sld);
            for (int i = 0; i < 16; i += 2) {
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 16; i += 4) {
                r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
                r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
                r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
            }
            for (int h = 0; h < 16; h += 8)
                for (int i = 0; i < 4; ++i) {
                    t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
                    t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xDD);
                }
            for (int i = 0; i < 8; ++i) {
                r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
                r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
            }
            for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * dld, r[i]);
            return;
        }
#endif
#if defined(__AVX__)
        if constexpr (L == 8) {
            __m256 r[8], t[8];
            for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * sld);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 8; i += 4) {
                r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
                r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
                r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
            }
            for (int i = 0; i < 4; ++i) {
                t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
                t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
            }
            for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + i * dld, t[i]);
            return;
        }
#endif
        for (std::size_t i = 0; i < L; ++i)
            for (std::size_t j = 0; j < L; ++j) dst[j * dld + i] = src[i * sld + j];
    }

    // ---- convolution: building the source of the implicit GEMM ----------------------------
    static void build_source(const conv_pass& p, const float* in, float* src) {
        if (p.implicit) {
            // Per channel: pad leading zeros, pad zero rows, then per input row [x row, pad zeros],
            // then pad zero rows (see conv_pass::src_h).
            const std::size_t H = p.in_h, W = p.in_w, Wp = p.src_w, pad = p.pad, plane = p.src_plane();
            float* d = src;
            for (std::size_t c = 0; c < p.in_channels; ++c) {
                const float* s = in + c * H * W;
                std::memset(d, 0, (pad + pad * Wp) * sizeof(float));
                float* row = d + pad + pad * Wp;
                for (std::size_t r = 0; r < H; ++r, row += Wp) {
                    for (std::size_t j = 0; j < W; ++j) row[j] = s[r * W + j];
                    for (std::size_t j = W; j < Wp; ++j) row[j] = 0.f;
                }
                std::memset(row, 0, pad * Wp * sizeof(float));
                d += plane;
            }
            std::memset(d, 0, (p.src_floats - p.in_channels * plane) * sizeof(float));
        } else if (p.phased) {
            // Q_ab[i][j] = x[i * s + a - pad][j * s + b - pad] (0 outside), per channel and phase.
            const std::size_t s = p.stride, H = p.in_h, W = p.in_w, qh = p.qh, qw = p.qw;
            float* d = src;
            for (std::size_t c = 0; c < p.in_channels; ++c) {
                const float* xc = in + c * H * W;
                for (std::size_t a = 0; a < p.phases; ++a)
                    for (std::size_t b = 0; b < p.phases; ++b)
                        for (std::size_t i = 0; i < qh; ++i, d += qw) {
                            const std::ptrdiff_t ih = std::ptrdiff_t(i * s + a) - std::ptrdiff_t(p.pad);
                            if (ih < 0 || ih >= std::ptrdiff_t(H)) {
                                for (std::size_t j = 0; j < qw; ++j) d[j] = 0.f;
                                continue;
                            }
                            strided_row(xc + std::size_t(ih) * W, W, b, p.pad, s, qw, d);
                        }
            }
            std::memset(d, 0, (p.src_floats - p.in_channels * p.src_plane()) * sizeof(float));
        } else {
            im2col(p, in, src);
        }
    }

    // d[j] = xrow[j * s + v - pad] for j < n, 0 where that column is outside [0, W): zeros on
    // both sides and a strided copy without a test per element between them (im2col rows and
    // phase-plane rows).
    static void strided_row(const float* xrow, std::size_t W, std::size_t v, std::size_t pad, std::size_t s,
                            std::size_t n, float* d) {
        const std::size_t lo = v >= pad ? 0 : (pad - v + s - 1) / s;
        const std::size_t hi = min_size(n, W + pad > v ? (W + pad - v + s - 1) / s : 0);
        std::size_t j = 0;
        for (; j < lo && j < n; ++j) d[j] = 0.f;
        if (lo < hi) {
            const float* xr = xrow + (lo * s + v - pad);
            if (s == 1)
                for (; j < hi; ++j) d[j] = xr[j - lo];
            else if (s == 2)
                for (; j < hi; ++j) d[j] = xr[2 * (j - lo)];
            else
                for (; j < hi; ++j) d[j] = xr[(j - lo) * s];
        }
        for (; j < n; ++j) d[j] = 0.f;
    }

    // col[k = (c, u, v)][oh * out_w + ow] = in[c][oh * s + u - pad][ow * s + v - pad] (0 outside);
    // rows are vn_pad long, the tail is zero.
    static void im2col(const conv_pass& p, const float* in, float* col) {
        const std::size_t k = p.kernel, s = p.stride, H = p.in_h, W = p.in_w, OH = p.out_h, OW = p.out_w;
        for (std::size_t c = 0; c < p.in_channels; ++c)
            for (std::size_t u = 0; u < k; ++u)
                for (std::size_t v = 0; v < k; ++v) {
                    float* row = col + ((c * k + u) * k + v) * p.vn_pad;
                    const float* plane = in + c * H * W;
                    for (std::size_t oh = 0; oh < OH; ++oh) {
                        float* r = row + oh * OW;
                        const std::ptrdiff_t ih = std::ptrdiff_t(oh * s + u) - std::ptrdiff_t(p.pad);
                        if (ih < 0 || ih >= std::ptrdiff_t(H)) {
                            for (std::size_t ow = 0; ow < OW; ++ow) r[ow] = 0.f;
                            continue;
                        }
                        strided_row(plane + std::size_t(ih) * W, W, v, p.pad, s, OW, r);
                    }
                    for (std::size_t q = OH * OW; q < p.vn_pad; ++q) row[q] = 0.f;
                }
    }

    static std::size_t src_pitch(const conv_pass& p) { return (p.src_floats + 15) / 16 * 16; }

    // ---- convolution pass (forward, and backward-data at stride 1) -------------------------
    // Loop order: weight panel outer (its K x MR values stay in L1), pixel panels inner (each
    // panel's rows of the padded input are reused across the kernel's (u, v) offsets in L1).
    // out rows have pitch ldo; cols (a multiple of the vector width) columns are computed.
    //
    // K is summed in blocks of conv_kc: each block's sum is made in registers and added to the
    // output, so a sum over K = 9 x 512 products rounds like one over conv_kc. One float32
    // chain's error grows about as sqrt(K): 1.3e-6 relative at K = 4608 against 3e-7 in blocks
    // of 256 (bench/conv_sum_error.py). ResNet-18's twin's float32 logits were 2.3x PyTorch's
    // error with one chain and are 1.1x blocked; its gradients went from 2.7x to 1.3x
    // (docs/numerics.md). The extra cost is one load and add of the tile per block: <1% of the
    // block's FMAs.
    static constexpr std::size_t conv_kc = gemm_kc;  // one K block for every float32 sum
    // F(4x4)'s transformed-domain sum over the channels is the exception: its output transform
    // amplifies that sum's rounding (bench/winograd_error.py), so it is summed in blocks of 32
    // channels (F(4x4) takes at most 64, winograd.cpp): a 64-channel layer's forward and
    // backward-data error goes from 1.74e-6 to 1.35e-6 (typenet-kernel-bench --error, Xeon (avx512)).
    static constexpr std::size_t wino4_kc = 32;
    template <int MR, int NV>
    static inline __attribute__((always_inline)) void conv_tile(std::size_t K, const float* a_panel, const float* src,
                                                                const std::size_t* off, float* o, std::size_t ldo,
                                                                std::size_t nc, std::size_t kc) {
        for (std::size_t k0 = 0; k0 < K; k0 += kc)
            tile<MR, NV>(min_size(kc, K - k0), a_packed<MR>{a_panel + k0 * MR}, b_offsets{src, off + k0}, o, ldo,
                         k0 > 0, nc);
    }
    template <int MR, int NV>
    static void conv_tiles(std::size_t K, std::size_t m_pad, const float* apack, const float* src, const std::size_t* off,
                           std::size_t cols, std::size_t ldo, float* out, std::size_t kc = conv_kc) {
        constexpr std::size_t NR = NV * L;
        // cols is a multiple of the vector width: full tiles of NV vectors, then one narrower
        // tile (an 8x8 map's 71 virtual outputs take 48 + 32 columns, not 2 x 48).
        for (std::size_t mp = 0; mp < m_pad / MR; ++mp) {
            const float* a = apack + mp * MR * K;
            float* o = out + mp * MR * ldo;
            std::size_t q0 = 0;
            for (; q0 + NR <= cols; q0 += NR) conv_tile<MR, NV>(K, a, src + q0, off, o + q0, ldo, NR, kc);
            if constexpr (NV > 1) {
                if (q0 < cols)
                    with_mr<NV - 1>(int((cols - q0) / L), [&]<int V>() {
                        conv_tile<MR, V>(K, a, src + q0, off, o + q0, ldo, std::size_t(V) * L, kc);
                    });
            }
        }
    }

    static void conv_pass_image(const conv_pass& p, const float* in, float* out, float* work) {
        float* src = work;
        float* yv = work + src_pitch(p);
        build_source(p, in, src);
        if (p.mr == std::size_t(conv_mr)) conv_tiles<conv_mr, conv_nv>(p.K, p.m_pad, p.apack, src, p.off, p.vn_pad, p.vn_pad, yv);
        else conv_tiles<conv_mr_small, conv_nv_small>(p.K, p.m_pad, p.apack, src, p.off, p.vn_pad, p.vn_pad, yv);
        // Drop the virtual columns (padding positions) and add the bias: rows of out_w floats,
        // copied with vector moves (a memcpy call per 16- or 32-float row costs more than the copy).
        const std::size_t OH = p.out_h, OW = p.out_w;
        for (std::size_t o = 0; o < p.out_channels; ++o) {
            const float* src_o = yv + o * p.vn_pad;
            float* dst_o = out + o * OH * OW;
            // (Without a bias nothing is added, not 0: -0 + 0 would be +0.)
            if (p.bias && p.accumulate) copy_rows<true, true>(src_o, p.vwidth, dst_o, OW, OH, OW, p.bias[o]);
            else if (p.bias) copy_rows<true, false>(src_o, p.vwidth, dst_o, OW, OH, OW, p.bias[o]);
            else if (p.accumulate) copy_rows<false, true>(src_o, p.vwidth, dst_o, OW, OH, OW, 0.f);
            else copy_rows<false, false>(src_o, p.vwidth, dst_o, OW, OH, OW, 0.f);
        }
    }

    // e[j] = x[2j], o[j] = x[2j + 1] for j < n, and its inverse. xsimd 8.1 has no cross-lane
    // shuffle, so the AVX-512 unit uses permutes (16 pairs per step, or a whole row of 8 or 4
    // pairs: the 16- and 8-pixel rows of ResNet's later stages); other units and tails: scalar.
    static inline void deinterleave(const float* __restrict x, std::size_t n, float* __restrict e, float* __restrict o) {
        std::size_t j = 0;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
        if constexpr (L == 16) {
            const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            for (; j + 16 <= n; j += 16) {
                const __m512 a = _mm512_loadu_ps(x + 2 * j), b = _mm512_loadu_ps(x + 2 * j + 16);
                _mm512_storeu_ps(e + j, _mm512_permutex2var_ps(a, ie, b));
                _mm512_storeu_ps(o + j, _mm512_permutex2var_ps(a, io, b));
            }
            if (n - j == 8) {  // [e0..e7, o0..o7] in one permute
                const __m512 a = _mm512_permutexvar_ps(
                    _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15), _mm512_loadu_ps(x + 2 * j));
                _mm256_storeu_ps(e + j, _mm512_castps512_ps256(a));
                _mm256_storeu_ps(o + j, _mm512_extractf32x8_ps(a, 1));
                return;
            }
            if (n - j == 4) {
                const __m256 a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + 2 * j), _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
                _mm_storeu_ps(e + j, _mm256_castps256_ps128(a));
                _mm_storeu_ps(o + j, _mm256_extractf128_ps(a, 1));
                return;
            }
        }
#endif
        for (; j < n; ++j) e[j] = x[2 * j], o[j] = x[2 * j + 1];
    }
    static inline void interleave(const float* __restrict e, const float* __restrict o, std::size_t n, float* __restrict x) {
        std::size_t j = 0;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
        if constexpr (L == 16) {
            const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            for (; j + 16 <= n; j += 16) {
                const __m512 a = _mm512_loadu_ps(e + j), b = _mm512_loadu_ps(o + j);
                _mm512_storeu_ps(x + 2 * j, _mm512_permutex2var_ps(a, lo, b));
                _mm512_storeu_ps(x + 2 * j + 16, _mm512_permutex2var_ps(a, hi, b));
            }
            if (n - j == 8) {
                const __m512 a = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(e + j)), _mm256_loadu_ps(o + j), 1);
                _mm512_storeu_ps(x + 2 * j, _mm512_permutexvar_ps(
                                                _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15), a));
                return;
            }
            if (n - j == 4) {
                const __m256 a = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(e + j)), _mm_loadu_ps(o + j), 1);
                _mm256_storeu_ps(x + 2 * j, _mm256_permutevar8x32_ps(a, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
                return;
            }
        }
#endif
        for (; j < n; ++j) x[2 * j] = e[j], x[2 * j + 1] = o[j];
    }

    // ---- Winograd F(MxM, 3x3), M = 2 or 4 (see wino_pass in fast.hpp) -------------------------
    // The 1-D transforms along one axis of a tile, on vectors of tiles: t = B^T d (A = M + 2
    // values in and out) and y = A^T m (A in, M out). F(2x2): Lavin and Gray's points 0, 1, -1;
    // F(4x4): 0, 1, -1, 2, -2. (G, for the weights, is applied in winograd.cpp.)
    template <int M>
    static inline __attribute__((always_inline)) void wino_bt(const V* d, V* t) {
        if constexpr (M == 2) {
            t[0] = d[0] - d[2], t[1] = d[1] + d[2], t[2] = d[2] - d[1], t[3] = d[1] - d[3];
        } else {
            const V four(4.f), five(5.f), two(2.f);
            t[0] = four * d[0] - five * d[2] + d[4];
            t[1] = d[3] + d[4] - four * (d[1] + d[2]);
            t[2] = d[4] - d[3] + four * (d[1] - d[2]);
            t[3] = d[4] - d[2] + two * (d[3] - d[1]);
            t[4] = d[4] - d[2] - two * (d[3] - d[1]);
            t[5] = four * d[1] - five * d[3] + d[5];
        }
    }
    template <int M>
    static inline __attribute__((always_inline)) void wino_at(const V* m, V* y) {
        if constexpr (M == 2) {
            y[0] = m[0] + m[1] + m[2], y[1] = m[1] - m[2] - m[3];
        } else {
            const V a12 = m[1] + m[2], s12 = m[1] - m[2], a34 = m[3] + m[4], s34 = m[3] - m[4];
            y[0] = m[0] + a12 + a34;
            y[1] = s12 + V(2.f) * s34;
            y[2] = a12 + V(4.f) * a34;
            y[3] = s12 + V(8.f) * s34 + m[5];
        }
    }

    // The M * (M + 2) planes of one channel: X[k][rp][i][tj] = x[M i + rp - 1][M tj + k - 1] (0
    // outside the image) at X + (k * M + rp) * plane + i * tw, for k < M + 2, rp < M, i <= h / M,
    // tj < tw = w / M. Row r of tile t = ti * tw + tj's patch, column k, is plane (k, r % M) at flat
    // index t + (r / M) * tw: contiguous in t, so the transform runs on whole vectors of tiles
    // whatever the map width. tmp: w floats.
    template <int M>
    static void wino_planes(const float* x, std::size_t h, std::size_t w, float* X, std::size_t plane, float* tmp) {
        constexpr int A = M + 2;
        const std::size_t tw = w / M;
        for (std::size_t r = 0; r < h + M; ++r) {  // padded row r is image row r - 1
            const std::size_t rp = r % M, i = r / M;
            float* row[A];
            for (int k = 0; k < A; ++k) row[k] = X + (std::size_t(k) * M + rp) * plane + i * tw;
            if (r == 0 || r > h) {
                for (int k = 0; k < A; ++k) std::memset(row[k], 0, tw * sizeof(float));
                continue;
            }
            // columns M tj + q for q < M are planes k = q + 1 ...
            const float* xr = x + (r - 1) * w;
            if constexpr (M == 2) {
                deinterleave(xr, tw, row[1], row[2]);
            } else {
                deinterleave(xr, 2 * tw, tmp, tmp + 2 * tw);      // even, odd columns
                deinterleave(tmp, tw, row[1], row[3]);            // 4j, 4j + 2
                deinterleave(tmp + 2 * tw, tw, row[2], row[4]);   // 4j + 1, 4j + 3
            }
            // ... column M tj - 1 is the last phase of tile tj - 1, column M tj + M the first of tj + 1.
            row[0][0] = 0.f;
            for (std::size_t j = 1; j < tw; ++j) row[0][j] = row[M][j - 1];
            for (std::size_t j = 0; j + 1 < tw; ++j) row[M + 1][j] = row[1][j + 1];
            row[M + 1][tw - 1] = 0.f;
        }
    }

#if defined(__AVX512F__)
    // wino_planes for rows of at most 32 values (AVX-512): a row is two vectors, and each of its
    // M + 2 plane rows, X[k][.][i][tj] = x[M tj + k - 1] (0 outside the row), is one masked
    // two-source permute of them; no stores read back (the general path's scalar shifts of rows
    // just written by vector stores stalled on store forwarding). The permutes' indices and masks
    // are made once per pass (made per plane, their stores and vector loads stalled likewise).
    template <int M>
    struct narrow_planes {
        static constexpr int A = M + 2;
        __m512i idx[A];
        __mmask16 keep[A], la, lb, st;
        std::size_t w, tw;
        explicit narrow_planes(std::size_t w_) : w(w_), tw(w_ / M) {
            for (int k = 0; k < A; ++k) {
                alignas(64) std::int32_t ix[16];
                unsigned mk = 0;
                for (std::size_t j = 0; j < 16; ++j) {
                    const std::ptrdiff_t col = std::ptrdiff_t(M * j) + k - 1;
                    const bool in = j < tw && col >= 0 && col < std::ptrdiff_t(w);
                    ix[j] = in ? std::int32_t(col) : 0;
                    mk |= unsigned(in) << j;
                }
                idx[k] = _mm512_load_si512(ix);
                keep[k] = __mmask16(mk);
            }
            la = __mmask16(w >= 16 ? 0xFFFFu : (1u << w) - 1);
            lb = __mmask16(w > 16 ? (1u << (w - 16)) - 1 : 0u);
            st = __mmask16((1u << tw) - 1);
        }
        void operator()(const float* x, std::size_t h, float* X, std::size_t plane) const {
            for (std::size_t r = 0; r < h + M; ++r) {  // padded row r is image row r - 1
                const std::size_t rp = r % M, i = r / M;
                if (r == 0 || r > h) {
                    for (int k = 0; k < A; ++k)
                        _mm512_mask_storeu_ps(X + (std::size_t(k) * M + rp) * plane + i * tw, st, _mm512_setzero_ps());
                    continue;
                }
                const float* xr = x + (r - 1) * w;
                const __m512 a = _mm512_maskz_loadu_ps(la, xr), b = _mm512_maskz_loadu_ps(lb, xr + 16);
                for (int k = 0; k < A; ++k)
                    _mm512_mask_storeu_ps(X + (std::size_t(k) * M + rp) * plane + i * tw, st,
                                          _mm512_maskz_permutex2var_ps(keep[k], a, idx[k], b));
            }
        }
    };
#endif

    // v[xi * vp + t] = (B^T d_t B)[xi / A][xi % A] for the tiles t < tiles (whole vectors: up to
    // the next multiple of L), d_t read from the planes of wino_planes.
    template <int M>
    static void wino_input(const float* X, std::size_t plane, std::size_t tiles, std::size_t tw, float* v,
                           std::size_t vp) {
        constexpr int A = M + 2;
        for (std::size_t t0 = 0; t0 < tiles; t0 += L) {
            V tt[A][A];  // tt[i][k] = (B^T d)[i][k]
            TYPENET_UNROLL for (int k = 0; k < A; ++k) {
                V d[A], c[A];
                TYPENET_UNROLL for (int r = 0; r < A; ++r)
                    d[r] = V::load_unaligned(X + (std::size_t(k) * M + r % M) * plane + t0 + std::size_t(r / M) * tw);
                wino_bt<M>(d, c);
                TYPENET_UNROLL for (int i = 0; i < A; ++i) tt[i][k] = c[i];
            }
            TYPENET_UNROLL for (int i = 0; i < A; ++i) {
                V o[A];
                wino_bt<M>(tt[i], o);
                TYPENET_UNROLL for (int j = 0; j < A; ++j) o[j].store_unaligned(v + std::size_t(i * A + j) * vp + t0);
            }
        }
    }

    // z[(a * M + b) * zp + t] = (A^T M_t A)[a][b] + bias, M_t[xi / A][xi % A] = m[xi * mp + t].
    template <int M>
    static void wino_output(const float* m, std::size_t mp, std::size_t tiles, float bias, float* z, std::size_t zp) {
        constexpr int A = M + 2;
        const V bv(bias);
        for (std::size_t t0 = 0; t0 < tiles; t0 += L) {
            V s[M][A];  // s[a][j] = (A^T M_t)[a][j]
            TYPENET_UNROLL for (int j = 0; j < A; ++j) {
                V col[A], y[M];
                TYPENET_UNROLL for (int i = 0; i < A; ++i) col[i] = V::load_unaligned(m + std::size_t(i * A + j) * mp + t0);
                wino_at<M>(col, y);
                TYPENET_UNROLL for (int a = 0; a < M; ++a) s[a][j] = y[a];
            }
            TYPENET_UNROLL for (int a = 0; a < M; ++a) {
                V y[M];
                wino_at<M>(s[a], y);
                TYPENET_UNROLL for (int b = 0; b < M; ++b) (y[b] + bv).store_unaligned(z + std::size_t(a * M + b) * zp + t0);
            }
        }
    }

    // V for nimg images of `in` (p.in_channels channels each): planes, then the input transform,
    // per image and channel; image b's tiles are columns b * tiles_pad ... of every row of V.
    template <int M>
    static void wino_transform_inputs(const wino_pass& p, const float* in, std::size_t nimg, float* X, float* tmp,
                                      float* Vb) {
        const std::size_t C = p.in_channels, hw = p.h * p.w;
#if defined(__AVX512F__)
        if constexpr (L == 16) {
            if (p.w <= 32) {
                const narrow_planes<M> planes(p.w);
                for (std::size_t b = 0; b < nimg; ++b)
                    for (std::size_t c = 0; c < C; ++c) {
                        planes(in + (b * C + c) * hw, p.h, X, p.plane);
                        wino_input<M>(X, p.plane, p.tiles, p.tw, Vb + c * p.ld + b * p.tiles_pad, p.v_xi);
                    }
                return;
            }
        }
#endif
        for (std::size_t b = 0; b < nimg; ++b)
            for (std::size_t c = 0; c < C; ++c) {
                wino_planes<M>(in + (b * C + c) * hw, p.h, p.w, X, p.plane, tmp);
                wino_input<M>(X, p.plane, p.tiles, p.tw, Vb + c * p.ld + b * p.tiles_pad, p.v_xi);
            }
    }

    // One chunk of nimg <= p.images images: transform every channel of every image into V, (M+2)^2
    // GEMMs M_xi = U_xi V_xi, transform back into out.
    template <int M>
    static void wino_chunk_m(const wino_pass& p, const float* in, float* out, std::size_t nimg, float* work) {
        constexpr std::size_t P = (M + 2) * (M + 2);
        const std::size_t C = p.in_channels, Ko = p.out_channels, h = p.h, w = p.w, tw = p.tw, tp = p.tiles_pad;
        const std::size_t cols = nimg * tp, ld = p.ld;
        float* X = work;
        float* Z = X + p.x_floats;
        float* Vb = Z + p.z_floats;
        float* Mb = Vb + P * p.v_xi;
        float* tmp = Z + M * M * tp;  // w floats for the planes' split and the merge of a row, w for accumulating
        wino_transform_inputs<M>(p, in, nimg, X, tmp, Vb);
        const std::size_t kc = M == 4 ? wino4_kc : conv_kc;
        for (std::size_t xi = 0; xi < P; ++xi) {
            const float* u = p.upack + xi * p.m_pad * C;
            if (p.mr == std::size_t(conv_mr))
                conv_tiles<conv_mr, conv_nv>(C, p.m_pad, u, Vb + xi * p.v_xi, p.off, cols, ld, Mb + xi * p.m_xi, kc);
            else
                conv_tiles<conv_mr_small, conv_nv_small>(C, p.m_pad, u, Vb + xi * p.v_xi, p.off, cols, ld,
                                                         Mb + xi * p.m_xi, kc);
        }
        for (std::size_t b = 0; b < nimg; ++b)
            for (std::size_t k = 0; k < Ko; ++k) {
                wino_output<M>(Mb + k * ld + b * tp, p.m_xi, p.tiles, p.bias ? p.bias[k] : 0.f, Z, tp);
                float* y = out + (b * Ko + k) * h * w;
                for (std::size_t ti = 0; ti < h / M; ++ti)
                    for (std::size_t a = 0; a < std::size_t(M); ++a) {
                        const float* z0 = Z + (a * M) * tp + ti * tw;  // Y[a][b] of the row's tiles at z0 + b * tp
                        float* row = y + (M * ti + a) * w;
                        float* dst = p.accumulate ? tmp + w : row;  // accumulate: merge, then add to the row
                        if constexpr (M == 2) {
                            interleave(z0, z0 + tp, tw, dst);
                        } else {
                            interleave(z0, z0 + 2 * tp, tw, tmp);               // columns 4j, 4j + 2
                            interleave(z0 + tp, z0 + 3 * tp, tw, tmp + 2 * tw);  // 4j + 1, 4j + 3
                            interleave(tmp, tmp + 2 * tw, 2 * tw, dst);
                        }
                        if (p.accumulate) add_run(dst, w, row);
                    }
            }
    }
    // out = A y: the transpose of wino_at (M values in, M + 2 out), for the VJP of the output transform.
    template <int M>
    static inline __attribute__((always_inline)) void wino_a(const V* y, V* o) {
        if constexpr (M == 2) {
            o[0] = y[0], o[1] = y[0] + y[1], o[2] = y[0] - y[1], o[3] = -y[1];
        } else {
            const V a02 = y[0] + y[2], a13 = y[1] + y[3], b02 = y[0] + V(4.f) * y[2], b13 = V(2.f) * y[1] + V(8.f) * y[3];
            o[0] = y[0];
            o[1] = a02 + a13;
            o[2] = a02 - a13;
            o[3] = b02 + b13;
            o[4] = b02 - b13;
            o[5] = y[3];
        }
    }

    // dm[xi * mp + t] = (A dY_t A^T)[xi / A][xi % A], dY_t[a][b] = z[(a * M + b) * zp + t], for the
    // tiles t < tiles (whole vectors).
    template <int M>
    static void wino_grad_output(const float* z, std::size_t zp, std::size_t tiles, float* dm, std::size_t mp) {
        constexpr int A = M + 2;
        for (std::size_t t0 = 0; t0 < tiles; t0 += L) {
            V s[A][M];  // s[i][b] = (A dY_t)[i][b]
            TYPENET_UNROLL for (int b = 0; b < M; ++b) {
                V col[M], o[A];
                TYPENET_UNROLL for (int a = 0; a < M; ++a) col[a] = V::load_unaligned(z + std::size_t(a * M + b) * zp + t0);
                wino_a<M>(col, o);
                TYPENET_UNROLL for (int i = 0; i < A; ++i) s[i][b] = o[i];
            }
            TYPENET_UNROLL for (int i = 0; i < A; ++i) {
                V o[A];
                wino_a<M>(s[i], o);
                TYPENET_UNROLL for (int j = 0; j < A; ++j) o[j].store_unaligned(dm + std::size_t(i * A + j) * mp + t0);
            }
        }
    }

    // c[i * ldc + j] += sum_{q < n} a[i * lda + q] * b[j * ldb + q] for i < RI, j < RJ; n a multiple of L.
    template <int RI, int RJ>
    static inline void dot_tile(const float* a, std::size_t lda, const float* b, std::size_t ldb, std::size_t n, float* c,
                                std::size_t ldc) {
        V acc[RI][RJ];
        TYPENET_UNROLL for (int i = 0; i < RI; ++i)
            TYPENET_UNROLL for (int j = 0; j < RJ; ++j) acc[i][j] = V(0.f);
        for (std::size_t q = 0; q < n; q += L) {
            V av[RI], bv[RJ];
            TYPENET_UNROLL for (int i = 0; i < RI; ++i) av[i] = V::load_unaligned(a + i * lda + q);
            TYPENET_UNROLL for (int j = 0; j < RJ; ++j) bv[j] = V::load_unaligned(b + j * ldb + q);
            TYPENET_UNROLL for (int i = 0; i < RI; ++i)
                TYPENET_UNROLL for (int j = 0; j < RJ; ++j) acc[i][j] = xsimd::fma(av[i], bv[j], acc[i][j]);
        }
#if defined(__AVX512F__)
        if constexpr (L == 16 && RI == 4 && RJ == 4) {
            // The 16 sums across lanes at once (45 shuffles and adds instead of 16 horizontal
            // sums of about 8 each): pairs within 128-bit lanes, then quads, then across lanes.
            __m512 v[16];
            for (int k = 0; k < 16; ++k) v[k] = acc[k / 4][k % 4];
            __m512 s[8], w[4], x[2];
            for (int k = 0; k < 8; ++k)
                s[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]), _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
            for (int k = 0; k < 4; ++k)
                w[k] = _mm512_add_ps(_mm512_shuffle_ps(s[2 * k], s[2 * k + 1], 0x44), _mm512_shuffle_ps(s[2 * k], s[2 * k + 1], 0xEE));
            for (int k = 0; k < 2; ++k)
                x[k] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], 0x88),
                                     _mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], 0xDD));
            alignas(64) float r[16];
            _mm512_store_ps(r, _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88), _mm512_shuffle_f32x4(x[0], x[1], 0xDD)));
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) c[i * ldc + j] += r[i * 4 + j];
            return;
        }
#endif
        TYPENET_UNROLL for (int i = 0; i < RI; ++i)
            TYPENET_UNROLL for (int j = 0; j < RJ; ++j) c[i * ldc + j] += xsimd::hadd(acc[i][j]);
    }
    // c (ra x rb, row pitch ldc) += a (ra x n) b^T (n x rb), rows of a and b contiguous in q.
    static void dot_gemm(const float* a, std::size_t ra, std::size_t lda, const float* b, std::size_t rb, std::size_t ldb,
                         std::size_t n, float* c, std::size_t ldc) {
        constexpr int R = 4;
        for (std::size_t i0 = 0; i0 < ra; i0 += R)
            for (std::size_t j0 = 0; j0 < rb; j0 += R) {
                const int ri = int(min_size(R, ra - i0)), rj = int(min_size(R, rb - j0));
                const float* ap = a + i0 * lda;
                const float* bp = b + j0 * ldb;
                float* cp = c + i0 * ldc + j0;
                if (ri == R && rj == R) dot_tile<R, R>(ap, lda, bp, ldb, n, cp, ldc);
                else
                    with_mr<R>(ri, [&]<int I>() { with_mr<R>(rj, [&]<int J>() { dot_tile<I, J>(ap, lda, bp, ldb, n, cp, ldc); }); });
            }
    }

    // dst[q * dld + r] = src[r * sld + q] for r < rows, q < cols (cols a multiple of L), and 0 for
    // rows <= r < dld (dld a multiple of L).
    static void transpose_rows(const float* src, std::size_t rows, std::size_t sld, std::size_t cols, float* dst,
                               std::size_t dld) {
        const std::size_t full = rows / L * L;
        for (std::size_t r0 = 0; r0 < full; r0 += L)
            for (std::size_t q0 = 0; q0 < cols; q0 += L) transpose_block(src + r0 * sld + q0, sld, dst + q0 * dld + r0, dld);
        for (std::size_t q = 0; q < cols; ++q) {
            float* d = dst + q * dld;
            for (std::size_t r = full; r < rows; ++r) d[r] = src[r * sld + q];
            for (std::size_t r = rows; r < dld; ++r) d[r] = 0.f;
        }
    }
    // c[i * ldc + j] += sum_{q < n} a[i * lda + q] * b[q * ldb + j] for i < RI, j < RO * L: RI x RO
    // vector accumulators over the whole reduction, a broadcast per row of a and step q.
    template <int RI, int RO>
    static inline void outer_tile(const float* a, std::size_t lda, const float* b, std::size_t ldb, std::size_t n,
                                  float* c, std::size_t ldc) {
        V acc[RI][RO];
        TYPENET_UNROLL for (int i = 0; i < RI; ++i)
            TYPENET_UNROLL for (int j = 0; j < RO; ++j) acc[i][j] = V(0.f);
        for (std::size_t q = 0; q < n; ++q) {
            V bv[RO];
            TYPENET_UNROLL for (int j = 0; j < RO; ++j) bv[j] = V::load_unaligned(b + q * ldb + j * L);
            TYPENET_UNROLL for (int i = 0; i < RI; ++i) {
                const V av(a[i * lda + q]);
                TYPENET_UNROLL for (int j = 0; j < RO; ++j) acc[i][j] = xsimd::fma(av, bv[j], acc[i][j]);
            }
        }
        TYPENET_UNROLL for (int i = 0; i < RI; ++i)
            TYPENET_UNROLL for (int j = 0; j < RO; ++j)
                (V::load_unaligned(c + i * ldc + j * L) + acc[i][j]).store_unaligned(c + i * ldc + j * L);
    }
    // c (ra x cb, row pitch ldc) += a (ra x n, rows contiguous in q) b (n x cb, row pitch ldb), cb a
    // multiple of L. Tiles of up to 4 vectors (AVX-512; 2 elsewhere) by 8 rows where 8 rows of
    // accumulators, the b vectors and a broadcast fit the registers (up to 3 vectors on AVX-512,
    // 1 elsewhere), else by 6 (AVX-512, 4 vectors: 24 of 32 registers): at least 8 FMA chains.
    static void outer_gemm(const float* a, std::size_t ra, std::size_t lda, const float* b, std::size_t ldb,
                           std::size_t n, float* c, std::size_t ldc) {
        constexpr int RO = L == 16 ? 4 : 2;
        const std::size_t vo = ldb / L;
        for (std::size_t j0 = 0; j0 < vo; j0 += RO)
            with_mr<RO>(int(min_size(RO, vo - j0)), [&]<int J>() {
                constexpr int RI = J * 8 + J + 1 > (L == 16 ? 32 : 16) ? 6 : 8;  // accumulators + b + a
                for (std::size_t i0 = 0; i0 < ra; i0 += RI) {
                    const float* ap = a + i0 * lda;
                    const float* bp = b + j0 * L;
                    float* cp = c + i0 * ldc + j0 * L;
                    with_mr<RI>(int(min_size(RI, ra - i0)),
                                [&]<int I>() { outer_tile<I, J>(ap, lda, bp, ldb, n, cp, ldc); });
                }
            });
    }

    template <int M>
    static void wino_params_chunk_m(const wino_params_pass& pp, const float* x, const float* dy, std::size_t nimg,
                                    float* part, float* part_bias, float* work) {
        constexpr std::size_t P = (M + 2) * (M + 2);
        const wino_pass& p = pp.fwd;
        const std::size_t C = p.in_channels, Ko = p.out_channels, h = p.h, w = p.w, tw = p.tw, tp = p.tiles_pad;
        const std::size_t ld = p.ld, cols = nimg * tp;
        float* X = work;
        float* Z = X + p.x_floats;
        float* Vb = Z + p.z_floats;
        float* dM = Vb + P * p.v_xi;
        float* tmp = Z + M * M * tp;
        // The padding tiles of Z are zero (so are dM's padding columns, whatever V holds there) and
        // the slack after the planes is finite (zero).
        std::memset(X + M * (M + 2) * p.plane, 0, (p.x_floats - M * (M + 2) * p.plane) * sizeof(float));
        for (std::size_t i = 0; i < std::size_t(M * M); ++i) std::memset(Z + i * tp + p.tiles, 0, (tp - p.tiles) * sizeof(float));
        wino_transform_inputs<M>(p, x, nimg, X, tmp, Vb);
        for (std::size_t b = 0; b < nimg; ++b)
            for (std::size_t o = 0; o < Ko; ++o) {
                const float* d = dy + (b * Ko + o) * h * w;
                if (part_bias) part_bias[o] += float(sum(d, h * w));
                for (std::size_t ti = 0; ti < h / M; ++ti)
                    for (std::size_t a = 0; a < std::size_t(M); ++a) {
                        const float* row = d + (M * ti + a) * w;
                        float* z0 = Z + (a * M) * tp + ti * tw;  // dY[a][b] of the row's tiles at z0 + b * tp
                        if constexpr (M == 2) {
                            deinterleave(row, tw, z0, z0 + tp);
                        } else {
                            deinterleave(row, 2 * tw, tmp, tmp + 2 * tw);
                            deinterleave(tmp, tw, z0, z0 + 2 * tp);
                            deinterleave(tmp + 2 * tw, tw, z0 + tp, z0 + 3 * tp);
                        }
                    }
                wino_grad_output<M>(Z, tp, p.tiles, dM + o * ld + b * tp, pp.dm_xi);
            }
        // Per position, part_xi += V_xi dM_xi^T. With two or more vectors of output channels: dM_xi
        // transposed (tiles x out channels, padded to whole vectors), then outer products, no sums
        // across vector lanes (64 -> 64 at 8x8: 3.1 -> 2.6 ms; 32 -> 32 at 16x16: 2.57 -> 2.35).
        // With one vector, 8 rows share each loaded vector of dM^T and the broadcasts of V bound
        // it: dot products over the tiles, summed across lanes at the end, are faster there (16 ->
        // 16 at 32x32: 2.5 against 3.0 ms).
        const std::size_t kp = pp.ko_pad;
        if (kp >= 2 * L) {
            float* dMT = dM + P * pp.dm_xi;
            for (std::size_t xi = 0; xi < P; ++xi) {
                transpose_rows(dM + xi * pp.dm_xi, Ko, ld, cols, dMT, kp);
                outer_gemm(Vb + xi * p.v_xi, C, ld, dMT, kp, cols, part + xi * C * kp, kp);
            }
        } else {
            for (std::size_t xi = 0; xi < P; ++xi)
                dot_gemm(Vb + xi * p.v_xi, C, ld, dM + xi * pp.dm_xi, Ko, ld, cols, part + xi * C * kp, kp);
        }
    }
    static void wino_params_chunk(const wino_params_pass& pp, const float* x, const float* dy, std::size_t nimg, float* part,
                                  float* part_bias, float* work) {
        if (pp.fwd.m == 4) wino_params_chunk_m<4>(pp, x, dy, nimg, part, part_bias, work);
        else wino_params_chunk_m<2>(pp, x, dy, nimg, part, part_bias, work);
    }
    static void wino_chunk(const wino_pass& p, const float* in, float* out, std::size_t nimg, float* work) {
        if (p.m == 4) wino_chunk_m<4>(p, in, out, nimg, work);
        else wino_chunk_m<2>(p, in, out, nimg, work);
    }

    // dst[r * dld + j] (+)= src[r * sld + j] (+ add), r < rows, j < cols (+= when Acc).
    template <bool Add, bool Acc>
    static void copy_rows(const float* src, std::size_t sld, float* dst, std::size_t dld, std::size_t rows, std::size_t cols,
                          float add) {
        const V av(add);
        for (std::size_t r = 0; r < rows; ++r) {
            const float* s = src + r * sld;
            float* d = dst + r * dld;
            std::size_t j = 0;
            for (; j + L <= cols; j += L) {
                V v = V::load_unaligned(s + j);
                if constexpr (Add) v += av;
                if constexpr (Acc) v = V::load_unaligned(d + j) + v;
                v.store_unaligned(d + j);
            }
            for (; j < cols; ++j) {
                const float v = Add ? s[j] + add : s[j];
                d[j] = Acc ? d[j] + v : v;
            }
        }
    }

    // ---- backward-data, general stride: GEMM into dcol, then col2im ------------------------
    static std::ptrdiff_t floor_div(std::ptrdiff_t a, std::ptrdiff_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

    // col2im through stride^2 phase planes: input pixel (ih, iw) lies in plane (ih % s, iw % s) at
    // (ih / s, iw / s), so tap (u, v) adds each output row of its dcol row to one phase plane as a
    // contiguous run (a vector add) instead of a scatter with stride s; the planes are then
    // interleaved into dx (AVX-512 permutes at stride 2), one channel at a time in L1.
    static void conv_data_general_image(const conv_data_general& p, const float* dy, float* dx, float* work) {
        const conv_geometry& g = p.g;
        const std::size_t OH = g.out_height, OW = g.out_width, H = g.in_height, W = g.in_width, k = g.kernel;
        const std::size_t st = g.stride, Qh = (H + st - 1) / st, Qw = (W + st - 1) / st, Q = Qh * Qw;
        float* dyp = work;
        float* dcol = work + (g.out_channels * p.vn_pad + 15) / 16 * 16;
        float* planes = dcol + p.k_pad * p.vn_pad;  // st^2 planes of Qh x Qw
        float* tmp = planes + st * st * Q;          // one row of dx (accumulate)
        for (std::size_t o = 0; o < g.out_channels; ++o) {
            std::memcpy(dyp + o * p.vn_pad, dy + o * OH * OW, OH * OW * sizeof(float));
            for (std::size_t q = OH * OW; q < p.vn_pad; ++q) dyp[o * p.vn_pad + q] = 0.f;
        }
        const std::size_t panels = p.k_pad / conv_mr;
        for (std::size_t q0 = 0; q0 < p.vn_pad; q0 += conv_nr)
            for (std::size_t mp = 0; mp < panels; ++mp)
                tile<conv_mr, conv_nv>(g.out_channels, a_packed<conv_mr>{p.apack + mp * conv_mr * g.out_channels},
                                       b_offsets{dyp + q0, p.off}, dcol + mp * conv_mr * p.vn_pad + q0, p.vn_pad, false,
                                       conv_nr);
        const std::ptrdiff_t pad = std::ptrdiff_t(g.pad), sd = std::ptrdiff_t(st);
        // Tap u of the kernel: plane row r = oh + du of phase py; oh in [lo, hi) keeps r inside the
        // rows of that phase that exist (r * st + py < n).
        struct span { std::size_t phase, lo, hi; std::ptrdiff_t shift; };
        auto tap = [&](std::size_t u, std::size_t n_in, std::size_t n_out) {
            const std::ptrdiff_t t = std::ptrdiff_t(u) - pad, d = floor_div(t, sd), ph = t - d * sd;
            const std::ptrdiff_t rows = std::ptrdiff_t(n_in) > ph ? (std::ptrdiff_t(n_in) - ph + sd - 1) / sd : 0;
            const std::ptrdiff_t lo = d < 0 ? -d : 0, hi = std::min<std::ptrdiff_t>(std::ptrdiff_t(n_out), rows - d);
            return span{std::size_t(ph), std::size_t(lo), std::size_t(hi > lo ? hi : lo), d};
        };
        for (std::size_t c = 0; c < g.in_channels; ++c) {
            std::memset(planes, 0, st * st * Q * sizeof(float));
            for (std::size_t u = 0; u < k; ++u) {
                const span r = tap(u, H, OH);
                for (std::size_t v = 0; v < k; ++v) {
                    const span q = tap(v, W, OW);
                    if (q.lo >= q.hi) continue;
                    const float* row = dcol + ((c * k + u) * k + v) * p.vn_pad;
                    float* plane = planes + (r.phase * st + q.phase) * Q;
                    for (std::size_t oh = r.lo; oh < r.hi; ++oh)
                        add_run(row + oh * OW + q.lo, q.hi - q.lo,
                                plane + std::size_t(std::ptrdiff_t(oh) + r.shift) * Qw + std::size_t(std::ptrdiff_t(q.lo) + q.shift));
                }
            }
            float* xc = dx + c * H * W;
            for (std::size_t ih = 0; ih < H; ++ih) {
                const float* pr = planes + (ih % st) * st * Q + (ih / st) * Qw;  // phase row (ih % st, 0) at row ih / st
                float* out = p.accumulate ? tmp : xc + ih * W;
                if (st == 2 && W % 2 == 0) interleave(pr, pr + Q, W / 2, out);
                else
                    for (std::size_t iw = 0; iw < W; ++iw) out[iw] = pr[(iw % st) * Q + iw / st];
                if (p.accumulate) add_run(tmp, W, xc + ih * W);
            }
        }
    }

    // ---- backward-params of one image --------------------------------------------------------
    static void conv_params_image(const conv_params_pass& pp, const float* x, const float* dy, float* part,
                                  float* part_bias, float* work) {
        const conv_pass& p = pp.fwd;
        const std::size_t np = pp.n_pad, OH = p.out_h, OW = p.out_w, Cout = p.out_channels;
        float* src = work;
        float* dyt = work + src_pitch(p);
        build_source(p, x, src);
        // dyt[q][o] = dy[o][oh][ow] at q = oh * vwidth + ow; zero on the virtual padding columns
        // (ow >= out_w) and for o >= out_channels. L x L blocks, then the edges.
        const std::size_t plane = OH * OW, ow_full = OW / L * L, o_full = Cout / L * L;
        for (std::size_t oh = 0; oh < OH; ++oh) {
            float* row0 = dyt + oh * p.vwidth * np;  // q = oh * vwidth
            for (std::size_t ow0 = 0; ow0 < ow_full; ow0 += L)
                for (std::size_t o0 = 0; o0 < o_full; o0 += L)
                    transpose_block(dy + o0 * plane + oh * OW + ow0, plane, row0 + ow0 * np + o0, np);
            for (std::size_t ow = 0; ow < OW; ++ow) {
                float* d = row0 + ow * np;
                const std::size_t o_begin = ow < ow_full ? o_full : 0;
                for (std::size_t o = o_begin; o < Cout; ++o) d[o] = dy[o * plane + oh * OW + ow];
                for (std::size_t o = Cout; o < np; ++o) d[o] = 0.f;
            }
            const std::size_t junk_end = oh + 1 < OH ? p.vwidth : OW;  // vn ends at the last valid pixel
            if (junk_end > OW) std::memset(row0 + OW * np, 0, (junk_end - OW) * np * sizeof(float));
        }
        if (part_bias)
            for (std::size_t o = 0; o < Cout; ++o) part_bias[o] += float(sum(dy + o * OH * OW, OH * OW));
        for (std::size_t q0 = 0; q0 < p.vn; q0 += params_qb) {
            const std::size_t ql = min_size(params_qb, p.vn - q0);
            // The block of dy^T (ql x params_nr) stays in L1 across all rows of K. np is a multiple
            // of the vector width: full tiles of params_nv vectors, then at most one tile of one
            // vector (16 output channels do not pay for 32).
            for (std::size_t n0 = 0; n0 < np;) {
                const bool full = n0 + params_nr <= np;
                const b_strided bs{dyt + q0 * np + n0, np};
                for (std::size_t k0 = 0; k0 < p.K; k0 += params_mr) {
                    const int mr = int(min_size(params_mr, p.K - k0));
                    a_rows<params_mr> ar;
                    for (int i = 0; i < params_mr; ++i) ar.r[i] = src + p.off[k0 + std::size_t(i < mr ? i : 0)] + q0;
                    float* c = part + k0 * np + n0;
                    if (full) with_mr<params_mr>(mr, [&]<int M>() { tile<M, params_nv>(ql, ar, bs, c, np, true, params_nr); });
                    else with_mr<params_mr>(mr, [&]<int M>() { tile<M, 1>(ql, ar, bs, c, np, true, L); });
                }
                n0 += full ? params_nr : L;
            }
        }
    }

    // ---- dense GEMM --------------------------------------------------------------------------
    static void gemm(const gemm_args& g) {
        constexpr int MR = gemm_mr, NV = gemm_nv;
        constexpr std::size_t NR = gemm_nr;
        const bool rows = g.a_cs == 1;
        for (std::size_t nb = g.n_begin; nb < g.n_end; nb += gemm_nc) {
            const std::size_t ne = min_size(nb + gemm_nc, g.n_end);
            for (std::size_t kb = 0; kb < g.K; kb += gemm_kc) {
                const std::size_t kc = min_size(gemm_kc, g.K - kb);
                const bool acc = g.accumulate || kb > 0;
                // A partial last panel of B is copied, zero-padded, so that no read passes n_end.
                const std::size_t full_end = nb + (ne - nb) / NR * NR;
                if (full_end < ne) {
                    const std::size_t nc = ne - full_end;
                    for (std::size_t k = 0; k < kc; ++k) {
                        const float* s = g.b + (kb + k) * g.ldb + full_end;
                        float* d = g.work + k * NR;
                        for (std::size_t j = 0; j < nc; ++j) d[j] = s[j];
                        for (std::size_t j = nc; j < NR; ++j) d[j] = 0.f;
                    }
                }
                for (std::size_t m0 = g.m_begin; m0 < g.m_end; m0 += MR) {
                    const int mr = int(min_size(MR, g.m_end - m0));
                    for (std::size_t n0 = nb; n0 < ne; n0 += NR) {
                        const std::size_t nc = min_size(NR, ne - n0);
                        const b_strided bs = nc == NR ? b_strided{g.b + kb * g.ldb + n0, g.ldb} : b_strided{g.work, NR};
                        float* c = g.c + m0 * g.ldc + n0;
                        if (rows) {
                            a_rows<MR> ar;
                            for (int i = 0; i < MR; ++i) ar.r[i] = g.a + (m0 + std::size_t(i < mr ? i : 0)) * g.a_rs + kb;
                            with_mr<MR>(mr, [&]<int M>() { tile<M, NV>(kc, ar, bs, c, g.ldc, acc, nc); });
                        } else {
                            const a_cols ac{g.a + kb * g.a_cs + m0, g.a_cs};
                            with_mr<MR>(mr, [&]<int M>() { tile<M, NV>(kc, ac, bs, c, g.ldc, acc, nc); });
                        }
                    }
                }
            }
        }
    }

    // ---- batch norm, one run (one image's plane of one channel) --------------------------------
    // Statistics of a run: its sum and its centred sum of squares about its own mean, from float
    // vector sums (the run is in L1 for the second pass); merged across runs in double by the caller.
    static void bn_run_stats(const float* p, std::size_t len, double* sum_out, double* m2_out) {
        const double s = sum(p, len);
        const double mean_r = s / double(len);
        const float mf = float(mean_r);
        const V mv(mf);
        V a0(0.f), a1(0.f);
        std::size_t i = 0;
        for (; i + 2 * L <= len; i += 2 * L) {
            const V d0 = V::load_unaligned(p + i) - mv, d1 = V::load_unaligned(p + i + L) - mv;
            a0 = xsimd::fma(d0, d0, a0);
            a1 = xsimd::fma(d1, d1, a1);
        }
        for (; i + L <= len; i += L) {
            const V d0 = V::load_unaligned(p + i) - mv;
            a0 = xsimd::fma(d0, d0, a0);
        }
        double m2 = double(xsimd::hadd(a0 + a1));
        for (; i < len; ++i) m2 += (double(p[i]) - mf) * (double(p[i]) - mf);
        // Centred about mf, a rounding away from mean_r: move the centre to mean_r exactly.
        m2 -= double(len) * (mean_r - mf) * (mean_r - mf);
        *sum_out = s;
        *m2_out = m2 > 0 ? m2 : 0.0;
    }

    // xhat = (x - mean) * istd (stored unless xhat is null), y = gamma * xhat + beta (then ReLU).
    // y may equal x. bn_xhat below must stay the same expression (backward recomputes xhat).
    static V bn_xhat(const V& x, const V& mean, const V& istd) { return (x - mean) * istd; }
    static float bn_xhat(float x, float mean, float istd) { return (x - mean) * istd; }
    // gamma * xhat + beta, the value the ReLU sees. Forward (bn_normalize_run) and backward
    // (bn_backward_run*_x) evaluate it with this same function at every index (both walk a plane
    // from its start, so the vector body / scalar tail split is the same), so backward's
    // recomputed ReLU mask is forward's bit for bit. (One rounding where the unit has FMA; on
    // SSE2 xsimd's fma is a multiply and an add, and std::fma in the tail.)
    static V bn_pre_relu(const V& gamma, const V& h, const V& beta) { return xsimd::fma(gamma, h, beta); }
    static float bn_pre_relu(float gamma, float h, float beta) { return std::fma(gamma, h, beta); }

    // a not null: y = (gamma * xhat + beta) + a, rounded as add() rounds it, then ReLU (the
    // residual sum after the block's last batch norm).
    static void bn_normalize_run(const float* x, std::size_t len, float mean, float istd, float gamma, float beta,
                                 const float* a, bool relu, float* y) {
        const V mv(mean), iv(istd), gv(gamma), bv(beta), zero(0.f);
        std::size_t i = 0;
        for (; i + L <= len; i += L) {
            const V h = bn_xhat(V::load_unaligned(x + i), mv, iv);
            V o = bn_pre_relu(gv, h, bv);
            if (a) o = o + V::load_unaligned(a + i);
            if (relu) o = xsimd::select(o > zero, o, zero);
            o.store_unaligned(y + i);
        }
        for (; i < len; ++i) {
            const float h = bn_xhat(x[i], mean, istd);
            float o = bn_pre_relu(gamma, h, beta);
            if (a) o = o + a[i];
            y[i] = relu ? (o > 0.f ? o : 0.f) : o;
        }
    }

    // From the forward's input x: xhat = (x - mean) * istd recomputed exactly as bn_normalize_run
    // computed it, and with relu the ReLU mask too (bn_pre_relu(gamma, xhat, beta) > 0, forward's
    // y > 0): nothing activation-sized is read but x and dy.
    template <bool Relu>
    static void bn_backward_run_sums_x_impl(const float* dy, const float* x, float mean, float istd, float gamma,
                                            float beta, std::size_t len, double* sum_dy, double* sum_dy_xhat) {
        const V zero(0.f), mv(mean), iv(istd), gv(gamma), bv(beta);
        V s0(0.f), s1(0.f);
        std::size_t i = 0;
        for (; i + L <= len; i += L) {
            V dv = V::load_unaligned(dy + i);
            const V h = bn_xhat(V::load_unaligned(x + i), mv, iv);
            if constexpr (Relu) dv = xsimd::select(bn_pre_relu(gv, h, bv) > zero, dv, zero);
            s0 += dv;
            s1 = xsimd::fma(dv, h, s1);
        }
        double a = double(xsimd::hadd(s0)), b = double(xsimd::hadd(s1));
        for (; i < len; ++i) {
            const float h = bn_xhat(x[i], mean, istd);
            const float dv = (!Relu || bn_pre_relu(gamma, h, beta) > 0.f) ? dy[i] : 0.f;
            a += double(dv);
            b += double(dv) * double(h);
        }
        *sum_dy = a;
        *sum_dy_xhat = b;
    }
    template <bool Relu>
    static void bn_backward_run_x_impl(const float* dy, const float* x, float mean, float istd, float gamma, float beta,
                                       std::size_t len, float ka, float kb, float kc, float* dx) {
        const V kav(ka), kbv(kb), kcv(kc), zero(0.f), mv(mean), iv(istd), gv(gamma), bv(beta);
        std::size_t i = 0;
        for (; i + L <= len; i += L) {
            V dv = V::load_unaligned(dy + i);
            const V h = bn_xhat(V::load_unaligned(x + i), mv, iv);
            if constexpr (Relu) dv = xsimd::select(bn_pre_relu(gv, h, bv) > zero, dv, zero);
            (kav * dv - xsimd::fma(kcv, h, kbv)).store_unaligned(dx + i);
        }
        for (; i < len; ++i) {
            const float h = bn_xhat(x[i], mean, istd);
            const float dv = (!Relu || bn_pre_relu(gamma, h, beta) > 0.f) ? dy[i] : 0.f;
            dx[i] = ka * dv - (kb + kc * h);
        }
    }
    static void bn_backward_run_sums_x(const float* dy, const float* x, float mean, float istd, bool relu, float gamma,
                                       float beta, std::size_t len, double* sum_dy, double* sum_dy_xhat) {
        if (relu) bn_backward_run_sums_x_impl<true>(dy, x, mean, istd, gamma, beta, len, sum_dy, sum_dy_xhat);
        else bn_backward_run_sums_x_impl<false>(dy, x, mean, istd, gamma, beta, len, sum_dy, sum_dy_xhat);
    }
    static void bn_backward_run_x(const float* dy, const float* x, float mean, float istd, bool relu, float gamma,
                                  float beta, std::size_t len, float ka, float kb, float kc, float* dx) {
        if (relu) bn_backward_run_x_impl<true>(dy, x, mean, istd, gamma, beta, len, ka, kb, kc, dx);
        else bn_backward_run_x_impl<false>(dy, x, mean, istd, gamma, beta, len, ka, kb, kc, dx);
    }

    // a not null: y = (scale * x + shift) + a, then ReLU (as bn_normalize_run).
    static void bn_infer_run(const float* x, std::size_t len, float scale, float shift, const float* a, bool relu,
                             float* y) {
        const V sv(scale), tv(shift), zero(0.f);
        std::size_t i = 0;
        for (; i + L <= len; i += L) {
            V res = xsimd::fma(sv, V::load_unaligned(x + i), tv);
            if (a) res = res + V::load_unaligned(a + i);
            if (relu) res = xsimd::select(res > zero, res, zero);
            res.store_unaligned(y + i);
        }
        for (; i < len; ++i) {
            float res = scale * x[i] + shift;
            if (a) res = res + a[i];
            y[i] = relu ? (res > 0.f ? res : 0.f) : res;
        }
    }

    // ---- ReLU ----------------------------------------------------------------------------------
    static void relu_forward(std::size_t n, const float* x, float* y) {
        const V zero(0.f);
        std::size_t i = 0;
        for (; i + L <= n; i += L) {
            const V v = V::load_unaligned(x + i);
            xsimd::select(v > zero, v, zero).store_unaligned(y + i);
        }
        for (; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
    }
    static void relu_backward(std::size_t n, const float* y, const float* dy, float* dx) {
        const V zero(0.f);
        std::size_t i = 0;
        for (; i + L <= n; i += L)
            xsimd::select(V::load_unaligned(y + i) > zero, V::load_unaligned(dy + i), zero).store_unaligned(dx + i);
        for (; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
    }
    // y = a + b (then ReLU); y may equal a or b.
    static void add(std::size_t n, const float* a, const float* b, float* y, bool relu) {
        const V zero(0.f);
        std::size_t i = 0;
        if (relu)
            for (; i + L <= n; i += L) {
                const V v = V::load_unaligned(a + i) + V::load_unaligned(b + i);
                xsimd::select(v > zero, v, zero).store_unaligned(y + i);
            }
        else
            for (; i + L <= n; i += L) (V::load_unaligned(a + i) + V::load_unaligned(b + i)).store_unaligned(y + i);
        for (; i < n; ++i) {
            const float v = a[i] + b[i];
            y[i] = relu ? (v > 0.f ? v : 0.f) : v;
        }
    }
    static void relu_backward_copy(std::size_t n, const float* y, const float* dy, float* dx, float* copy) {
        const V zero(0.f);
        std::size_t i = 0;
        for (; i + L <= n; i += L) {
            const V v = xsimd::select(V::load_unaligned(y + i) > zero, V::load_unaligned(dy + i), zero);
            v.store_unaligned(dx + i);
            v.store_unaligned(copy + i);
        }
        for (; i < n; ++i) copy[i] = dx[i] = y[i] > 0.f ? dy[i] : 0.f;
    }

    static const isa_table* table(const char* name) {
        static const isa_table t = {
            name,
            L,
            std::size_t(conv_mr),
            conv_nr,
            std::size_t(conv_mr_small),
            conv_nr_small,
            std::size_t(params_mr),
            params_nr,
            std::size_t(gemm_mr),
            gemm_nr,
            gemm_kc * gemm_nr,
            &conv_pass_image,
            &conv_data_general_image,
            &conv_params_image,
            &wino_chunk,
            &wino_params_chunk,
            &gemm,
            &bn_run_stats,
            &bn_normalize_run,
            &bn_backward_run_sums_x,
            &bn_backward_run_x,
            &bn_infer_run,
            &relu_forward,
            &relu_backward,
            &relu_backward_copy,
            &add,
        };
        return &t;
    }
};

}  // namespace typenet::kernels::fast::TYPENET_FAST_ISA_NS

#undef TYPENET_UNROLL
