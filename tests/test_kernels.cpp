// tests/test_kernels.cpp - the fast float kernels against the reference kernels, for every
// instruction set this CPU supports, on awkward sizes; determinism across runs and threads.
//
// The float bound. The reference runs in double on the SAME float inputs (converted exactly),
// so its own error (~1e-16 relative) is negligible and the difference is the fast kernel's
// float32 rounding. For anything that is a sum of n products (convolutions, dense layers,
// weight gradients) we use the classical worst-case bound of floating-point summation, valid
// for every summation order, blocking and thread split, with or without FMA:
//     |fast - exact| <= gamma(n + 2) * sum_i |a_i * b_i|,   gamma(m) = m u / (1 - m u),
// u = 2^-24 (unit roundoff of float32); n counts every term, +1 for the bias or for the value
// the gradient is accumulated into, +1 of slack. sum |a_i * b_i| is computed exactly enough by
// running the double reference on |inputs|. The bound never flakes (it is a theorem, not a
// statistic), and it still catches indexing bugs: a wrong or missing term changes an output by
// about sum|terms| / n, far above gamma(n) * sum|terms| for the n <= ~4000 used here.
// Batch norm outputs are not sums; their bounds propagate the error of the per-channel sums
// (floats within a run of `spatial` values, doubles across runs) to first order, with
// G = (spatial + 16) u as the relative error of a run sum; see bn_tolerances below.
// ReLU and max pooling do no arithmetic: they must match the float reference bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "typenet/kernels.hpp"
#include "typenet/kernels_reference.hpp"

namespace k = typenet::kernels;
namespace ref = typenet::kernels::reference;

namespace {

constexpr double u32 = 1.0 / 16777216.0;  // 2^-24
double gamma_n(double n) { return n * u32 / (1.0 - n * u32); }

std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float scale = 1.f, float offset = 0.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v) x = offset + scale * d(g);
    return v;
}
std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<double> abs_double(const std::vector<float>& v) {
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) r[i] = std::fabs(double(v[i]));
    return r;
}
bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](float x, float y) {
               std::uint32_t i, j;
               std::memcpy(&i, &x, 4);
               std::memcpy(&j, &y, 4);
               return i == j;
           });
}

// Counts the elements with |fast - ref| > tol[i]; reports the first one.
std::size_t count_outside(const std::vector<float>& fast, const std::vector<double>& exact, const std::vector<double>& tol,
                          const std::string& what) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < fast.size(); ++i) {
        const double err = std::fabs(double(fast[i]) - exact[i]);
        if (!(err <= tol[i])) {
            if (bad == 0)
                UNSCOPED_INFO(what << ": element " << i << " fast " << fast[i] << " exact " << exact[i] << " |err| "
                                   << err << " > tol " << tol[i]);
            ++bad;
        }
    }
    return bad;
}

// Runs f once for every instruction set this CPU supports (then restores "auto").
template <class F>
void for_each_isa(F&& f) {
    auto isas = k::supported_isas();
    if (isas.empty()) isas.push_back("auto");
    for (const auto& name : isas) {
        k::set_isa(name);
        INFO("isa " << k::isa_name());
        f();
    }
    k::set_isa("auto");
}

// ---- convolutions ---------------------------------------------------------------------------

struct conv_case {
    std::size_t batch, cin, h, w, cout, kernel, stride, pad;
};

k::conv_geometry geometry(const conv_case& c) {
    const std::size_t oh = (c.h + 2 * c.pad - c.kernel) / c.stride + 1, ow = (c.w + 2 * c.pad - c.kernel) / c.stride + 1;
    return {c.batch, c.cin, c.h, c.w, c.cout, oh, ow, c.kernel, c.stride, c.pad};
}

const std::vector<conv_case> conv_cases = {
    // batch, cin, h, w, cout, k, stride, pad
    {1, 3, 7, 9, 5, 3, 1, 1},      // 3x3 same, odd sizes, batch 1
    {3, 5, 8, 8, 7, 1, 1, 0},      // 1x1
    {3, 4, 11, 10, 6, 5, 1, 2},    // 5x5 same
    {2, 3, 9, 9, 4, 3, 2, 1},      // stride 2
    {3, 5, 8, 8, 7, 1, 2, 0},      // 1x1 stride 2 (a projection shortcut): phase planes
    {2, 4, 7, 9, 5, 1, 2, 0},      // 1x1 stride 2 on odd sizes
    {2, 3, 10, 11, 4, 3, 3, 1},    // stride 3
    {3, 2, 10, 7, 3, 3, 1, 0},     // valid
    {1, 6, 13, 13, 9, 5, 2, 0},    // 5x5 valid stride 2
    {2, 3, 8, 8, 4, 2, 2, 0},      // even kernel
    {2, 3, 5, 5, 2, 3, 1, 2},      // pad = k - 1
    {2, 3, 5, 6, 2, 3, 1, 3},      // pad > k - 1 (the general backward-data path)
    {1, 1, 1, 1, 1, 1, 1, 0},      // a single pixel
    {2, 17, 6, 6, 33, 3, 1, 1},    // channel counts off every tile size
    {3, 32, 16, 16, 64, 3, 1, 1},  // a CNN layer, smaller batch
    {2, 57, 6, 6, 31, 3, 1, 1},    // K = 513: two blocks of conv_kc = 256 and one of 1 (fast_impl.hpp)
    {129, 3, 5, 6, 5, 3, 1, 1},    // batch 129: more than the chunks of backward-params
    // Winograd cases (3x3, stride 1, pad 1, even maps of >= 64 pixels, >= 8 channels both sides);
    // F(2x2) tiles:
    {2, 8, 8, 10, 9, 3, 1, 1},     // 4 x 5 tiles: not a multiple of the vector width, h != w
    {5, 9, 2, 2, 8, 3, 1, 1},      // under 64 pixels: stays direct with Winograd on
    {3, 10, 8, 8, 12, 3, 1, 1},    // 4 tiles per row (ResNet's last stage); 16 images per chunk
    {2, 8, 6, 34, 8, 3, 1, 1},     // 17 tiles per row: a permuted vector and a scalar tail
    {2, 8, 12, 12, 8, 3, 1, 1},    // multiples of 4 but under 256 pixels: F(2x2)
    {40, 8, 8, 8, 40, 3, 1, 1},    // two image groups of backward-params; 40 out channels: 2.5 vectors
    {2, 65, 16, 16, 8, 3, 1, 1},   // 65 channels on one side: F(2x2) on a map F(4x4) would take
    // F(4x4) tiles (sides multiples of 4, >= 256 pixels, <= 64 channels on both sides):
    {3, 16, 32, 32, 16, 3, 1, 1},  // ResNet's first stage: 8 tiles per row
    {2, 12, 16, 16, 8, 3, 1, 1},   // 4 tiles per row
    {2, 8, 16, 20, 9, 3, 1, 1},    // 4 x 5 tiles, h != w, odd out channels
    {2, 9, 8, 64, 8, 3, 1, 1},     // 16 tiles per row (whole-vector permutes), 2 tile rows
    {2, 47, 16, 16, 64, 3, 1, 1},  // channel sums in blocks of 32: 32 + 15 forward, 2 x 32 backward-data
    {2, 8, 7, 9, 8, 3, 1, 1},      // odd map: stays direct with Winograd on
};

// The rule of kernels.hpp (set_winograd), restated here so the tests check the kernels against
// the documented rule: does this convolution's forward and backward-params (or, with backward =
// true, its backward-data) take the Winograd path when it is on?
bool winograd_path(const conv_case& c, bool backward) {
    const std::size_t in = backward ? c.cout : c.cin, out = backward ? c.cin : c.cout;
    return c.kernel == 3 && c.stride == 1 && c.pad == 1 && c.h % 2 == 0 && c.w % 2 == 0 && c.h * c.w >= 64 && in >= 8 &&
           out >= 8;
}

