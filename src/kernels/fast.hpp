// src/kernels/fast.hpp - internal: the table of float kernels one instruction set provides.
//
// The fast float path is split in two:
//   - fast_impl.hpp: the arithmetic (GEMM micro-kernels, per-image convolution passes, batch-norm
//     and ReLU loops), generic in the xsimd architecture type and compiled once per instruction set
//     (fast_avx512.cpp, fast_avx2.cpp, fast_sse2.cpp). Each of those translation units exports one
//     isa_table and touches no shared state and no standard containers.
//   - the public typenet::kernels functions, split by operation: conv.cpp (convolutions),
//     winograd.cpp (Winograd), dense.cpp, pool_elementwise.cpp (pooling, ReLU, add), optim.cpp
//     (optimizer updates) and norm.cpp (normalisation). They prepare
//     per-call data (packed weights, offset tables), own the scratch memory, and combine per-chunk
//     partial sums in a fixed order; runtime.hpp / runtime.cpp pick the table (xsimd::dispatch, or
//     the ISA pinned with set_isa) and run the OpenMP threads.
//
// Nothing here is installed or part of the public interface.
#pragma once

#include <cstddef>
#include <cstdint>

#include "typenet/kernels.hpp"

namespace typenet::kernels::fast {

// One convolution "pass" as an implicit GEMM over one image:
//   out_virtual[m][q] = sum_k A[m][k] * src[off[k] + q],   m < m_pad, q < vn_pad
// then out[m][oh][ow] = out_virtual[m][oh * vwidth + ow] (+ bias[m]) for ow < out_w.
// src is built from the pass's input tensor either as a zero-padded copy (implicit = true, stride 1;
// layout below; vwidth = src_w, so the k-th "row" of the im2col matrix is the padded input shifted by
// off[k] = c * src_plane + u * src_w + v) or as an explicit im2col matrix (implicit = false: row k
// at k * vn_pad, vwidth = out_w).
// Strided (phased = true): the padded input P is split into phase planes (those a tap reads:
// min(stride, k)^2 of the stride^2)
// Q_ab[i][j] = P[i * s + a][j * s + b] of qh x qw (qh = out_h + (k - 1) / s, qw = out_w + (k - 1) / s),
// so that P[oh * s + u][ow * s + v] = Q_{u % s, v % s}[oh + u / s][ow + v / s]: a stride-s
// convolution is a stride-1 one over the phase planes (vwidth = qw, off[k] = c * plane +
// ((u % s) * phases + v % s) * qh * qw + (u / s) * qw + v / s), with no im2col matrix.
// Forward uses it with the layer's weights; backward-data at stride 1 uses it with the flipped,
// transposed weights on dy (a "full" convolution with pad' = kernel - 1 - pad).
struct conv_pass {
    std::size_t in_channels, in_h, in_w;     // the tensor the pass reads
    std::size_t out_channels, out_h, out_w;  // the tensor the pass writes
    std::size_t kernel, stride, pad;
    bool implicit;
    bool phased;                             // implicit over stride^2 phase planes (stride > 1)
    std::size_t qh, qw;                      // phase plane size (phased)
    std::size_t phases;                      // phases per axis that a kernel tap reads: min(stride, kernel)
    // Padded input (implicit): src_h = in_h + 2 pad rows of pitch src_w = in_w + pad, each
    // [x(row, 0 .. in_w - 1), pad zeros], after `pad` leading zeros: element (r, c) of the padded
    // image, c in [-pad, in_w + pad), is at pad + r * src_w + c of its channel's plane.
    std::size_t src_h, src_w;
    std::size_t src_plane() const { return phased ? phases * phases * qh * qw : pad + src_h * src_w; }
    std::size_t vwidth;         // row pitch of the virtual output
    std::size_t vn, vn_pad;     // virtual outputs per channel: (out_h - 1) * vwidth + out_w, rounded up to the panel width
    std::size_t K;              // reduction length in_channels * kernel^2
    std::size_t mr;             // tile height: isa_table::conv_mr, or conv_mr_small for few out channels
    std::size_t m_pad;          // out_channels rounded up to the tile height
    std::size_t src_floats;     // floats of src per image (with zeroed slack for the last panel)
    const std::size_t* off;     // K offsets into src
    const float* apack;         // weights packed in m_pad / MR panels of (K, MR)
    const float* bias;          // out_channels or null
    bool accumulate;            // out += the result (else out = it)
};

// Backward-data for stride != 1 (or pad >= kernel): dcol = W^T dy as a GEMM, then col2im (through
// phase planes: fast_impl.hpp).
//   dcol[k][q] = sum_o WT[k][o] * dyp[o * vn_pad + q]; dx = col2im(dcol)
struct conv_data_general {
    conv_geometry g;
    std::size_t K, k_pad, vn, vn_pad;
    const std::size_t* off;     // out_channels offsets o * vn_pad
    const float* apack;         // W^T packed in k_pad / MR panels of (out_channels, MR)
    bool accumulate;            // dx += the result (else dx = it)
    // work floats per image: dy copy, dcol, stride^2 phase planes of one channel, one row of dx
    std::size_t work_floats() const {
        const std::size_t s = g.stride, q = ((g.in_height + s - 1) / s) * ((g.in_width + s - 1) / s);
        return (g.out_channels * vn_pad + 15) / 16 * 16 + k_pad * vn_pad + s * s * q + g.in_width;
    }
};

// Backward-params of one image, accumulated into a partial sum of dW^T (K rows, n_pad columns):
//   part[k][o] += sum_q src[off[k] + q] * dyT[q][o]      (dyT: the image's dy transposed, zero
//   where q is a padding column of the virtual layout); part_bias[o] += sum of dy[o] (if non-null).
struct conv_params_pass {
    conv_pass fwd;              // source construction (implicit or im2col) and offsets of the forward pass
    std::size_t n_pad;          // out_channels rounded up to the vector width
};

// Winograd F(MxM, 3x3) (Lavin and Gray 2016) for 3x3 convolutions with stride 1 and padding 1
// on maps of even height and width, out size = in size: forward, and backward-data (the
// flipped, transposed kernel has the same shape). Per MxM output tile t, the (M+2)x(M+2) input
// patch d_t goes to V_t = B^T d_t B; per position xi of that domain, M_xi = U_xi V_xi is a GEMM
// over the input channels (U = G g G^T per out/in channel pair, transformed once per call); the
// outputs are Y_t = A^T M_t A (+ bias). Multiply-adds per output and channel pair: 4 for
// F(2x2) (16 per 2x2 tile), 2.25 for F(4x4) (36 per 4x4 tile), against 9 for the direct
// convolution. M = 4 where the map's sides are multiples of 4 and it has at least 256 pixels,
// else 2. A chunk of `images` images is done at once so that every GEMM has enough columns.
struct wino_pass {
    std::size_t in_channels, out_channels, h, w;  // the pass reads (in_channels, h, w), writes (out_channels, h, w)
    std::size_t m;                                // output tile side M: 2 or 4 ((M + 2)^2 positions xi)
    std::size_t tw, tiles, tiles_pad;             // tiles per row (w / M), per image, per image rounded up to lanes
    std::size_t images;                           // images per chunk
    std::size_t n;                                // GEMM columns of a full chunk: images * tiles_pad
    // Pitches of V and M: rows (channels) ld floats apart, positions xi v_xi / m_xi floats apart.
    // None is a multiple of 4 KB: 16 streams 4 KB apart would share one set of the L1 cache.
    std::size_t ld, v_xi, m_xi;
    std::size_t mr, m_pad;                        // GEMM tile height; out_channels rounded up to it
    std::size_t plane;                            // floats per input plane of wino_planes: (h / M + 1) * tw
    std::size_t x_floats, z_floats;               // scratch: M (M + 2) input planes (+ slack); M^2 output planes + 2 w
    const std::size_t* off;                       // in_channels offsets c * ld (rows of V_xi)
    const float* upack;                           // U: (M + 2)^2 x (m_pad / mr panels of (in_channels, mr))
    bool accumulate;                              // out += the result (else out = it); bias must be null
    const float* bias;                            // out_channels or null
    std::size_t positions() const { return (m + 2) * (m + 2); }
    std::size_t work_floats() const { return x_floats + z_floats + positions() * (v_xi + m_xi); }
};

// Backward-params of the same convolutions. Per output tile dM_t = A dY_t A^T ((M+2)x(M+2));
// per position xi, dU_xi[c][o] = sum over the tiles t of V_xi[c][t] dM_xi[o][t]: (M+2)^2 GEMMs
// whose reduction runs over the tiles, added to part[(xi * in_channels + c) * ko_pad + o]. With
// two or more vectors of output channels dM_xi is transposed (tiles x ko_pad) and each GEMM
// runs as outer products into vector accumulators over output channels, held over the whole
// reduction (64 channels at 8x8: GEMMs 1.9 -> 1.4 ms per batch of 128 against the dot-product
// form, whose sums across vector lanes end every chunk); with one vector the dot products, with
// both operands as they lie, are faster. winograd.cpp (wino_backward_params) sums the partials of fixed image groups in order and adds G^T dU G to dw.
struct wino_params_pass {
    wino_pass fwd;       // the input side: planes, V and its pitches, m (fwd.images images per call)
    std::size_t dm_xi;   // pitch per xi of dM: out_channels rows of fwd.ld
    std::size_t ko_pad;  // out_channels rounded up to whole vectors: the row pitch of dM^T and of part
    std::size_t work_floats() const {
        return fwd.x_floats + fwd.z_floats + fwd.positions() * (fwd.v_xi + dm_xi) + fwd.n * ko_pad;
    }
};

// C (m_begin..m_end, n_begin..n_end) (+)= A (M x K) * B (K x N) over the whole K, where
// A(i, k) = a[i * a_rs + k * a_cs] with a_rs == 1 or a_cs == 1, B(k, j) = b[k * ldb + j].
// Columns of B beyond n_end are never read. work: at least gemm_work_floats floats.
struct gemm_args {
    std::size_t m_begin, m_end, n_begin, n_end, K;
    const float* a;
    std::size_t a_rs, a_cs;
    const float* b;
    std::size_t ldb;
    float* c;
    std::size_t ldc;
    bool accumulate;
    float* work;
};

struct isa_table {
    const char* name;
    std::size_t lanes;
    std::size_t conv_mr, conv_nr;        // tile of the convolution passes (rows = out channels, cols = pixels)
    std::size_t conv_mr_small, conv_nr_small;  // the same for passes with out_channels <= conv_mr_small
    std::size_t params_mr, params_nr;    // tile of backward-params (rows = K, cols = out channels)
    std::size_t gemm_mr, gemm_nr;        // tile of the dense GEMM
    std::size_t gemm_work_floats;