// |G|, |B^T|, |A^T| of Winograd F(mxm, 3x3), and |B^T| |d| |B| of one input patch: the magnitude
// computations below share them.
struct abs_winograd {
    std::size_t m, A, P;
    explicit abs_winograd(std::size_t m_) : m(m_), A(m_ + 2), P((m_ + 2) * (m_ + 2)) {}
    double G(std::size_t i, std::size_t k) const {
        static const double g2[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, .5, .5}, {0, 0, 1}};
        static const double g4[6][3] = {{1. / 4, 0, 0}, {1. / 6, 1. / 6, 1. / 6}, {1. / 6, 1. / 6, 1. / 6},
                                        {1. / 24, 1. / 12, 1. / 6}, {1. / 24, 1. / 12, 1. / 6}, {0, 0, 1}};
        return m == 4 ? g4[i][k] : g2[i][k];
    }
    double BT(std::size_t i, std::size_t r) const {
        static const double b2[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};
        static const double b4[6][6] = {{4, 0, 5, 0, 1, 0}, {0, 4, 4, 1, 1, 0}, {0, 4, 4, 1, 1, 0},
                                        {0, 2, 1, 2, 1, 0}, {0, 2, 1, 2, 1, 0}, {0, 4, 0, 5, 0, 1}};
        return m == 4 ? b4[i][r] : b2[i][r];
    }
    double AT(std::size_t a, std::size_t i) const {
        static const double a2[2][4] = {{1, 1, 1, 0}, {0, 1, 1, 1}};
        static const double a4[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, 1, 2, 2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, 1, 8, 8, 1}};
        return m == 4 ? a4[a][i] : a2[a][i];
    }
    // V[i * A + j] = (|B^T| |d| |B|)[i][j], d the (m+2)^2 patch of tile (ti, tj) of channel c of
    // image b in ax (cin channels of h x w), zero outside the image.
    void input(const std::vector<double>& ax, std::size_t b, std::size_t cin, std::size_t c, std::size_t h, std::size_t w,
               std::size_t ti, std::size_t tj, double* V) const {
        for (std::size_t i = 0; i < A; ++i)
            for (std::size_t j = 0; j < A; ++j) {
                double s = 0;
                for (std::size_t r = 0; r < A; ++r)
                    for (std::size_t q = 0; q < A; ++q) {
                        const std::ptrdiff_t y = std::ptrdiff_t(m * ti + r) - 1, x = std::ptrdiff_t(m * tj + q) - 1;
                        if (y < 0 || x < 0 || y >= std::ptrdiff_t(h) || x >= std::ptrdiff_t(w)) continue;
                        s += BT(i, r) * ax[((b * cin + c) * h + std::size_t(y)) * w + std::size_t(x)] * BT(j, q);
                    }
                V[i * A + j] = s;
            }
    }
};

// The output tile side of the Winograd path (kernels.hpp): 4 when both sides are multiples of 4,
// the map has at least 256 pixels and neither side more than 64 channels, else 2.
std::size_t winograd_tile(const conv_case& c) {
    return c.h % 4 == 0 && c.w % 4 == 0 && c.h * c.w >= 256 && std::max(c.cin, c.cout) <= 64 ? 4 : 2;
}

// The error bound of Winograd F(MxM, 3x3). Per output tile, y = A^T [sum_c (G g_c G^T) .*
// (B^T d_c B)] A + bias. Every value on the way is at most C + 12 (F(2x2)) or C + 19 (F(4x4))
// roundings deep: U rounded once from double; V two 1-D transforms of up to 2 (4) roundings each;
// the products and the sum over C channels; two 1-D output transforms of up to 2 (4) roundings;
// the bias. With the argument of the float bound above, |fast - exact| <= gamma(C + 10 + 7 (M - 2))
// (2 of slack) times the same computation on |inputs| with |A|, |B|, |G|. g(o, c, u, v) gives
// |kernel| from input channel c to output channel o of the pass.
template <class G>
std::vector<double> winograd_magnitude(std::size_t m, std::size_t batch, std::size_t cin, std::size_t cout, std::size_t h,
                                       std::size_t w, const std::vector<double>& ax, G&& g, const std::vector<double>* abias) {
    const abs_winograd W(m);
    const std::size_t A = W.A, P = W.P;
    std::vector<double> U(cout * cin * P);
    for (std::size_t o = 0; o < cout; ++o)
        for (std::size_t c = 0; c < cin; ++c)
            for (std::size_t i = 0; i < A; ++i)
                for (std::size_t j = 0; j < A; ++j) {
                    double s = 0;
                    for (int u = 0; u < 3; ++u)
                        for (int v = 0; v < 3; ++v) s += W.G(i, u) * g(o, c, u, v) * W.G(j, v);
                    U[(o * cin + c) * P + i * A + j] = s;
                }
    std::vector<double> mag(batch * cout * h * w), V(cin * P), Mt(P);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t ti = 0; ti < h / m; ++ti)
            for (std::size_t tj = 0; tj < w / m; ++tj) {
                for (std::size_t c = 0; c < cin; ++c) W.input(ax, b, cin, c, h, w, ti, tj, &V[c * P]);
                for (std::size_t o = 0; o < cout; ++o) {
                    std::fill(Mt.begin(), Mt.end(), 0.0);
                    for (std::size_t c = 0; c < cin; ++c)
                        for (std::size_t e = 0; e < P; ++e) Mt[e] += U[(o * cin + c) * P + e] * V[c * P + e];
                    for (std::size_t a = 0; a < m; ++a)
                        for (std::size_t bb = 0; bb < m; ++bb) {
                            double s = abias ? (*abias)[o] : 0.0;
                            for (std::size_t i = 0; i < A; ++i)
                                for (std::size_t j = 0; j < A; ++j) s += W.AT(a, i) * Mt[i * A + j] * W.AT(bb, j);
                            mag[((b * cout + o) * h + m * ti + a) * w + m * tj + bb] = s;
                        }
                }
            }
    return mag;
}
// The magnitude for backward-params by Winograd: dw[o][c] = sum over images and tiles of
// G^T [(A dY_t A^T) .* (B^T d_t B)] G, on |inputs| with |A|, |B|, |G|.
std::vector<double> winograd_params_magnitude(std::size_t m, std::size_t batch, std::size_t cin, std::size_t cout,
                                              std::size_t h, std::size_t w, const std::vector<double>& ax,
                                              const std::vector<double>& ady) {
    const abs_winograd W(m);
    const std::size_t A = W.A, P = W.P;
    std::vector<double> dU(cout * cin * P, 0.0), V(cin * P), Mt(cout * P);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t ti = 0; ti < h / m; ++ti)
            for (std::size_t tj = 0; tj < w / m; ++tj) {
                for (std::size_t c = 0; c < cin; ++c) W.input(ax, b, cin, c, h, w, ti, tj, &V[c * P]);
                for (std::size_t o = 0; o < cout; ++o)
                    for (std::size_t i = 0; i < A; ++i)
                        for (std::size_t j = 0; j < A; ++j) {
                            double s = 0;
                            for (std::size_t a = 0; a < m; ++a)
                                for (std::size_t bb = 0; bb < m; ++bb)
                                    s += W.AT(a, i) * ady[((b * cout + o) * h + m * ti + a) * w + m * tj + bb] * W.AT(bb, j);
                            Mt[o * P + i * A + j] = s;
                        }
                for (std::size_t o = 0; o < cout; ++o)
                    for (std::size_t c = 0; c < cin; ++c)
                        for (std::size_t e = 0; e < P; ++e) dU[(o * cin + c) * P + e] += Mt[o * P + e] * V[c * P + e];
            }
    std::vector<double> mag(cout * cin * 9);
    for (std::size_t oc = 0; oc < cout * cin; ++oc)
        for (std::size_t u = 0; u < 3; ++u)
            for (std::size_t v = 0; v < 3; ++v) {
                double s = 0;
                for (std::size_t i = 0; i < A; ++i)
                    for (std::size_t j = 0; j < A; ++j) s += W.G(i, u) * dU[oc * P + i * A + j] * W.G(j, v);
                mag[oc * 9 + u * 3 + v] = s;
            }
    return mag;
}
double winograd_gamma(std::size_t m, std::size_t channels) { return gamma_n(double(channels) + 10 + 7 * double(m - 2)); }

// Runs f(winograd_on) with set_winograd(true) and (false), then restores the default (on).
template <class F>
void for_each_conv_algorithm(F&& f) {
    for (const bool on : {true, false}) {
        k::set_winograd(on);
        INFO("winograd " << (on ? "on" : "off"));
        f(on);
    }
    k::set_winograd(true);
}

TEST_CASE("fast conv2d forward matches the double reference within the float bound", "[kernels][conv]") {
    for (const auto& c : conv_cases) {
        const auto g = geometry(c);
        INFO("conv batch " << c.batch << " " << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << " k" << c.kernel
                           << " s" << c.stride << " p" << c.pad);
        const auto x = random_floats(c.batch * c.cin * c.h * c.w, 1), w = random_floats(c.cout * c.cin * c.kernel * c.kernel, 2, 0.3f),
                   bias = random_floats(c.cout, 3);
        const std::size_t n_out = c.batch * c.cout * g.out_height * g.out_width;
        std::vector<double> exact(n_out), mag(n_out);
        ref::conv2d_forward<double>(g, to_double(x).data(), to_double(w).data(), to_double(bias).data(), exact.data());
        ref::conv2d_forward<double>(g, abs_double(x).data(), abs_double(w).data(), abs_double(bias).data(), mag.data());
        const double gam = gamma_n(double(c.cin * c.kernel * c.kernel) + 2);
        std::vector<double> tol(n_out), wtol;
        for (std::size_t i = 0; i < n_out; ++i) tol[i] = gam * mag[i];
        if (winograd_path(c, false)) {
            const auto aw = abs_double(w), ab = abs_double(bias);
            wtol = winograd_magnitude(winograd_tile(c), c.batch, c.cin, c.cout, c.h, c.w, abs_double(x),
                                      [&](std::size_t o, std::size_t ci, int u, int v) { return aw[(o * c.cin + ci) * 9 + u * 3 + v]; },
                                      &ab);
            for (auto& t : wtol) t *= winograd_gamma(winograd_tile(c), c.cin);
        }
        for_each_conv_algorithm([&](bool wino) {
            const auto& t = wino && winograd_path(c, false) ? wtol : tol;
            for_each_isa([&] {
                std::vector<float> y(n_out, 1e30f), y_nobias(n_out);
                k::conv2d_forward<float>(g, x.data(), w.data(), bias.data(), y.data());
                CHECK(count_outside(y, exact, t, "y") == 0);
                // Without bias: compare against the reference minus the bias (the bound with the
                // bias's magnitude still holds).
                k::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y_nobias.data());
                std::vector<double> exact_nb(exact);
                for (std::size_t i = 0; i < n_out; ++i) exact_nb[i] -= bias[(i / (g.out_height * g.out_width)) % c.cout];
                CHECK(count_outside(y_nobias, exact_nb, t, "y without bias") == 0);
            });
        });
    }
}

TEST_CASE("conv2d_forward_bn_stats: the same y, and batch norm from its statistics equals batch norm alone, bit for bit",
          "[kernels][conv][bn]") {
    for (const auto& c : conv_cases) {
        const auto g = geometry(c);
        INFO("conv batch " << c.batch << " " << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << " k" << c.kernel
                           << " s" << c.stride << " p" << c.pad);
        if (c.batch < 2) continue;  // train-mode batch norm needs two samples
        const std::size_t plane = g.out_height * g.out_width, n_out = c.batch * c.cout * plane;
        const auto x = random_floats(c.batch * c.cin * c.h * c.w, 7), w = random_floats(c.cout * c.cin * c.kernel * c.kernel, 8, 0.3f),
                   gamma = random_floats(c.cout, 9, 1.f, 1.f), beta = random_floats(c.cout, 10);
        const k::norm_geometry bg{c.batch, c.cout, plane, c.batch, 1};
        for_each_conv_algorithm([&](bool) {
            for_each_isa([&] {
                std::vector<float> y(n_out), y2(n_out, 1e30f);
                std::vector<double> stats(2 * c.batch * c.cout, -1.0);
                k::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y.data());
                REQUIRE(k::conv2d_forward_bn_stats<float>(g, x.data(), w.data(), nullptr, y2.data(), stats.data()));
                CHECK(bit_identical(y2, y));
                for (const bool relu : {false, true}) {
                    std::vector<float> a(n_out), b(n_out), ia(c.cout), ib(c.cout), ma(c.cout), mb(c.cout), va(c.cout),
                        vb(c.cout);
                    auto bn = [&](std::vector<float>& out, std::vector<float>& is, std::vector<float>& m,
                                  std::vector<float>& v, const double* run_stats) {
                        k::norm_statistics<float>(bg, y.data(), 1e-5, m.data(), v.data(), is.data(), run_stats);
                        k::norm_apply<float>(bg, y.data(), m.data(), is.data(), gamma.data(), beta.data(), false, nullptr,
                                             relu, out.data());
                    };
                    bn(a, ia, ma, va, nullptr);
                    bn(b, ib, mb, vb, stats.data());
                    CHECK(bit_identical(b, a));
                    CHECK(bit_identical(ib, ia));
                    CHECK(bit_identical(mb, ma));
                    CHECK(bit_identical(vb, va));
                }
            });
        });
    }
    // The double kernels compute no statistics: false, and y as conv2d_forward.
    const k::conv_geometry g{2, 3, 5, 5, 4, 5, 5, 3, 1, 1};
    std::vector<double> x(2 * 3 * 25, 0.5), w(4 * 3 * 9, 0.25), y(2 * 4 * 25), stats(16, -1.0);
    CHECK_FALSE(k::conv2d_forward_bn_stats<double>(g, x.data(), w.data(), nullptr, y.data(), stats.data()));
    CHECK(stats == std::vector<double>(16, -1.0));
}

TEST_CASE("fast conv2d backward-data matches the double reference within the float bound, and accumulating adds exactly that",
          "[kernels][conv]") {
    for (const auto& c : conv_cases) {
        const auto g = geometry(c);
        INFO("conv batch " << c.batch << " " << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << " k" << c.kernel
                           << " s" << c.stride << " p" << c.pad);
        const auto dy = random_floats(c.batch * c.cout * g.out_height * g.out_width, 4),
                   w = random_floats(c.cout * c.cin * c.kernel * c.kernel, 5, 0.3f);
        const std::size_t n_in = c.batch * c.cin * c.h * c.w;
        std::vector<double> exact(n_in), mag(n_in);
        ref::conv2d_backward_data<double>(g, to_double(dy).data(), to_double(w).data(), exact.data());
        ref::conv2d_backward_data<double>(g, abs_double(dy).data(), abs_double(w).data(), mag.data());
        const double gam = gamma_n(double(c.cout * c.kernel * c.kernel) + 2);
        std::vector<double> tol(n_in), wtol;
        for (std::size_t i = 0; i < n_in; ++i) tol[i] = gam * mag[i];
        if (winograd_path(c, true)) {
            // dx is the convolution of dy with the flipped, transposed kernel.
            const auto aw = abs_double(w);
            wtol = winograd_magnitude(winograd_tile(c), c.batch, c.cout, c.cin, c.h, c.w, abs_double(dy),
                                      [&](std::size_t ci, std::size_t o, int u, int v) {
                                          return aw[(o * c.cin + ci) * 9 + (2 - u) * 3 + (2 - v)];
                                      },
                                      nullptr);
            for (auto& t : wtol) t *= winograd_gamma(winograd_tile(c), c.cout);
        }
        for_each_conv_algorithm([&](bool wino) {
            const auto& t = wino && winograd_path(c, true) ? wtol : tol;
            for_each_isa([&] {
                std::vector<float> dx(n_in, 1e30f);  // must be overwritten
                k::conv2d_backward_data<float>(g, dy.data(), w.data(), dx.data());
                CHECK(count_outside(dx, exact, t, "dx") == 0);
                // accumulate: dx + exactly that result, element by element (the residual fan-in).
                auto acc = random_floats(n_in, 6), expect = acc;
                for (std::size_t i = 0; i < n_in; ++i) expect[i] = acc[i] + dx[i];
                k::conv2d_backward_data<float>(g, dy.data(), w.data(), acc.data(), /*accumulate=*/true);
                CHECK(bit_identical(acc, expect));
            });
        });
    }
}