    // Per image; work: per-thread scratch sized by conv.cpp (source buffer + outputs).
    void (*conv_pass_image)(const conv_pass& p, const float* in, float* out, float* work);
    void (*conv_data_general_image)(const conv_data_general& p, const float* dy, float* dx, float* work);
    void (*conv_params_image)(const conv_params_pass& p, const float* x, const float* dy, float* part,
                              float* part_bias, float* work);
    // nimg <= p.images consecutive images; work: p.work_floats().
    void (*wino_chunk)(const wino_pass& p, const float* in, float* out, std::size_t nimg, float* work);
    // Adds the nimg <= p.fwd.images images' dU to part and their sums of dy to part_bias (if not null).
    void (*wino_params_chunk)(const wino_params_pass& p, const float* x, const float* dy, std::size_t nimg, float* part,
                              float* part_bias, float* work);

    void (*gemm)(const gemm_args& a);

    // Normalisation, one run = one image's plane of one channel (len = spatial values). The caller
    // merges run statistics across a block in a fixed order (norm.cpp).
    // stats: the run's sum and its sum of squares about its own mean.
    void (*bn_run_stats)(const float* x, std::size_t len, double* sum, double* m2);
    // xhat = (x - mean) * istd; y = gamma * xhat + beta, plus a[i] if a is not null (rounded as add
    // rounds it), then ReLU if relu. y may equal x or a.
    void (*bn_normalize_run)(const float* x, std::size_t len, float mean, float istd, float gamma, float beta,
                             const float* a, bool relu, float* y);
    // The VJP's two passes, from the forward's input x: xhat = (x - mean) * istd recomputed exactly as
    // bn_normalize_run computed it, and with relu the mask too (gamma * xhat + beta > 0, as
    // bn_normalize_run rounded it: the forward's y > 0). First the sums of dm (dy masked) and of
    // dm * xhat, then dx = ka * dm - (kb + kc * xhat). dx may equal dy or x.
    void (*bn_backward_run_sums_x)(const float* dy, const float* x, float mean, float istd, bool relu, float gamma,
                                   float beta, std::size_t len, double* sum_dy, double* sum_dy_xhat);
    void (*bn_backward_run_x)(const float* dy, const float* x, float mean, float istd, bool relu, float gamma,
                              float beta, std::size_t len, float ka, float kb, float kc, float* dx);
    // y = scale * x + shift, plus a[i] if a is not null, then ReLU if relu. y may equal x or a.
    void (*bn_infer_run)(const float* x, std::size_t len, float scale, float shift, const float* a, bool relu,
                         float* y);

    void (*relu_forward)(std::size_t n, const float* x, float* y);
    void (*relu_backward)(std::size_t n, const float* y, const float* dy, float* dx);
    void (*relu_backward_copy)(std::size_t n, const float* y, const float* dy, float* dx, float* copy);
    void (*add)(std::size_t n, const float* a, const float* b, float* y, bool relu);
};

// The tables compiled into this build (null when the instruction set was not compiled in).
const isa_table* table_avx512();
const isa_table* table_avx2();
const isa_table* table_sse2();

}  // namespace typenet::kernels::fast