TEST_CASE("fast conv2d backward-params matches the double reference within the float bound", "[kernels][conv]") {
    for (const auto& c : conv_cases) {
        const auto g = geometry(c);
        INFO("conv batch " << c.batch << " " << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << " k" << c.kernel
                           << " s" << c.stride << " p" << c.pad);
        const auto x = random_floats(c.batch * c.cin * c.h * c.w, 6),
                   dy = random_floats(c.batch * c.cout * g.out_height * g.out_width, 7);
        const auto dw0 = random_floats(c.cout * c.cin * c.kernel * c.kernel, 8), db0 = random_floats(c.cout, 9);
        // Backward-params ADDS into dw, dbias: start from non-zero values.
        std::vector<double> exact_w = to_double(dw0), exact_b = to_double(db0), mag_w = abs_double(dw0), mag_b = abs_double(db0);
        ref::conv2d_backward_params<double>(g, to_double(x).data(), to_double(dy).data(), exact_w.data(), exact_b.data());
        ref::conv2d_backward_params<double>(g, abs_double(x).data(), abs_double(dy).data(), mag_w.data(), mag_b.data());
        const double gam = gamma_n(double(c.batch * g.out_height * g.out_width) + 2);
        std::vector<double> tol_w(mag_w.size()), tol_b(mag_b.size());
        for (std::size_t i = 0; i < mag_w.size(); ++i) tol_w[i] = gam * mag_w[i];
        for (std::size_t i = 0; i < mag_b.size(); ++i) tol_b[i] = gam * mag_b[i];
        std::vector<double> wtol_w;
        if (winograd_path(c, false)) {
            // A sum over batch * tiles products (with the zero padding tiles, the lanes of the
            // vector accumulators and the partials of image groups: at most batch * (tiles + 16)
            // + 16 terms), after two transforms on either side: gamma(batch * (tiles + 16) + 40)
            // on the |.| computation with |A|, |B|, |G|, plus |dw| it is added to.
            const std::size_t m = winograd_tile(c);
            wtol_w = winograd_params_magnitude(m, c.batch, c.cin, c.cout, c.h, c.w, abs_double(x), abs_double(dy));
            const double wg = gamma_n(double(c.batch * ((c.h / m) * (c.w / m) + 16)) + 40);
            for (std::size_t i = 0; i < wtol_w.size(); ++i) wtol_w[i] = wg * (wtol_w[i] + std::fabs(double(dw0[i])));
        }
        for_each_conv_algorithm([&](bool wino) {
            const auto& tw = wino && winograd_path(c, false) ? wtol_w : tol_w;
            for_each_isa([&] {
                std::vector<float> dw = dw0, db = db0, dw_nb = dw0;
                k::conv2d_backward_params<float>(g, x.data(), dy.data(), dw.data(), db.data());
                CHECK(count_outside(dw, exact_w, tw, "dw") == 0);
                CHECK(count_outside(db, exact_b, tol_b, "dbias") == 0);
                k::conv2d_backward_params<float>(g, x.data(), dy.data(), dw_nb.data(), nullptr);
                CHECK(bit_identical(dw_nb, dw));  // dbias == null changes nothing else
            });
        });
    }
}

// ---- dense ----------------------------------------------------------------------------------

struct dense_case {
    std::size_t batch, in, out;
};
const std::vector<dense_case> dense_cases = {
    {1, 7, 5}, {3, 300, 33}, {129, 65, 17}, {2, 4096, 10}, {5, 17, 1}, {128, 1000, 130}, {3, 1, 3},
};

TEST_CASE("fast dense kernels match the double reference within the float bound", "[kernels][dense]") {
    for (const auto& c : dense_cases) {
        INFO("dense batch " << c.batch << " " << c.in << "->" << c.out);
        const auto x = random_floats(c.batch * c.in, 11), w = random_floats(c.out * c.in, 12, 0.2f),
                   bias = random_floats(c.out, 13), dy = random_floats(c.batch * c.out, 14);
        const auto dw0 = random_floats(c.out * c.in, 15), db0 = random_floats(c.out, 16);
        std::vector<double> y(c.batch * c.out), y_mag(y.size()), dx(c.batch * c.in), dx_mag(dx.size());
        ref::dense_forward<double>(c.batch, c.in, c.out, to_double(x).data(), to_double(w).data(), to_double(bias).data(), y.data());
        ref::dense_forward<double>(c.batch, c.in, c.out, abs_double(x).data(), abs_double(w).data(), abs_double(bias).data(),
                                   y_mag.data());
        ref::dense_backward_data<double>(c.batch, c.in, c.out, to_double(dy).data(), to_double(w).data(), dx.data());
        ref::dense_backward_data<double>(c.batch, c.in, c.out, abs_double(dy).data(), abs_double(w).data(), dx_mag.data());
        std::vector<double> dw = to_double(dw0), db = to_double(db0), dw_mag = abs_double(dw0), db_mag = abs_double(db0);
        ref::dense_backward_params<double>(c.batch, c.in, c.out, to_double(x).data(), to_double(dy).data(), dw.data(), db.data());
        ref::dense_backward_params<double>(c.batch, c.in, c.out, abs_double(x).data(), abs_double(dy).data(), dw_mag.data(),
                                           db_mag.data());
        auto scaled = [](const std::vector<double>& m, double gam) {
            std::vector<double> t(m.size());
            for (std::size_t i = 0; i < m.size(); ++i) t[i] = gam * m[i];
            return t;
        };
        const auto tol_y = scaled(y_mag, gamma_n(double(c.in) + 2)), tol_dx = scaled(dx_mag, gamma_n(double(c.out) + 2)),
                   tol_dw = scaled(dw_mag, gamma_n(double(c.batch) + 2)), tol_db = scaled(db_mag, gamma_n(double(c.batch) + 2));
        for_each_isa([&] {
            std::vector<float> fy(y.size(), 1e30f), fdx(dx.size(), 1e30f), fdw = dw0, fdb = db0;
            k::dense_forward<float>(c.batch, c.in, c.out, x.data(), w.data(), bias.data(), fy.data());
            k::dense_backward_data<float>(c.batch, c.in, c.out, dy.data(), w.data(), fdx.data());
            k::dense_backward_params<float>(c.batch, c.in, c.out, x.data(), dy.data(), fdw.data(), fdb.data());
            CHECK(count_outside(fy, y, tol_y, "y") == 0);
            CHECK(count_outside(fdx, dx, tol_dx, "dx") == 0);
            CHECK(count_outside(fdw, dw, tol_dw, "dw") == 0);
            CHECK(count_outside(fdb, db, tol_db, "dbias") == 0);
        });
    }
}

// ---- normalisation --------------------------------------------------------------------------------

struct bn_case {
    std::size_t batch, channels, spatial;
};
// Batch norm's geometries (statistics per channel over the whole batch): flat features
// (spatial 1), odd sizes, a batch of 129, a long plane, and a map large enough for the threads.
const std::vector<bn_case> bn_cases = {{2, 3, 1}, {3, 5, 7}, {129, 3, 5}, {4, 7, 33}, {3, 2, 1024}, {2, 64, 256}, {5, 9, 16}};
k::norm_geometry per_channel(const bn_case& c) { return {c.batch, c.channels, c.spatial, c.batch, 1}; }

TEST_CASE("normalisation + residual sum (+ ReLU) equals normalisation then add, bit for bit, in place too",
          "[kernels][bn][norm]") {
    for (const auto& c : bn_cases)
        for (bool relu : {false, true}) {
            INFO("bn batch " << c.batch << " channels " << c.channels << " spatial " << c.spatial << (relu ? " +relu" : ""));
            const auto g = per_channel(c);
            const k::bn_geometry bg{c.batch, c.channels, c.spatial};
            const std::size_t n = c.batch * c.channels * c.spatial;
            const auto x = random_floats(n, 81, 2.f, 1.f), gamma = random_floats(c.channels, 82, 1.f, 1.f),
                       beta = random_floats(c.channels, 83), a = random_floats(n, 84),
                       rmean = random_floats(c.channels, 85), rvar = random_floats(c.channels, 86, 0.2f, 1.f);
            for_each_isa([&] {
                // Train mode: normalised, then added...
                std::vector<float> bn(n), y(n), istd(c.channels), mean(c.channels), var(c.channels);
                k::norm_statistics<float>(g, x.data(), 1e-5, mean.data(), var.data(), istd.data());
                k::norm_apply<float>(g, x.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false, nullptr,
                                     false, bn.data());
                k::add<float>(n, bn.data(), a.data(), y.data(), relu);
                // ... and fused: into y, over x and over a.
                std::vector<float> fy(n, 1e30f), over_x = x, over_a = a;
                k::norm_apply<float>(g, x.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false, a.data(),
                                     relu, fy.data());
                CHECK(bit_identical(fy, y));
                k::norm_apply<float>(g, over_x.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false,
                                     a.data(), relu, over_x.data());
                k::norm_apply<float>(g, x.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false,
                                     over_a.data(), relu, over_a.data());
                CHECK(bit_identical(over_x, y));
                CHECK(bit_identical(over_a, y));
                // Eval mode likewise.
                std::vector<float> ibn(n), iy(n), fiy(n, 1e30f), iover_x = x, iover_a = a;
                k::batch_norm_infer<float>(bg, x.data(), gamma.data(), beta.data(), rmean.data(), rvar.data(), 1e-5,
                                           nullptr, false, ibn.data());
                k::add<float>(n, ibn.data(), a.data(), iy.data(), relu);
                k::batch_norm_infer<float>(bg, x.data(), gamma.data(), beta.data(), rmean.data(), rvar.data(), 1e-5,
                                           a.data(), relu, fiy.data());
                k::batch_norm_infer<float>(bg, iover_x.data(), gamma.data(), beta.data(), rmean.data(), rvar.data(),
                                           1e-5, a.data(), relu, iover_x.data());
                k::batch_norm_infer<float>(bg, x.data(), gamma.data(), beta.data(), rmean.data(), rvar.data(), 1e-5,
                                           iover_a.data(), relu, iover_a.data());
                CHECK(bit_identical(fiy, iy));
                CHECK(bit_identical(iover_x, iy));
                CHECK(bit_identical(iover_a, iy));
                if (relu) CHECK(std::count(y.begin(), y.end(), 0.f) > 0);  // the ReLU did cut something
            });
            // The double reference likewise, in place over a (it must keep a until the sum).
            const auto xd = to_double(x), gd = to_double(gamma), bd = to_double(beta), ad = to_double(a),
                       rmd = to_double(rmean), rvd = to_double(rvar);
            std::vector<double> bn(n), y(n), over_a = ad, isd(c.channels), md(c.channels), vd(c.channels);
            ref::norm_statistics<double>(g, xd.data(), 1e-5, md.data(), vd.data(), isd.data());
            ref::norm_apply<double>(g, xd.data(), md.data(), isd.data(), gd.data(), bd.data(), false, nullptr, false,
                                    bn.data());
            ref::add<double>(n, bn.data(), ad.data(), y.data(), relu);
            ref::norm_apply<double>(g, xd.data(), md.data(), isd.data(), gd.data(), bd.data(), false, over_a.data(), relu,
                                    over_a.data());
            CHECK(over_a == y);
            std::vector<double> iy(n), iover_a = ad;
            ref::batch_norm_infer<double>(bg, xd.data(), gd.data(), bd.data(), rmd.data(), rvd.data(), 1e-5, nullptr,
                                          false, bn.data());
            ref::add<double>(n, bn.data(), ad.data(), iy.data(), relu);
            ref::batch_norm_infer<double>(bg, xd.data(), gd.data(), bd.data(), rmd.data(), rvd.data(), 1e-5,
                                          iover_a.data(), relu, iover_a.data());
            CHECK(iover_a == iy);
        }
}

TEST_CASE("fast batch norm inference (+ ReLU) matches the double reference", "[kernels][bn]") {
    const k::bn_geometry g{3, 5, 37};
    const std::size_t n = 3 * 5 * 37;
    const auto x = random_floats(n, 41, 2.f, 1.f), gamma = random_floats(5, 42, 1.f, 1.f), beta = random_floats(5, 43),
               rmean = random_floats(5, 44), rvar = random_floats(5, 45, 0.2f, 1.f);
    for (bool relu : {false, true}) {
        std::vector<double> y(n);
        ref::batch_norm_infer<double>(g, to_double(x).data(), to_double(gamma).data(), to_double(beta).data(),
                                      to_double(rmean).data(), to_double(rvar).data(), 1e-5, nullptr, relu, y.data());
        // y = scale * x + shift with scale, shift rounded to float: a few roundings of |scale x| + |shift|.
        std::vector<double> tol(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t ch = (i / 37) % 5;
            const double scale = std::fabs(gamma[ch] / std::sqrt(double(rvar[ch]) + 1e-5));
            tol[i] = 6 * u32 * (scale * std::fabs(x[i]) + scale * std::fabs(rmean[ch]) + std::fabs(beta[ch]));
        }
        for_each_isa([&] {
            std::vector<float> fy(n);
            k::batch_norm_infer<float>(g, x.data(), gamma.data(), beta.data(), rmean.data(), rvar.data(), 1e-5, nullptr,
                                       relu, fy.data());
            CHECK(count_outside(fy, y, tol, relu ? "y (relu)" : "y") == 0);
        });
    }
}

// ---- ReLU and pooling: exact ---------------------------------------------------------------------

// ---- normalisation over blocks (norm_statistics, norm_apply, norm_backward) -----------------------

struct norm_case {
    std::size_t batch, channels, spatial, sample_group, channel_group;
    bool per_sample_group;
};
// Group norm (2 groups of 2, 8 groups of 8 on a map large enough for the threads), layer norm,
// instance norm, flat inputs, batch norm over groups of samples with a remainder (7 = 3 + 4: the
// remainder joins the last group; 3 < 5: one group), affine parameters per sample group (batch
// renormalisation's r and d folded in), and batch norm (one block per channel) on bn_cases.
const std::vector<norm_case> norm_cases = [] {
    std::vector<norm_case> v = {{3, 4, 7, 1, 2, false},  {2, 64, 256, 1, 8, false}, {2, 6, 33, 1, 6, false},
                                {5, 3, 16, 1, 1, false}, {9, 8, 1, 1, 4, false},    {7, 3, 5, 3, 1, false},
                                {7, 3, 5, 3, 1, true},   {4, 16, 64, 2, 1, true},   {3, 5, 1, 3, 1, false},
                                {3, 2, 4, 5, 1, true}};
    for (const auto& c : bn_cases) v.push_back({c.batch, c.channels, c.spatial, c.batch, 1, false});
    return v;
}();

TEST_CASE("fast normalisation over blocks matches the double reference within the float bound", "[kernels][norm]") {
    for (const auto& c : norm_cases)
        for (int variant = 0; variant < 3; ++variant) {  // plain, + ReLU, + addend and ReLU
            const bool relu = variant > 0, add = variant == 2;
            INFO("norm batch " << c.batch << " channels " << c.channels << " spatial " << c.spatial << " sample group "
                               << c.sample_group << " channel group " << c.channel_group
                               << (c.per_sample_group ? " affine per sample group" : "") << (relu ? " +relu" : "")
                               << (add ? " +addend" : ""));
            const k::norm_geometry g{c.batch, c.channels, c.spatial, c.sample_group, c.channel_group};
            const std::size_t n = c.batch * c.channels * c.spatial, nb = g.blocks(),
                              na = (c.per_sample_group ? g.sample_groups() : 1) * c.channels;
            const auto x = random_floats(n, 41, 2.f, 3.f), gamma = random_floats(na, 42, 0.5f, 1.f),
                       beta = random_floats(na, 43), a = random_floats(n, 44), dy = random_floats(n, 45);
            const auto xd = to_double(x), gd = to_double(gamma), bd = to_double(beta), ad = to_double(a);
            std::vector<double> mean(nb), var(nb), istd(nb), y(n);
            ref::norm_statistics<double>(g, xd.data(), 1e-5, mean.data(), var.data(), istd.data());
            ref::norm_apply<double>(g, xd.data(), mean.data(), istd.data(), gd.data(), bd.data(), c.per_sample_group,
                                    add ? ad.data() : nullptr, relu, y.data());
            // G bounds the relative error of a float run sum (relative to the sum of absolute
            // values); A is the block's mean |x|. To first order:
            //   mean: 2G A;  var: 4G var;  istd: (2G + 2u) istd;
            //   xhat: 4G (|xhat| + istd (A + |mean|));  y: |gamma| tol(xhat) + 2u (|gamma xhat| + |beta|),
            // and for the addend one more rounding.
            const double G = double(c.spatial + 16) * u32;
            // The sample group of b, written out: the remainder joins the last group.
            const std::size_t groups = std::max<std::size_t>(1, c.batch / c.sample_group);
            auto sgroup = [&](std::size_t b) { return std::min(b / c.sample_group, groups - 1); };
            REQUIRE(g.sample_groups() == groups);
            auto block = [&](std::size_t b, std::size_t ch) {
                return sgroup(b) * g.channel_groups() + ch / c.channel_group;
            };
            auto affine = [&](std::size_t b, std::size_t ch) { return c.per_sample_group ? sgroup(b) * c.channels + ch : ch; };
            std::vector<double> A(nb), count(nb);
            for (std::size_t b = 0; b < c.batch; ++b)
                for (std::size_t ch = 0; ch < c.channels; ++ch)
                    for (std::size_t i = 0; i < c.spatial; ++i) {
                        A[block(b, ch)] += std::fabs(x[(b * c.channels + ch) * c.spatial + i]);
                        count[block(b, ch)] += 1;
                    }
            std::vector<double> tol_mean(nb), tol_var(nb), tol_istd(nb), tol_y(n);
            for (std::size_t j = 0; j < nb; ++j) {
                A[j] /= count[j];
                tol_mean[j] = 2 * G * A[j] + u32 * std::fabs(mean[j]);
                tol_var[j] = 4 * G * var[j] + u32 * var[j];
                tol_istd[j] = (2 * G + 2 * u32) * istd[j];
            }
            for (std::size_t b = 0; b < c.batch; ++b)
                for (std::size_t ch = 0; ch < c.channels; ++ch)
                    for (std::size_t i = 0; i < c.spatial; ++i) {
                        const std::size_t v = (b * c.channels + ch) * c.spatial + i, j = block(b, ch), p = affine(b, ch);
                        const double h = (xd[v] - mean[j]) * istd[j];
                        const double tol_h = 4 * G * (std::fabs(h) + istd[j] * (A[j] + std::fabs(mean[j])));
                        const double pre = std::fabs(gd[p] * h) + std::fabs(bd[p]);
                        tol_y[v] = std::fabs(gd[p]) * tol_h + 2 * u32 * pre + (add ? u32 * (pre + std::fabs(ad[v])) : 0.0);
                    }
            // Backward (without the addend: its gradient passes through), from the fast forward's
            // statistics, which both sides then share.
            std::vector<float> fmean(nb), fvar(nb), fistd(nb);
            k::norm_statistics<float>(g, x.data(), 1e-5, fmean.data(), fvar.data(), fistd.data());
            const auto md = to_double(fmean), id = to_double(fistd), dyd = to_double(dy);
            const auto dgamma0 = random_floats(na, 46), dbeta0 = random_floats(na, 47);
            std::vector<double> dx(n), dgamma = to_double(dgamma0), dbeta = to_double(dbeta0);
            ref::norm_backward<double>(g, xd.data(), md.data(), id.data(), gd.data(), bd.data(), c.per_sample_group, relu,
                                       dyd.data(), dx.data(), dgamma.data(), dbeta.data());
            // With dm = dy masked by the ReLU, per block of m values and k = istd / m:
            //   dx: k (G sum|gamma dm| + G sum|gamma dm xhat| |xhat|) + 4u k (m |gamma dm| + |sum gamma dm| +
            //       |xhat| |sum gamma dm xhat|);  dgamma, dbeta: G times their sums of absolute values, + u.
            std::vector<double> s(nb), sx(nb), sa(nb), sax(nb), pa(na), pax(na), hx(n), dm(n);
            for (std::size_t b = 0; b < c.batch; ++b)
                for (std::size_t ch = 0; ch < c.channels; ++ch)
                    for (std::size_t i = 0; i < c.spatial; ++i) {
                        const std::size_t v = (b * c.channels + ch) * c.spatial + i, j = block(b, ch), p = affine(b, ch);
                        hx[v] = (xd[v] - md[j]) * id[j];
                        dm[v] = (!relu || gd[p] * hx[v] + bd[p] > 0) ? dyd[v] : 0.0;
                        s[j] += gd[p] * dm[v], sx[j] += gd[p] * dm[v] * hx[v];
                        sa[j] += std::fabs(gd[p] * dm[v]), sax[j] += std::fabs(gd[p] * dm[v] * hx[v]);
                        pa[p] += std::fabs(dm[v]), pax[p] += std::fabs(dm[v] * hx[v]);
                    }
            std::vector<double> tol_dx(n), tol_dg(na), tol_db(na);
            for (std::size_t b = 0; b < c.batch; ++b)
                for (std::size_t ch = 0; ch < c.channels; ++ch)
                    for (std::size_t i = 0; i < c.spatial; ++i) {
                        const std::size_t v = (b * c.channels + ch) * c.spatial + i, j = block(b, ch), p = affine(b, ch);
                        const double kk = id[j] / count[j], h = std::fabs(hx[v]);
                        tol_dx[v] = kk * (G * sa[j] + G * sax[j] * h) +
                                    4 * u32 * kk * (count[j] * std::fabs(gd[p] * dm[v]) + std::fabs(s[j]) + h * std::fabs(sx[j]));
                    }
            for (std::size_t p = 0; p < na; ++p) {
                tol_dg[p] = G * pax[p] + u32 * (std::fabs(dgamma[p]) + std::fabs(dgamma0[p]));
                tol_db[p] = G * pa[p] + u32 * (std::fabs(dbeta[p]) + std::fabs(dbeta0[p]));
            }
            for_each_isa([&] {
                std::vector<float> m(nb), vr(nb), is(nb), fy(n, 1e30f);
                k::norm_statistics<float>(g, x.data(), 1e-5, m.data(), vr.data(), is.data());
                CHECK(count_outside(m, mean, tol_mean, "mean") == 0);
                CHECK(count_outside(vr, var, tol_var, "var") == 0);
                CHECK(count_outside(is, istd, tol_istd, "istd") == 0);
                k::norm_apply<float>(g, x.data(), m.data(), is.data(), gamma.data(), beta.data(), c.per_sample_group,
                                     add ? a.data() : nullptr, relu, fy.data());
                CHECK(count_outside(fy, y, tol_y, "y") == 0);
                // In place (y == x) gives the same result.
                std::vector<float> inplace = x;
                k::norm_apply<float>(g, inplace.data(), m.data(), is.data(), gamma.data(), beta.data(),
                                     c.per_sample_group, add ? a.data() : nullptr, relu, inplace.data());
                CHECK(bit_identical(inplace, fy));

                std::vector<float> fdx(n, 1e30f), fdg = dgamma0, fdb = dbeta0;
                k::norm_backward<float>(g, x.data(), fmean.data(), fistd.data(), gamma.data(), beta.data(),
                                        c.per_sample_group, relu, dy.data(), fdx.data(), fdg.data(), fdb.data());
                CHECK(count_outside(fdx, dx, tol_dx, "dx") == 0);
                CHECK(count_outside(fdg, dgamma, tol_dg, "dgamma") == 0);
                CHECK(count_outside(fdb, dbeta, tol_db, "dbeta") == 0);
                // dx == dy (conv_norm calls it in place) gives the same result.
                std::vector<float> in2 = dy, g2 = dgamma0, b2 = dbeta0;
                k::norm_backward<float>(g, x.data(), fmean.data(), fistd.data(), gamma.data(), beta.data(),
                                        c.per_sample_group, relu, in2.data(), in2.data(), g2.data(), b2.data());
                CHECK(bit_identical(in2, fdx));
                CHECK(bit_identical(g2, fdg));
            });
        }
}

TEST_CASE("fast ReLU, residual add and max pooling match the float reference bit for bit", "[kernels][exact]") {
    for (std::size_t n : {1u, 15u, 16u, 17u, 1000u, 70001u}) {
        auto x = random_floats(n, 51), dy = random_floats(n, 52);
        if (n > 3) x[3] = 0.f, x[2] = -0.f;
        std::vector<float> y_ref(n), dx_ref(n);
        ref::relu_forward<float>(n, x.data(), y_ref.data());
        ref::relu_backward<float>(n, y_ref.data(), dy.data(), dx_ref.data());
        for_each_isa([&] {
            std::vector<float> y(n), dx(n), in_place = x;
            k::relu_forward<float>(n, x.data(), y.data());
            k::relu_forward<float>(n, in_place.data(), in_place.data());
            k::relu_backward<float>(n, y.data(), dy.data(), dx.data());
            // Both outputs of relu_backward_copy, in place over dy too.
            std::vector<float> dx2(n), copy(n, 1e30f), over_dy = dy, copy2(n);
            k::relu_backward_copy<float>(n, y.data(), dy.data(), dx2.data(), copy.data());
            k::relu_backward_copy<float>(n, y.data(), over_dy.data(), over_dy.data(), copy2.data());
            CHECK(bit_identical(dx2, dx_ref));
            CHECK(bit_identical(copy, dx_ref));
            CHECK(bit_identical(over_dy, dx_ref));
            CHECK(bit_identical(copy2, dx_ref));
            CHECK(bit_identical(y, y_ref));
            CHECK(bit_identical(in_place, y_ref));
            CHECK(bit_identical(dx, dx_ref));
        });
        // The join of a residual block: y = a + b (then ReLU), in place on either operand too.
        // 70001 spans several of the blocks the work is split into.
        for (const bool relu : {false, true}) {
            INFO("add, relu " << relu);
            std::vector<float> s_ref(n);
            ref::add<float>(n, x.data(), dy.data(), s_ref.data(), relu);
            for_each_isa([&] {
                std::vector<float> s(n), on_a = x, on_b = dy;
                k::add<float>(n, x.data(), dy.data(), s.data(), relu);
                k::add<float>(n, on_a.data(), dy.data(), on_a.data(), relu);
                k::add<float>(n, x.data(), on_b.data(), on_b.data(), relu);
                CHECK(bit_identical(s, s_ref));
                CHECK(bit_identical(on_a, s_ref));
                CHECK(bit_identical(on_b, s_ref));
            });
        }
    }
    // (batch, channels, in h, in w, out h, out w, window, stride): 2x2/2, odd leftovers, overlapping 3x3/2.
    const std::vector<k::pool_geometry> pools = {{3, 5, 8, 8, 4, 4, 2, 2}, {2, 3, 9, 7, 4, 3, 2, 2}, {129, 2, 7, 7, 3, 3, 3, 2}};
    for (const auto& g : pools) {
        auto x = random_floats(g.batch * g.channels * g.in_height * g.in_width, 53);
        for (std::size_t i = 0; i < x.size(); i += 7) x[i] = x[i + 1 < x.size() ? i + 1 : i];  // ties
        const std::size_t n_out = g.batch * g.channels * g.out_height * g.out_width;
        const auto dy = random_floats(n_out, 54);
        std::vector<float> y_ref(n_out), dx_ref(x.size()), yi_ref(n_out);
        std::vector<std::uint32_t> am_ref(n_out);
        ref::max_pool_forward<float>(g, x.data(), y_ref.data(), am_ref.data());
        ref::max_pool_infer<float>(g, x.data(), yi_ref.data());
        ref::max_pool_backward<float>(g, dy.data(), am_ref.data(), dx_ref.data());
        std::vector<float> y(n_out), yi(n_out), dx(x.size(), 1e30f);
        std::vector<std::uint32_t> am(n_out);
        k::max_pool_forward<float>(g, x.data(), y.data(), am.data());
        k::max_pool_infer<float>(g, x.data(), yi.data());
        k::max_pool_backward<float>(g, dy.data(), am.data(), dx.data());
        CHECK(bit_identical(y, y_ref));
        CHECK(bit_identical(yi, yi_ref));
        CHECK(am == am_ref);
        CHECK(bit_identical(dx, dx_ref));
    }
}

// ---- optimizer updates ------------------------------------------------------------------------

// One update from random state (weights, gradients, velocity / moments all non-zero), float
// kernel against the double reference on the same inputs. Per element the float kernel rounds
// about six times; the bound is 16 u times the magnitude of every term that enters.
TEST_CASE("fast SGD and Adam updates match the double reference within the float bound", "[kernels][optim]") {
    // 1 << 20 + 3 crosses the size at which the update is split over the threads.
    for (std::size_t n : {1u, 17u, 1000u, (1u << 20) + 3u}) {
        const auto w0 = random_floats(n, 61), g = random_floats(n, 62, 0.1f), v0 = random_floats(n, 63, 0.05f);
        auto s0 = random_floats(n, 64, 0.01f);
        for (auto& x : s0) x = x * x;  // second moments are non-negative
        INFO("n = " << n);
        for (const k::sgd_hyper h : {k::sgd_hyper{0.1, 0.0, 0.0, false}, k::sgd_hyper{0.05, 5e-4, 0.9, false},
                                     k::sgd_hyper{0.05, 1e-4, 0.9, true}}) {
            INFO("sgd lr " << h.lr << " wd " << h.weight_decay << " momentum " << h.momentum << " nesterov " << h.nesterov);
            auto w = to_double(w0), v = to_double(v0);
            const auto gd = to_double(g);
            ref::sgd_update<double>(n, w.data(), gd.data(), v.data(), h);
            std::vector<double> tol_w(n), tol_v(n);
            for (std::size_t i = 0; i < n; ++i) {
                const double d = std::fabs(g[i]) + h.weight_decay * std::fabs(w0[i]);
                const double vel = h.momentum * std::fabs(v0[i]) + d;
                tol_v[i] = 16 * u32 * vel;
                tol_w[i] = 16 * u32 * (std::fabs(w0[i]) + h.lr * (d + 2 * vel));
            }
            std::vector<float> wf = w0, vf = v0;
            k::sgd_update<float>(n, wf.data(), g.data(), vf.data(), h);
            CHECK(count_outside(wf, w, tol_w, "sgd weights") == 0);
            if (h.momentum > 0) CHECK(count_outside(vf, v, tol_v, "sgd velocity") == 0);
            else CHECK(bit_identical(vf, v0));  // without momentum the velocity is not touched
        }
        for (const bool decoupled : {false, true}) {
            INFO((decoupled ? "adamw" : "adam"));
            const double t = 3;
            const k::adam_hyper h{1e-3, 5e-4, 0.9, 0.999, 1e-8, 1 - std::pow(0.9, t), 1 - std::pow(0.999, t), decoupled};
            auto w = to_double(w0), m = to_double(v0), sd = to_double(s0);
            const auto gd = to_double(g);
            ref::adam_update<double>(n, w.data(), gd.data(), m.data(), sd.data(), h);
            std::vector<double> tol_w(n), tol_m(n), tol_s(n);
            for (std::size_t i = 0; i < n; ++i) {
                const double d = std::fabs(g[i]) + h.weight_decay * std::fabs(w0[i]);
                tol_m[i] = 16 * u32 * (std::fabs(v0[i]) + d);
                tol_s[i] = 16 * u32 * (s0[i] + d * d);
                // the step m^ / (sqrt(s^) + eps): m may cancel, so its error scales with its terms
                const double m_terms = (0.9 * std::fabs(v0[i]) + 0.1 * d) / h.correction1;
                const double step = m_terms / (std::sqrt(sd[i] / h.correction2) + h.eps);
                tol_w[i] = 16 * u32 * (std::fabs(w0[i]) + h.lr * step);
            }
            std::vector<float> wf = w0, mf = v0, sf = s0;
            k::adam_update<float>(n, wf.data(), g.data(), mf.data(), sf.data(), h);
            CHECK(count_outside(wf, w, tol_w, "adam weights") == 0);
            CHECK(count_outside(mf, m, tol_m, "adam first moment") == 0);
            CHECK(count_outside(sf, sd, tol_s, "adam second moment") == 0);
        }
    }
}

// ---- determinism ------------------------------------------------------------------------------

TEST_CASE("fast kernels are deterministic: bit-identical run to run and for 1 and 2 threads", "[kernels][determinism]") {
    // A CNN-like layer big enough to be split over threads and over several backward-params chunks.
    const conv_case c{37, 16, 12, 12, 24, 3, 1, 1};
    const auto g = geometry(c);
    const auto x = random_floats(c.batch * c.cin * c.h * c.w, 61), w = random_floats(c.cout * c.cin * 9, 62, 0.2f),
               dy = random_floats(c.batch * c.cout * g.out_height * g.out_width, 63);
    const k::norm_geometry bg{c.batch, c.cout, g.out_height * g.out_width, c.batch, 1};
    const std::vector<float> gamma(c.cout, 1.5f), beta(c.cout, 0.25f);
    auto run = [&] {
        std::vector<std::vector<float>> out;
        std::vector<float> y(dy.size()), dx(x.size()), dw(w.size(), 0.f), db(c.cout, 0.f);
        k::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y.data());
        k::conv2d_backward_data<float>(g, dy.data(), w.data(), dx.data());
        k::conv2d_backward_params<float>(g, x.data(), dy.data(), dw.data(), db.data());
        std::vector<float> z(y.size()), istd(c.cout), mean(c.cout), var(c.cout), dz(y.size()), dg(c.cout, 0.f),
            dbeta(c.cout, 0.f);
        k::norm_statistics<float>(bg, y.data(), 1e-5, mean.data(), var.data(), istd.data());
        k::norm_apply<float>(bg, y.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false, nullptr, true, z.data());
        k::norm_backward<float>(bg, y.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false, true, dy.data(),
                                dz.data(), dg.data(), dbeta.data());
        std::vector<float> hy(c.batch * 50), hdx(c.batch * 300), hdw(50 * 300, 0.f), hdb(50, 0.f);
        const auto hx = random_floats(c.batch * 300, 64), hw = random_floats(50 * 300, 65), hdyv = random_floats(c.batch * 50, 66);
        k::dense_forward<float>(c.batch, 300, 50, hx.data(), hw.data(), nullptr, hy.data());
        k::dense_backward_data<float>(c.batch, 300, 50, hdyv.data(), hw.data(), hdx.data());
        k::dense_backward_params<float>(c.batch, 300, 50, hx.data(), hdyv.data(), hdw.data(), hdb.data());
        return std::vector<std::vector<float>>{y, dx, dw, db, z, istd, mean, var, dz, dg, dbeta, hy, hdx, hdw, hdb};
    };
    for_each_isa([&] {
        k::set_threads(1);
        const auto one = run();
        k::set_threads(2);
        const auto two = run(), again = run();
        k::set_threads(0);
        REQUIRE(one.size() == two.size());
        for (std::size_t i = 0; i < one.size(); ++i) {
            INFO("output " << i);
            CHECK(bit_identical(two[i], again[i]));  // run to run
            CHECK(bit_identical(one[i], two[i]));    // 1 vs 2 threads (stronger than "within the bound")
        }
    });
}

TEST_CASE("set_winograd chooses the algorithm of exactly the convolutions kernels.hpp names", "[kernels][conv][control]") {
    CHECK(k::winograd());  // the default
    // Different roundings show that the other algorithm ran: the Winograd path is taken on an
    // eligible layer (forward and backward-data), and never on the others.
    for (const auto& c : conv_cases) {
        const auto g = geometry(c);
        INFO("conv batch " << c.batch << " " << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << " k" << c.kernel
                           << " s" << c.stride << " p" << c.pad);
        const auto x = random_floats(c.batch * c.cin * c.h * c.w, 7), w = random_floats(c.cout * c.cin * c.kernel * c.kernel, 8),
                   dy = random_floats(c.batch * c.cout * g.out_height * g.out_width, 9);
        std::vector<float> y[2], dx[2], dw[2];
        for (int on = 0; on < 2; ++on) {
            k::set_winograd(on == 1);
            y[on].resize(dy.size()), dx[on].resize(x.size()), dw[on].assign(w.size(), 0.f);
            k::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y[on].data());
            k::conv2d_backward_data<float>(g, dy.data(), w.data(), dx[on].data());
            k::conv2d_backward_params<float>(g, x.data(), dy.data(), dw[on].data(), nullptr);
        }
        k::set_winograd(true);
        CHECK(bit_identical(y[0], y[1]) == !winograd_path(c, false));
        CHECK(bit_identical(dx[0], dx[1]) == !winograd_path(c, true));
        CHECK(bit_identical(dw[0], dw[1]) == !winograd_path(c, false));
        // conv_algorithm_of names the same algorithm, and the tile the bounds above assumed.
        const auto expect = !winograd_path(c, false) ? k::conv_algorithm::direct
                            : winograd_tile(c) == 4   ? k::conv_algorithm::winograd_4x4
                                                      : k::conv_algorithm::winograd_2x2;
        CHECK(k::conv_algorithm_name(k::conv_algorithm_of(g)) == std::string(k::conv_algorithm_name(expect)));
        k::set_winograd(false);
        CHECK(k::conv_algorithm_of(g) == k::conv_algorithm::direct);
        k::set_winograd(true);
    }
    // ResNet-18's layers (docs/numerics.md): F(4x4) only up to 64 channels, direct under 64 pixels.
    if (k::supported_isas().empty()) return;  // no SIMD kernels: every convolution is direct
    const auto algo = [](std::size_t ch, std::size_t hw) {
        return k::conv_algorithm_of(k::conv_geometry{32, ch, hw, hw, ch, hw, hw, 3, 1, 1});
    };
    CHECK(algo(64, 32) == k::conv_algorithm::winograd_4x4);
    CHECK(algo(128, 32) == k::conv_algorithm::winograd_2x2);
    CHECK(algo(128, 16) == k::conv_algorithm::winograd_2x2);
    CHECK(algo(256, 8) == k::conv_algorithm::winograd_2x2);
    CHECK(algo(512, 4) == k::conv_algorithm::direct);
    CHECK(std::string(k::conv_algorithm_name(k::conv_algorithm::winograd_4x4)) == "Winograd F(4x4, 3x3)");
}

TEST_CASE("set_isa and set_threads: names, errors, defaults", "[kernels][control]") {
    CHECK_THROWS_AS(k::set_isa("avx9000"), std::invalid_argument);
    const auto isas = k::supported_isas();
    for (const auto& name : isas) {
        k::set_isa(name);
        CHECK(k::isa_name() == name);
    }
    if (!isas.empty()) {
        k::set_isa("scalar");
        CHECK(k::isa_name() == "sse2");
        k::set_isa("auto");
        CHECK(k::isa_name() == isas.front());
    }
    k::set_threads(1);
    CHECK(k::threads() == 1);
    k::set_threads(0);
    CHECK(k::threads() >= 1);
}

}  // namespace
