// tests/test_batch_norm.cpp - batch normalisation: the calculus, worked examples, running
// statistics, train vs eval mode, and conv_bn against its three-layer composition.
//
// docs/batch-norm.md derives every formula checked here and names these TEST_CASEs.
// Everything is double precision. Expected values are computed in this file from the
// textbook formulas (reference() below), by finite differences, or by hand, not by the code
// under test. The exceptions compare two library paths on purpose: conv_bn against its
// three-layer composition, and a sample evaluated alone against the same sample in a batch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <ratio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/typenet.hpp"

namespace tn = typenet;

// |a - b| <= tol, printing both values to full precision when it fails.
#define CHECK_CLOSE(a, b, tol)                                                                                   \
    do {                                                                                                         \
        const double check_a_ = (a), check_b_ = (b);                                                             \
        INFO(std::setprecision(17) << #a " = " << check_a_ << ", " #b " = " << check_b_ << ", tol " << (tol));   \
        CHECK(std::abs(check_a_ - check_b_) <= (tol));                                                           \
    } while (0)

namespace {

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

template <class Shape>
using dtensor = tn::tensor<double, Shape>;

template <class Shape>
dtensor<Shape> random_tensor(std::size_t batch, std::uint64_t seed, double scale = 1.0, double offset = 0.0) {
    dtensor<Shape> t(batch);
    tn::rng g(seed);
    for (auto& v : t.flat()) v = offset + scale * g.normal();
    return t;
}

template <class Shape>
double dot(const dtensor<Shape>& a, const dtensor<Shape>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a.data()[i] * b.data()[i];
    return s;
}

// Copies of the named parameter's value / gradient, or of a state tensor. Names are matched
// at the end so that both a layer's local names ("gamma") and a network's full names
// ("1.batch_norm.gamma") work.
bool name_ends_with(std::string_view name, std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}
template <class L>
std::vector<double> gradient_of(L& l, std::string_view name) {
    std::vector<double> out;
    int found = 0;
    l.for_each_parameter([&](tn::parameter_view<double> p) {
        if (name_ends_with(p.name, name)) {
            out.assign(p.gradient.begin(), p.gradient.end());
            ++found;
        }
    });
    REQUIRE(found == 1);
    return out;
}
template <class L>
std::vector<double> state_of(L& l, std::string_view name) {
    std::vector<double> out;
    int found = 0;
    l.for_each_state([&](tn::state_view<double> s) {
        if (name_ends_with(s.name, name)) {
            out.assign(s.value.begin(), s.value.end());
            ++found;
        }
    });
    REQUIRE(found == 1);
    return out;
}
template <class L>
void zero_gradients(L& l) {
    l.for_each_parameter([](tn::parameter_view<double> p) { std::fill(p.gradient.begin(), p.gradient.end(), 0.0); });
}

// The textbook batch norm, written out independently of the library, for a (B, C, S) buffer
// (S = H*W, or 1 for flat features): statistics per channel over n = B*S values.
struct reference_bn {
    std::vector<double> mean, var, istd, xhat, y, dx, dgamma, dbeta;
};
reference_bn reference(std::size_t B, std::size_t C, std::size_t S, const double* x, const std::vector<double>& gamma,
                       const std::vector<double>& beta, double eps, const double* dy) {
    reference_bn r;
    const std::size_t total = B * C * S;
    const double n = double(B * S);
    r.mean.assign(C, 0.0);
    r.var.assign(C, 0.0);
    r.istd.assign(C, 0.0);
    r.dgamma.assign(C, 0.0);
    r.dbeta.assign(C, 0.0);
    r.xhat.assign(total, 0.0);
    r.y.assign(total, 0.0);
    r.dx.assign(total, 0.0);
    auto at = [&](std::size_t b, std::size_t c, std::size_t s) { return (b * C + c) * S + s; };
    for (std::size_t c = 0; c < C; ++c) {
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t s = 0; s < S; ++s) r.mean[c] += x[at(b, c, s)] / n;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t s = 0; s < S; ++s) r.var[c] += (x[at(b, c, s)] - r.mean[c]) * (x[at(b, c, s)] - r.mean[c]) / n;
        r.istd[c] = 1.0 / std::sqrt(r.var[c] + eps);
        double sum_dy = 0, sum_dy_xhat = 0;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t s = 0; s < S; ++s) {
                const std::size_t i = at(b, c, s);
                r.xhat[i] = (x[i] - r.mean[c]) * r.istd[c];
                r.y[i] = gamma[c] * r.xhat[i] + beta[c];
                sum_dy += dy[i];
                sum_dy_xhat += dy[i] * r.xhat[i];
            }
        r.dgamma[c] = sum_dy_xhat;
        r.dbeta[c] = sum_dy;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t s = 0; s < S; ++s) {
                const std::size_t i = at(b, c, s);
                r.dx[i] = gamma[c] * r.istd[c] / n * (n * dy[i] - sum_dy - r.xhat[i] * sum_dy_xhat);
            }
    }
    return r;
}

// A bound batch-norm layer L run in train mode on (x, dy): its output, dx, dgamma and dbeta.
template <class L>
struct train_result {
    dtensor<typename L::output_shape> y;
    dtensor<typename L::input_shape> dx;
    std::vector<double> dgamma, dbeta;
};
template <class L>
train_result<L> run_train(L& layer, const dtensor<typename L::input_shape>& x,
                          const dtensor<typename L::output_shape>& dy) {
    train_result<L> r{dtensor<typename L::output_shape>(x.batch()), dtensor<typename L::input_shape>(x.batch()), {}, {}};
    typename L::saved_type saved;
    zero_gradients(layer);
    layer.forward(x, r.y, saved);
    layer.backward(x, r.y, dy, r.dx, saved);
    r.dgamma = gradient_of(layer, "gamma");
    r.dbeta = gradient_of(layer, "beta");
    return r;
}

// L(x, gamma, beta) = <dy, y>, the scalar whose gradient the VJP computes. Runs on a copy so
// the running statistics of `layer` are not touched.
template <class L>
double probe_loss(const L& layer, const dtensor<typename L::input_shape>& x, const dtensor<typename L::output_shape>& dy) {
    L copy = layer;
    dtensor<typename L::output_shape> y(x.batch());
    typename L::saved_type saved;
    copy.forward(x, y, saved);
    return dot(dy, y);
}

// Central finite differences of probe_loss with respect to x, gamma and beta.
template <class L>
struct fd_gradients {
    std::vector<double> dx, dgamma, dbeta;
};
template <class L>
fd_gradients<L> finite_differences(const L& layer, const dtensor<typename L::input_shape>& x,
                                   const dtensor<typename L::output_shape>& dy, double h) {
    fd_gradients<L> g;
    for (std::size_t i = 0; i < x.size(); ++i) {
        auto xp = x, xm = x;
        xp.data()[i] += h;
        xm.data()[i] -= h;
        g.dx.push_back((probe_loss(layer, xp, dy) - probe_loss(layer, xm, dy)) / (2 * h));
    }
    constexpr std::size_t C = L::input_shape::dims[0];
    for (std::size_t c = 0; c < C; ++c) {
        L lp = layer, lm = layer;
        lp.gamma()[c] += h;
        lm.gamma()[c] -= h;
        g.dgamma.push_back((probe_loss(lp, x, dy) - probe_loss(lm, x, dy)) / (2 * h));
        lp = layer;
        lm = layer;
        lp.beta()[c] += h;
        lm.beta()[c] -= h;
        g.dbeta.push_back((probe_loss(lp, x, dy) - probe_loss(lm, x, dy)) / (2 * h));
    }
    return g;
}

template <class L>
void set_affine(L& layer, std::uint64_t seed) {
    tn::rng g(seed);
    for (std::size_t c = 0; c < layer.gamma().size(); ++c) {
        layer.gamma()[c] = 0.5 + g.uniform();  // in [0.5, 1.5)
        layer.beta()[c] = g.normal();
    }
}

std::vector<double> to_vector(const xt::xtensor<double, 1>& t) { return std::vector<double>(t.begin(), t.end()); }

// Checks the library's train-mode output, dx, dgamma and dbeta against (1) the independent
// formulas of reference() and (2) central finite differences of <dy, y>, element by element.
// eps must be the layer's eps (the bound layer does not expose its spec).
template <class L>
void check_against_formula_and_fd(L& layer, double eps, const dtensor<typename L::input_shape>& x,
                                  const dtensor<typename L::output_shape>& dy, double h, double formula_tol,
                                  double fd_tol) {
    constexpr std::size_t C = L::input_shape::dims[0];
    constexpr std::size_t S = L::input_shape::size / C;
    const auto ref = reference(x.batch(), C, S, x.data(), to_vector(layer.gamma()), to_vector(layer.beta()), eps,
                               dy.data());
    const auto fd = finite_differences(layer, x, dy, h);
    const auto got = run_train(layer, x, dy);
    for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("element " << i << " of " << x.size());
        REQUIRE(std::isfinite(got.y.data()[i]));
        REQUIRE(std::isfinite(got.dx.data()[i]));
        CHECK_CLOSE(got.y.data()[i], ref.y[i], formula_tol * (1 + std::abs(ref.y[i])));
        CHECK_CLOSE(got.dx.data()[i], ref.dx[i], formula_tol * (1 + std::abs(ref.dx[i])));
        CHECK_CLOSE(got.dx.data()[i], fd.dx[i], fd_tol * (1 + std::abs(fd.dx[i])));
    }
    for (std::size_t c = 0; c < C; ++c) {
        INFO("channel " << c);
        REQUIRE(std::isfinite(got.dgamma[c]));
        REQUIRE(std::isfinite(got.dbeta[c]));
        CHECK_CLOSE(got.dgamma[c], ref.dgamma[c], formula_tol * (1 + std::abs(ref.dgamma[c])));
        CHECK_CLOSE(got.dbeta[c], ref.dbeta[c], formula_tol * (1 + std::abs(ref.dbeta[c])));
        CHECK_CLOSE(got.dgamma[c], fd.dgamma[c], fd_tol * (1 + std::abs(fd.dgamma[c])));
        CHECK_CLOSE(got.dbeta[c], fd.dbeta[c], fd_tol * (1 + std::abs(fd.dbeta[c])));
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// 1. The two identities the closed-form backward is derived from, and the step that
//    combines them (the Jacobian of xhat). Checked on the kernel's own statistics.
// ---------------------------------------------------------------------------------------

namespace {

struct kernel_run {
    std::vector<double> y, xhat, istd, mean, var;
};
// The blocks of batch norm: per channel over the whole batch.
tn::kernels::norm_geometry per_channel(const tn::kernels::bn_geometry& g) {
    return {g.batch, g.channels, g.spatial, g.batch, 1};
}
// Runs batch norm's train-mode kernels (typenet::kernels::norm_statistics and norm_apply) with
// gamma 1 and beta 0 on a (B, C, S) buffer: y is xhat (gamma * xhat + beta with one rounding).
kernel_run run_forward_kernel(tn::kernels::bn_geometry g, const std::vector<double>& x, double eps) {
    kernel_run r;
    const std::vector<double> gamma(g.channels, 1.0), beta(g.channels, 0.0);
    r.y.assign(x.size(), 0.0);
    r.istd.assign(g.channels, 0.0);
    r.mean.assign(g.channels, 0.0);
    r.var.assign(g.channels, 0.0);
    tn::kernels::norm_statistics<double>(per_channel(g), x.data(), eps, r.mean.data(), r.var.data(), r.istd.data());
    tn::kernels::norm_apply<double>(per_channel(g), x.data(), r.mean.data(), r.istd.data(), gamma.data(), beta.data(),
                                    false, nullptr, false, r.y.data());
    r.xhat = r.y;
    return r;
}

std::vector<double> random_vector(std::size_t n, std::uint64_t seed, double scale = 1.0, double offset = 0.0) {
    std::vector<double> v(n);
    tn::rng g(seed);
    for (auto& e : v) e = offset + scale * g.normal();
    return v;
}

// The geometries the identities are checked on: flat features (spatial 1) and per channel.
const std::vector<tn::kernels::bn_geometry> identity_geometries{{5, 3, 1}, {3, 2, 4}, {2, 1, 6}};

std::size_t channel_of(const tn::kernels::bn_geometry& g, std::size_t i) { return (i / g.spatial) % g.channels; }

}  // namespace

TEST_CASE("batch norm identity 1: d(x_j - mu)/dx_i = delta_ij - 1/n, per channel", "[batch_norm][identity]") {
    for (const auto& g : identity_geometries) {
        const double n = double(g.batch * g.spatial);
        const std::size_t total = g.batch * g.channels * g.spatial;
        const auto x = random_vector(total, 101, 1.5, 0.3);
        const double h = 1e-6;
        for (std::size_t i = 0; i < total; ++i) {
            auto xp = x, xm = x;
            xp[i] += h;
            xm[i] -= h;
            const auto rp = run_forward_kernel(g, xp, 1e-5), rm = run_forward_kernel(g, xm, 1e-5);
            for (std::size_t j = 0; j < total; ++j) {
                const std::size_t c = channel_of(g, j);
                const double centred_p = xp[j] - rp.mean[c], centred_m = xm[j] - rm.mean[c];
                const double fd = (centred_p - centred_m) / (2 * h);
                const double expected = (i == j ? 1.0 : 0.0) - (channel_of(g, i) == c ? 1.0 / n : 0.0);
                INFO("geometry " << g.batch << "x" << g.channels << "x" << g.spatial << ", i " << i << ", j " << j);
                CHECK_CLOSE(fd, expected, 1e-8);
            }
        }
    }
}

TEST_CASE("batch norm identity 2: d istd/dx_i = -istd^3 (x_i - mu)/n, per channel", "[batch_norm][identity]") {
    for (const double eps : {1e-5, 0.5}) {
        for (const auto& g : identity_geometries) {
            const double n = double(g.batch * g.spatial);
            const std::size_t total = g.batch * g.channels * g.spatial;
            const auto x = random_vector(total, 202, 1.5, -0.7);
            const auto r = run_forward_kernel(g, x, eps);
            const double h = 1e-6;
            for (std::size_t i = 0; i < total; ++i) {
                auto xp = x, xm = x;
                xp[i] += h;
                xm[i] -= h;
                const auto rp = run_forward_kernel(g, xp, eps), rm = run_forward_kernel(g, xm, eps);
                for (std::size_t c = 0; c < g.channels; ++c) {
                    const double fd = (rp.istd[c] - rm.istd[c]) / (2 * h);
                    const double is = r.istd[c];
                    const double expected = channel_of(g, i) == c ? -is * is * is * (x[i] - r.mean[c]) / n : 0.0;
                    INFO("eps " << eps << ", geometry " << g.batch << "x" << g.channels << "x" << g.spatial << ", i "
                                << i << ", channel " << c);
                    CHECK_CLOSE(fd, expected, 1e-7 * (1 + std::abs(expected)));
                }
            }
        }
    }
}

TEST_CASE("batch norm derivation step: d xhat_j/dx_i = istd/n (n delta_ij - 1 - xhat_i xhat_j)", "[batch_norm][identity]") {
    for (const auto& g : identity_geometries) {
        const double n = double(g.batch * g.spatial);
        const std::size_t total = g.batch * g.channels * g.spatial;
        const auto x = random_vector(total, 303, 0.8, 2.0);
        const auto r = run_forward_kernel(g, x, 1e-5);
        const double h = 1e-6;
        for (std::size_t i = 0; i < total; ++i) {
            auto xp = x, xm = x;
            xp[i] += h;
            xm[i] -= h;
            const auto rp = run_forward_kernel(g, xp, 1e-5), rm = run_forward_kernel(g, xm, 1e-5);
            for (std::size_t j = 0; j < total; ++j) {
                const std::size_t c = channel_of(g, j);
                const double fd = (rp.xhat[j] - rm.xhat[j]) / (2 * h);
                const double expected = channel_of(g, i) == c
                                            ? r.istd[c] / n * ((i == j ? n : 0.0) - 1.0 - r.xhat[i] * r.xhat[j])
                                            : 0.0;
                INFO("geometry " << g.batch << "x" << g.channels << "x" << g.spatial << ", i " << i << ", j " << j);
                CHECK_CLOSE(fd, expected, 1e-7 * (1 + std::abs(expected)));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. The closed-form three-term VJP against finite differences of <dy, y>.
// ---------------------------------------------------------------------------------------

TEST_CASE("batch norm backward: three-term formula equals the finite-difference J^T dy, per feature",
          "[batch_norm][backward]") {
    SECTION("shape<3>, batch 6, eps 1e-5") {
        tn::batch_norm<>::bind<double, tn::shape<3>> bn;
        set_affine(bn, 1);
        const auto x = random_tensor<tn::shape<3>>(6, 11, 2.0, 1.0);
        const auto dy = random_tensor<tn::shape<3>>(6, 12);
        check_against_formula_and_fd(bn, 1e-5, x, dy, 1e-5, 1e-12, 1e-7);
    }
    SECTION("shape<4>, batch 2 (the smallest train batch)") {
        tn::batch_norm<>::bind<double, tn::shape<4>> bn;
        set_affine(bn, 2);
        const auto x = random_tensor<tn::shape<4>>(2, 21, 0.1, -3.0);
        const auto dy = random_tensor<tn::shape<4>>(2, 22);
        check_against_formula_and_fd(bn, 1e-5, x, dy, 1e-6, 1e-12, 1e-6);
    }
    SECTION("shape<2>, batch 5, eps 1/10 (a large eps changes the Jacobian; the formula still holds)") {
        tn::batch_norm<std::ratio<1, 10>>::bind<double, tn::shape<2>> bn;
        set_affine(bn, 3);
        const auto x = random_tensor<tn::shape<2>>(5, 31, 0.5);
        const auto dy = random_tensor<tn::shape<2>>(5, 32);
        check_against_formula_and_fd(bn, 0.1, x, dy, 1e-5, 1e-12, 1e-7);
    }
}

TEST_CASE("batch norm backward: three-term formula equals the finite-difference J^T dy, per channel (n = batch*H*W)",
          "[batch_norm][backward]") {
    SECTION("shape<3, 2, 3>, batch 4: n = 24 per channel") {
        tn::batch_norm<>::bind<double, tn::shape<3, 2, 3>> bn;
        set_affine(bn, 4);
        const auto x = random_tensor<tn::shape<3, 2, 3>>(4, 41, 1.5, 0.5);
        const auto dy = random_tensor<tn::shape<3, 2, 3>>(4, 42);
        check_against_formula_and_fd(bn, 1e-5, x, dy, 1e-5, 1e-12, 1e-7);
    }
    SECTION("shape<2, 1, 5>, batch 2: n = 10 per channel") {
        tn::batch_norm<>::bind<double, tn::shape<2, 1, 5>> bn;
        set_affine(bn, 5);
        const auto x = random_tensor<tn::shape<2, 1, 5>>(2, 51, 3.0);
        const auto dy = random_tensor<tn::shape<2, 1, 5>>(2, 52);
        check_against_formula_and_fd(bn, 1e-5, x, dy, 1e-5, 1e-12, 1e-7);
    }
}

TEST_CASE("batch norm backward stays finite and matches the formula as the batch variance goes to 0",
          "[batch_norm][backward]") {
    SECTION("all-equal inputs (variance exactly 0): y = beta, dx = gamma/sqrt(eps) (dy - mean dy)") {
        using shape_t = tn::shape<2, 2, 2>;
        tn::batch_norm<>::bind<double, shape_t> bn;
        set_affine(bn, 6);
        dtensor<shape_t> x(3);
        x.fill(2.5);
        const auto dy = random_tensor<shape_t>(3, 61);
        check_against_formula_and_fd(bn, 1e-5, x, dy, 1e-7, 1e-12, 1e-6);
        // The limit written out: xhat = 0, so the xhat term vanishes and istd = 1/sqrt(eps).
        const auto got = run_train(bn, x, dy);
        const double n = 3 * 4;
        for (std::size_t c = 0; c < 2; ++c) {
            double sum_dy = 0;
            for (std::size_t b = 0; b < 3; ++b)
                for (std::size_t h = 0; h < 2; ++h)
                    for (std::size_t w = 0; w < 2; ++w) sum_dy += dy(b, c, h, w);
            for (std::size_t b = 0; b < 3; ++b)
                for (std::size_t h = 0; h < 2; ++h)
                    for (std::size_t w = 0; w < 2; ++w) {
                        CHECK(got.y(b, c, h, w) == bn.beta()[c]);
                        CHECK_CLOSE(got.dx(b, c, h, w), bn.gamma()[c] / std::sqrt(1e-5) * (dy(b, c, h, w) - sum_dy / n),
                                    1e-9);
                    }
            CHECK(got.dgamma[c] == 0.0);
            CHECK_CLOSE(got.dbeta[c], sum_dy, 1e-12);
        }
    }
    SECTION("variance 1e-20 (inputs 3 + 1e-10 z), eps 1e-5") {
        using shape_t = tn::shape<3>;
        tn::batch_norm<>::bind<double, shape_t> bn;
        set_affine(bn, 7);
        const auto x = random_tensor<shape_t>(8, 71, 1e-10, 3.0);
        const auto dy = random_tensor<shape_t>(8, 72);
        const auto r = reference(8, 3, 1, x.data(), to_vector(bn.gamma()), to_vector(bn.beta()), 1e-5, dy.data());
        for (double v : r.var) {
            CHECK(v > 1e-21);
            CHECK(v < 1e-19);
        }
        check_against_formula_and_fd(bn, 1e-5, x, dy, 1e-7, 1e-12, 1e-6);
    }
    SECTION("variance 1e-20 with a tiny eps (1e-12): istd = 1e6, still finite") {
        using shape_t = tn::shape<1, 2, 2>;
        tn::batch_norm<std::ratio<1, 1000000000000>>::bind<double, shape_t> bn;
        set_affine(bn, 8);
        const auto x = random_tensor<shape_t>(4, 81, 1e-10, 0.0);
        const auto dy = random_tensor<shape_t>(4, 82);
        check_against_formula_and_fd(bn, 1e-12, x, dy, 1e-10, 1e-10, 1e-5);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Worked examples.
// ---------------------------------------------------------------------------------------

// "eps 0" two ways: the kernel called directly with eps = 0.0, and the layer with the
// smallest eps used in these tests, std::ratio<1, 10^12>, which changes 1/sqrt(var + eps)
// by a relative 1e-13 when var = 5, far below the 1e-12 tolerance.
using tiny_eps = std::ratio<1, 1000000000000>;

TEST_CASE("worked example: x = [2, 4, 6, 8] normalises to [-3, -1, 1, 3]/sqrt(5)", "[batch_norm][example]") {
    const std::vector<double> x{2, 4, 6, 8};  // 4 samples of one feature: mean 5, biased var 20/4 = 5
    const double r5 = std::sqrt(5.0);
    const std::vector<double> exact{-3 / r5, -1 / r5, 1 / r5, 3 / r5};
    const std::vector<double> rounded{-1.342, -0.447, 0.447, 1.342};

    SECTION("kernel, eps = 0.0 exactly") {
        const auto r = run_forward_kernel({4, 1, 1}, x, 0.0);
        CHECK(r.mean[0] == 5.0);
        CHECK(r.var[0] == 5.0);  // biased: divides by n = 4, not n - 1
        double mean = 0, var = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            CHECK_CLOSE(r.y[i], rounded[i], 1e-3);
            CHECK_CLOSE(r.y[i], exact[i], 1e-15);
            mean += r.y[i] / 4;
        }
        for (std::size_t i = 0; i < 4; ++i) var += (r.y[i] - mean) * (r.y[i] - mean) / 4;
        CHECK_CLOSE(mean, 0.0, 1e-15);
        CHECK_CLOSE(var, 1.0, 1e-15);
    }
    SECTION("layer batch_norm<std::ratio<1, 1000000000000>>, gamma 1, beta 0") {
        tn::batch_norm<tiny_eps>::bind<double, tn::shape<1>> bn;
        dtensor<tn::shape<1>> xt(4), y(4);
        for (std::size_t i = 0; i < 4; ++i) xt(i, 0) = x[i];
        typename decltype(bn)::saved_type saved;
        bn.forward(xt, y, saved);
        for (std::size_t i = 0; i < 4; ++i) {
            CHECK_CLOSE(y(i, 0), rounded[i], 1e-3);
            CHECK_CLOSE(y(i, 0), exact[i], 1e-12);
        }
    }
}

TEST_CASE("worked example: gamma 2, beta 1 give output mean 1 and variance 4", "[batch_norm][example]") {
    tn::batch_norm<tiny_eps>::bind<double, tn::shape<1>> bn;
    bn.gamma()[0] = 2.0;
    bn.beta()[0] = 1.0;
    dtensor<tn::shape<1>> x(4), y(4);
    for (std::size_t i = 0; i < 4; ++i) x(i, 0) = 2.0 + 2.0 * double(i);  // 2, 4, 6, 8
    typename decltype(bn)::saved_type saved;
    bn.forward(x, y, saved);
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < 4; ++i) mean += y(i, 0) / 4;
    for (std::size_t i = 0; i < 4; ++i) var += (y(i, 0) - mean) * (y(i, 0) - mean) / 4;
    CHECK_CLOSE(mean, 1.0, 1e-12);  // = beta
    CHECK_CLOSE(var, 4.0, 1e-11);   // = gamma^2
    CHECK_CLOSE(y(0, 0), 1.0 - 6.0 / std::sqrt(5.0), 1e-12);
    CHECK_CLOSE(y(3, 0), 1.0 + 6.0 / std::sqrt(5.0), 1e-12);
}

TEST_CASE("worked example: two samples have zero input gradient", "[batch_norm][example]") {
    // With n = 2 the normalised batch is always [-1, +1] (or [+1, -1]): x1 - mu = -(x2 - mu)
    // = (x1 - x2)/2 and sigma = |x1 - x2|/2, so xhat = sign(x - mu) whatever x is. The output
    // is locally constant in x, so the Jacobian is 0 and dx = 0 for EVERY dy. In the formula:
    // xhat = [-1, 1], sum dy = 0, sum dy*xhat = -1, and
    //   n dy - sum dy - xhat sum(dy xhat) = [1, -1] - 0 - [-1, 1] * (-1) = [0, 0].
    // (Any dy in R^2 is a*xhat + b*1; the mean term removes b, the xhat term removes a.)
    // With eps > 0, xhat = d/sqrt(d^2 + eps) for d = (x2 - x1)/2, and dx is O(eps), not 0.
    const std::vector<double> x{1, 3}, dy{0.5, -0.5}, gamma{1.0};

    SECTION("kernel, eps = 0.0: exactly zero") {
        const auto r = run_forward_kernel({2, 1, 1}, x, 0.0);
        CHECK(r.xhat[0] == -1.0);
        CHECK(r.xhat[1] == 1.0);
        std::vector<double> dx(2, 7.0), dgamma(1, 0.0), dbeta(1, 0.0);
        const std::vector<double> beta{0.0};
        const auto g = per_channel({2, 1, 1});
        tn::kernels::norm_backward<double>(g, x.data(), r.mean.data(), r.istd.data(), gamma.data(), beta.data(), false,
                                           false, dy.data(), dx.data(), dgamma.data(), dbeta.data());
        CHECK(dx[0] == 0.0);
        CHECK(dx[1] == 0.0);
        CHECK(dgamma[0] == -1.0);  // sum dy * xhat: the output does depend on gamma
        CHECK(dbeta[0] == 0.0);
        // Any other dy too.
        const std::vector<double> other{0.3, 1.7};
        tn::kernels::norm_backward<double>(g, x.data(), r.mean.data(), r.istd.data(), gamma.data(), beta.data(), false,
                                           false, other.data(), dx.data(), dgamma.data(), dbeta.data());
        CHECK_CLOSE(dx[0], 0.0, 1e-15);
        CHECK_CLOSE(dx[1], 0.0, 1e-15);
    }
    SECTION("layer with eps 1e-12: zero to 1e-12") {
        tn::batch_norm<tiny_eps>::bind<double, tn::shape<1>> bn;
        dtensor<tn::shape<1>> xt(2), dyt(2);
        xt(0, 0) = 1;
        xt(1, 0) = 3;
        dyt(0, 0) = 0.5;
        dyt(1, 0) = -0.5;
        const auto got = run_train(bn, xt, dyt);
        CHECK_CLOSE(got.dx(0, 0), 0.0, 1e-12);
        CHECK_CLOSE(got.dx(1, 0), 0.0, 1e-12);
    }
    SECTION("layer with the default eps 1e-5: dx = O(eps), and still the exact VJP") {
        tn::batch_norm<>::bind<double, tn::shape<1>> bn;
        dtensor<tn::shape<1>> xt(2), dyt(2);
        xt(0, 0) = 1;
        xt(1, 0) = 3;
        dyt(0, 0) = 0.5;
        dyt(1, 0) = -0.5;
        const auto got = run_train(bn, xt, dyt);
        // With d = (x2 - x1)/2 = 1: y = [-1, 1] * d/sqrt(d^2 + eps), so <dy, y> = -d/sqrt(d^2 + eps)
        // and its derivative in d is -eps/(d^2 + eps)^1.5; dd/dx1 = -1/2, dd/dx2 = +1/2.
        const double eps = 1e-5, slope = eps / std::pow(1.0 + eps, 1.5) / 2;  // ~5e-6
        CHECK_CLOSE(got.dx(0, 0), slope, 1e-15);
        CHECK_CLOSE(got.dx(1, 0), -slope, 1e-15);
        check_against_formula_and_fd(bn, 1e-5, xt, dyt, 1e-5, 1e-12, 1e-7);
    }
}

TEST_CASE("worked example: a bias added before batch norm changes nothing downstream", "[batch_norm][example]") {
    // conv2d with a bias, then batch norm; the same network with the bias zeroed. Batch norm
    // subtracts the per-channel batch mean, which contains the bias, so the bias cancels.
    using biased_net = tn::basic_net<double, tn::input<2, 5, 5>, tn::conv2d<2, 3, 3, 1, tn::same, tn::identity, tn::with_bias>,
                                     tn::batch_norm<>>;
    biased_net with_bias(11), zeroed(11);  // same seed: same weights
    const std::vector<double> bias{3.0, -2.0, 0.5};
    for (std::size_t c = 0; c < 3; ++c) {
        with_bias.layer<0>().bias()[c] = bias[c];
        zeroed.layer<0>().bias()[c] = 0.0;
    }
    set_affine(with_bias.layer<1>(), 12);
    set_affine(zeroed.layer<1>(), 12);

    const std::size_t steps = 3;
    for (std::size_t step = 0; step < steps; ++step) {
        const std::size_t batch = 2 + step;
        const auto x = random_tensor<tn::shape<2, 5, 5>>(batch, 100 + step);
        const auto dy = random_tensor<tn::shape<3, 5, 5>>(batch, 200 + step);
        with_bias.zero_grad();
        zeroed.zero_grad();
        const auto& ya = with_bias.forward(x);
        const auto& yb = zeroed.forward(x);
        for (std::size_t i = 0; i < ya.size(); ++i) CHECK_CLOSE(ya.data()[i], yb.data()[i], 1e-12);
        const auto& dxa = with_bias.backward(dy);
        const auto& dxb = zeroed.backward(dy);
        for (std::size_t i = 0; i < dxa.size(); ++i) CHECK_CLOSE(dxa.data()[i], dxb.data()[i], 1e-12);
        // dL/dbias_c = sum of batch norm's dx over the channel = -k * sum(xhat) * sum(dy xhat) = 0.
        for (double g : gradient_of(with_bias, "0.conv2d.bias")) CHECK_CLOSE(g, 0.0, 1e-12);
        const auto wa = gradient_of(with_bias, "0.conv2d.weight"), wb = gradient_of(zeroed, "0.conv2d.weight");
        for (std::size_t i = 0; i < wa.size(); ++i) CHECK_CLOSE(wa[i], wb[i], 1e-11);
        const auto ga = gradient_of(with_bias, "gamma"), gb = gradient_of(zeroed, "gamma");
        for (std::size_t c = 0; c < 3; ++c) CHECK_CLOSE(ga[c], gb[c], 1e-11);
    }
    // The one place the bias shows up: the running mean absorbs it (it is part of every batch
    // mean), by b * (1 - (1 - m)^k) after k batches; the running variance does not see it.
    const auto rma = state_of(with_bias, "1.batch_norm.running_mean"), rmb = state_of(zeroed, "1.batch_norm.running_mean");
    const auto rva = state_of(with_bias, "1.batch_norm.running_var"), rvb = state_of(zeroed, "1.batch_norm.running_var");
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK_CLOSE(rma[c] - rmb[c], bias[c] * (1.0 - std::pow(0.9, double(steps))), 1e-12);
        CHECK_CLOSE(rva[c], rvb[c], 1e-12);
    }
}

// ---------------------------------------------------------------------------------------
// 4. Running statistics: running = (1 - m) running + m batch_stat, variance unbiased.
// ---------------------------------------------------------------------------------------

namespace {
// Feature 0 of the three batches; feature 1 is 2 x + 1 (mean 2 mu + 1, variance 4 var).
//   batch 1: [1, 3]        n = 2  mean 2  unbiased var (1 + 1)/1       = 2
//   batch 2: [0, 3, 6]     n = 3  mean 3  unbiased var (9 + 0 + 9)/2   = 9
//   batch 3: [2, 4, 6, 8]  n = 4  mean 5  unbiased var (9 + 1 + 1 + 9)/3 = 20/3
const std::vector<std::vector<double>> running_batches{{1, 3}, {0, 3, 6}, {2, 4, 6, 8}};

// Trains a fresh shape<2> layer on the three batches and returns (running_mean, running_var)
// after each batch, read through for_each_state.
std::vector<std::pair<std::vector<double>, std::vector<double>>> running_after_each(double momentum, bool set) {
    tn::batch_norm<>::bind<double, tn::shape<2>> bn;
    if (set) bn.set_bn_momentum(momentum);
    std::vector<std::pair<std::vector<double>, std::vector<double>>> out;
    for (const auto& values : running_batches) {
        dtensor<tn::shape<2>> x(values.size()), y(values.size());
        for (std::size_t b = 0; b < values.size(); ++b) {
            x(b, 0) = values[b];
            x(b, 1) = 2 * values[b] + 1;
        }
        typename decltype(bn)::saved_type saved;
        bn.forward(x, y, saved);
        out.emplace_back(state_of(bn, "running_mean"), state_of(bn, "running_var"));
    }
    return out;
}
}  // namespace

TEST_CASE("running statistics: momentum 0.1 over three batches of sizes 2, 3, 4 (hand-computed)", "[batch_norm][running]") {
    tn::batch_norm<>::bind<double, tn::shape<2>> fresh;
    CHECK(fresh.momentum() == 0.1);
    CHECK(state_of(fresh, "running_mean") == std::vector<double>{0.0, 0.0});
    CHECK(state_of(fresh, "running_var") == std::vector<double>{1.0, 1.0});

    const auto r = running_after_each(0.1, false);
    // Feature 0.  running_mean: 0.9*0 + 0.1*2 = 0.2; 0.9*0.2 + 0.1*3 = 0.48; 0.9*0.48 + 0.1*5 = 0.932
    //             running_var:  0.9*1 + 0.1*2 = 1.1; 0.9*1.1 + 0.1*9 = 1.89; 0.9*1.89 + 0.1*20/3 = 2.3676666...
    // Feature 1.  running_mean: 0.5; 0.9*0.5 + 0.7 = 1.15; 0.9*1.15 + 1.1 = 2.135
    //             running_var:  0.9 + 0.8 = 1.7; 0.9*1.7 + 3.6 = 5.13; 0.9*5.13 + 0.1*80/3 = 7.2836666...
    const double mean0[] = {0.2, 0.48, 0.932}, var0[] = {1.1, 1.89, 1.701 + 2.0 / 3.0};
    const double mean1[] = {0.5, 1.15, 2.135}, var1[] = {1.7, 5.13, 4.617 + 8.0 / 3.0};
    for (std::size_t k = 0; k < 3; ++k) {
        INFO("after batch " << k + 1);
        CHECK_CLOSE(r[k].first[0], mean0[k], 1e-12);
        CHECK_CLOSE(r[k].second[0], var0[k], 1e-12);
        CHECK_CLOSE(r[k].first[1], mean1[k], 1e-12);
        CHECK_CLOSE(r[k].second[1], var1[k], 1e-12);
    }
}

TEST_CASE("running statistics: custom momentum 0.3 (hand-computed)", "[batch_norm][running]") {
    const auto r = running_after_each(0.3, true);
    // Feature 0.  running_mean: 0.3*2 = 0.6; 0.7*0.6 + 0.9 = 1.32; 0.7*1.32 + 1.5 = 2.424
    //             running_var:  0.7 + 0.6 = 1.3; 0.7*1.3 + 2.7 = 3.61; 0.7*3.61 + 0.3*20/3 = 4.527
    // Feature 1.  running_mean: 1.5; 0.7*1.5 + 2.1 = 3.15; 0.7*3.15 + 3.3 = 5.505
    //             running_var:  0.7 + 2.4 = 3.1; 0.7*3.1 + 10.8 = 12.97; 0.7*12.97 + 8 = 17.079
    const double mean0[] = {0.6, 1.32, 2.424}, var0[] = {1.3, 3.61, 4.527};
    const double mean1[] = {1.5, 3.15, 5.505}, var1[] = {3.1, 12.97, 17.079};
    for (std::size_t k = 0; k < 3; ++k) {
        INFO("after batch " << k + 1);
        CHECK_CLOSE(r[k].first[0], mean0[k], 1e-12);
        CHECK_CLOSE(r[k].second[0], var0[k], 1e-12);
        CHECK_CLOSE(r[k].first[1], mean1[k], 1e-12);
        CHECK_CLOSE(r[k].second[1], var1[k], 1e-12);
    }
}

TEST_CASE("running statistics per channel: n = batch*H*W values, through a network", "[batch_norm][running]") {
    using shape_t = tn::shape<2, 2, 3>;
    for (const double m : {0.1, 0.3, 1.0}) {
        tn::basic_net<double, tn::input<2, 2, 3>, tn::batch_norm<>> net(0);
        if (m != 0.1) net.set_bn_momentum(m);
        std::vector<double> rm{0.0, 0.0}, rv{1.0, 1.0};  // the expected values, computed here
        for (const std::size_t batch : {2u, 3u, 5u}) {
            const auto x = random_tensor<shape_t>(batch, 1000 + batch, 2.0, 1.5);
            net.forward(x);
            for (std::size_t c = 0; c < 2; ++c) {
                const double n = double(batch * 6);
                double mean = 0, ss = 0;
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t h = 0; h < 2; ++h)
                        for (std::size_t w = 0; w < 3; ++w) mean += x(b, c, h, w) / n;
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t h = 0; h < 2; ++h)
                        for (std::size_t w = 0; w < 3; ++w) ss += (x(b, c, h, w) - mean) * (x(b, c, h, w) - mean);
                rm[c] = (1 - m) * rm[c] + m * mean;
                rv[c] = (1 - m) * rv[c] + m * ss / (n - 1);
            }
            const auto got_m = state_of(net, "0.batch_norm.running_mean");
            const auto got_v = state_of(net, "0.batch_norm.running_var");
            for (std::size_t c = 0; c < 2; ++c) {
                INFO("momentum " << m << ", batch " << batch << ", channel " << c);
                CHECK_CLOSE(got_m[c], rm[c], 1e-12);
                CHECK_CLOSE(got_v[c], rv[c], 1e-12);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. Eval mode and the batch-1 rule.
// ---------------------------------------------------------------------------------------

TEST_CASE("eval mode uses the running statistics and works at batch 1", "[batch_norm][eval]") {
    using shape_t = tn::shape<3, 2, 2>;
    tn::batch_norm<>::bind<double, shape_t> bn;
    set_affine(bn, 13);
    for (std::size_t k = 0; k < 4; ++k) {  // non-trivial running statistics
        const auto x = random_tensor<shape_t>(3, 300 + k, 1.0 + double(k), double(k) - 1.0);
        dtensor<shape_t> y(3);
        typename decltype(bn)::saved_type saved;
        bn.forward(x, y, saved);
    }
    const auto rm = to_vector(bn.running_mean()), rv = to_vector(bn.running_var());
    const auto x1 = random_tensor<shape_t>(1, 400, 2.0, 0.5);
    dtensor<shape_t> y1(1);
    bn.infer(x1, y1);
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t h = 0; h < 2; ++h)
            for (std::size_t w = 0; w < 2; ++w) {
                const double expected = bn.gamma()[c] * (x1(0, c, h, w) - rm[c]) / std::sqrt(rv[c] + 1e-5) + bn.beta()[c];
                CHECK_CLOSE(y1(0, c, h, w), expected, 1e-12);
            }
    // Eval mode does not touch the running statistics.
    CHECK(to_vector(bn.running_mean()) == rm);
    CHECK(to_vector(bn.running_var()) == rv);

    // And it is not train mode: on a batch, eval output differs from the batch-normalised one.
    const auto x4 = random_tensor<shape_t>(4, 401, 3.0, 2.0);
    dtensor<shape_t> y_eval(4), y_train(4);
    bn.infer(x4, y_eval);
    tn::batch_norm<>::bind<double, shape_t> copy = bn;
    typename decltype(bn)::saved_type saved;
    copy.forward(x4, y_train, saved);
    double diff = 0;
    for (std::size_t i = 0; i < y_eval.size(); ++i) diff = std::max(diff, std::abs(y_eval.data()[i] - y_train.data()[i]));
    CHECK(diff > 0.1);

    // Through a network: eval() then forward at batch 1, and the const infer().
    tn::basic_net<double, tn::input<3, 2, 2>, tn::batch_norm<>> net(0);
    net.layer<0>() = bn;
    net.eval();
    const auto& yn = net.forward(x1);
    REQUIRE(yn.batch() == 1);
    for (std::size_t i = 0; i < yn.size(); ++i) CHECK(yn.data()[i] == y1.data()[i]);
    const auto yi = net.infer(x1);
    for (std::size_t i = 0; i < yi.size(); ++i) CHECK(yi.data()[i] == y1.data()[i]);
}

TEST_CASE("eval mode: a sample's output does not depend on the rest of the batch (bit-identical)", "[batch_norm][eval]") {
    using shape_t = tn::shape<2, 3, 3>;
    tn::basic_net<double, tn::input<2, 3, 3>, tn::conv2d<2, 4, 3, 1, tn::same, tn::identity, tn::no_bias>,
                  tn::batch_norm<>, tn::relu>
        net(5);
    set_affine(net.layer<1>(), 14);
    for (std::size_t k = 0; k < 3; ++k) net.forward(random_tensor<shape_t>(4, 500 + k));  // train mode
    net.eval();
    const std::size_t B = 6;
    const auto batch = random_tensor<shape_t>(B, 600, 1.5);
    const auto all = net.infer(batch);
    auto others_changed = batch;  // the same samples, every other row replaced by something else
    for (std::size_t b = 0; b < B; ++b) {
        dtensor<shape_t> one(1);
        std::copy(batch.sample(b).begin(), batch.sample(b).end(), one.sample(0).begin());
        const auto& alone = net.forward(one);  // eval mode, batch 1
        for (std::size_t i = 0; i < alone.size(); ++i) CHECK(alone.data()[i] == all.sample(b)[i]);
    }
    for (std::size_t b = 1; b < B; ++b)
        for (auto& v : others_changed.sample(b)) v = 1e6 * v - 37.0;
    const auto changed = net.infer(others_changed);
    for (std::size_t i = 0; i < all.sample(0).size(); ++i) CHECK(changed.sample(0)[i] == all.sample(0)[i]);
}

TEST_CASE("train mode at batch 1 is an error with a clear message", "[batch_norm][eval]") {
    SECTION("the layer") {
        tn::batch_norm<>::bind<double, tn::shape<4>> bn;
        const auto x = random_tensor<tn::shape<4>>(1, 700);
        dtensor<tn::shape<4>> y(1);
        typename decltype(bn)::saved_type saved;
        REQUIRE_THROWS_AS(bn.forward(x, y, saved), std::invalid_argument);
        REQUIRE_THROWS_WITH(bn.forward(x, y, saved),
                            Catch::StartsWith("batch_norm: train mode needs a batch of at least 2 samples") &&
                                Catch::Contains("got batch 1") && Catch::Contains("eval mode"));
        // Nothing was updated.
        CHECK(to_vector(bn.running_mean()) == std::vector<double>(4, 0.0));
        CHECK(to_vector(bn.running_var()) == std::vector<double>(4, 1.0));
        // Batch 2 is fine, and eval at batch 1 is fine.
        const auto x2 = random_tensor<tn::shape<4>>(2, 701);
        dtensor<tn::shape<4>> y2(2);
        CHECK_NOTHROW(bn.forward(x2, y2, saved));
        CHECK_NOTHROW(bn.infer(x, y));
    }
    SECTION("a network names the layer's position and spelling") {
        tn::basic_net<double, tn::input<1, 4, 4>, tn::conv2d<1, 2, 3, 1, tn::same>, tn::batch_norm<>> net(0);
        const auto x = random_tensor<tn::shape<1, 4, 4>>(1, 702);
        REQUIRE_THROWS_AS(net.forward(x), std::invalid_argument);
        REQUIRE_THROWS_WITH(net.forward(x), Catch::StartsWith("layer 1 (batch_norm): batch_norm: train mode needs a "
                                                              "batch of at least 2 samples") &&
                                                Catch::Contains("got batch 1"));
        net.eval();
        CHECK_NOTHROW(net.forward(x));
    }
    SECTION("conv_bn") {
        tn::basic_net<double, tn::input<1, 4, 4>, tn::conv_bn<1, 2, 3, 1, tn::same>> net(0);
        const auto x = random_tensor<tn::shape<1, 4, 4>>(1, 703);
        REQUIRE_THROWS_WITH(net.forward(x), Catch::StartsWith("layer 0 (conv_bn<1, 2, 3, 1, same>): conv_bn: train "
                                                              "mode needs a batch of at least 2 samples"));
        net.eval();
        CHECK_NOTHROW(net.forward(x));
    }
}

TEST_CASE("set_bn_momentum rejects 0 and values above 1", "[batch_norm][running]") {
    tn::batch_norm<>::bind<double, tn::shape<2>> bn;
    for (const double bad : {0.0, -0.1, 1.0000001, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
        INFO("momentum " << bad);
        REQUIRE_THROWS_AS(bn.set_bn_momentum(bad), std::invalid_argument);
        REQUIRE_THROWS_WITH(bn.set_bn_momentum(bad), Catch::Contains("momentum") && Catch::Contains("must be in (0, 1]"));
        CHECK(bn.momentum() == 0.1);  // unchanged
    }
    CHECK_NOTHROW(bn.set_bn_momentum(1.0));
    CHECK(bn.momentum() == 1.0);
    CHECK_NOTHROW(bn.set_bn_momentum(1e-6));
    CHECK(bn.momentum() == 1e-6);

    tn::basic_net<double, tn::input<2, 2, 2>, tn::conv_bn<2, 2, 1, 1, tn::valid>, tn::batch_norm<>> net(0);
    REQUIRE_THROWS_AS(net.set_bn_momentum(0.0), std::invalid_argument);
    REQUIRE_THROWS_AS(net.set_bn_momentum(2.0), std::invalid_argument);
    net.set_bn_momentum(0.25);
    CHECK(net.layer<0>().norm().momentum() == 0.25);
    CHECK(net.layer<1>().momentum() == 0.25);
}

// ---------------------------------------------------------------------------------------
// 6. eps, per-channel vs per-feature, and conv_bn.
// ---------------------------------------------------------------------------------------

TEST_CASE("eps is a compile-time std::ratio, 1e-5 by default", "[batch_norm][eps]") {
    static_assert(tn::batch_norm<>::eps == 1e-5);
    static_assert(tn::batch_norm<std::ratio<1, 1000>>::eps == 1e-3);
    CHECK(tn::batch_norm<>::describe() == "batch_norm");
    CHECK(tn::batch_norm<std::ratio<1, 1000>>::describe() == "batch_norm<eps=1/1000>");

    // The spelling used in docs/batch-norm.md:
    using net_with_eps = typenet::basic_net<double, typenet::input<4>, typenet::batch_norm<std::ratio<1, 1000>>>;
    net_with_eps net(0);
    const auto x = random_tensor<tn::shape<4>>(3, 800, 0.05);  // small variance, so eps matters
    const auto dy = random_tensor<tn::shape<4>>(3, 801);
    const auto& y = net.forward(x);
    const auto r = reference(3, 4, 1, x.data(), std::vector<double>(4, 1.0), std::vector<double>(4, 0.0), 1e-3, dy.data());
    const auto r_default = reference(3, 4, 1, x.data(), std::vector<double>(4, 1.0), std::vector<double>(4, 0.0), 1e-5,
                                     dy.data());
    double diff_default = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        CHECK_CLOSE(y.data()[i], r.y[i], 1e-12);
        diff_default = std::max(diff_default, std::abs(y.data()[i] - r_default.y[i]));
    }
    CHECK(diff_default > 1e-3);
}

TEST_CASE("per feature vs per channel: flat inputs normalise each feature, C,H,W inputs each channel over batch*H*W",
          "[batch_norm]") {
    static_assert(tn::batch_norm<>::bind<double, tn::shape<6>>::parameter_count == 12);  // gamma, beta per feature
    static_assert(tn::batch_norm<>::bind<double, tn::shape<6>>::state_count == 12);
    static_assert(tn::batch_norm<>::bind<double, tn::shape<3, 4, 5>>::parameter_count == 6);  // per channel
    static_assert(tn::batch_norm<>::bind<double, tn::shape<3, 4, 5>>::state_count == 6);
    // Per channel: every channel of the output has mean 0 and biased variance ~1 over batch*H*W.
    tn::batch_norm<>::bind<double, tn::shape<3, 4, 5>> bn;
    const auto x = random_tensor<tn::shape<3, 4, 5>>(2, 900, 4.0, 3.0);
    dtensor<tn::shape<3, 4, 5>> y(2);
    typename decltype(bn)::saved_type saved;
    bn.forward(x, y, saved);
    for (std::size_t c = 0; c < 3; ++c) {
        double mean = 0, var = 0;
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t h = 0; h < 4; ++h)
                for (std::size_t w = 0; w < 5; ++w) mean += y(b, c, h, w) / 40;
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t h = 0; h < 4; ++h)
                for (std::size_t w = 0; w < 5; ++w) var += (y(b, c, h, w) - mean) * (y(b, c, h, w) - mean) / 40;
        CHECK_CLOSE(mean, 0.0, 1e-12);
        CHECK_CLOSE(var, 1.0, 1e-5);  // var / (var + eps), var ~ 16
    }
}

namespace {
// conv_bn<InC, OutC, K, S, Pad> against conv2d<..., identity, no_bias> -> batch_norm -> relu
// with the same weights, over a few train steps (forward, backward, running statistics) and
// then in eval mode.
template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Pad, std::size_t H, std::size_t W>
void check_conv_bn_equals_composition(std::uint64_t seed) {
    using fused_net = tn::basic_net<double, tn::input<InC, H, W>, tn::conv_bn<InC, OutC, K, S, Pad>>;
    using split_net = tn::basic_net<double, tn::input<InC, H, W>, tn::conv2d<InC, OutC, K, S, Pad, tn::identity, tn::no_bias>,
                                    tn::batch_norm<>, tn::relu>;
    static_assert(fused_net::parameter_count == split_net::parameter_count);
    static_assert(fused_net::state_count == split_net::state_count);
    fused_net fused(seed);
    split_net split(seed + 1);  // different seed: the copy below must be what makes them equal
    set_affine(fused.template layer<0>().norm(), seed + 2);

    // Copy every parameter of the fused layer into the three layers, in visiting order
    // (weight, gamma, beta in both).
    std::vector<std::vector<double>> values;
    std::vector<std::string> local_names;
    fused.for_each_parameter([&](tn::parameter_view<double> p) {
        values.emplace_back(p.value.begin(), p.value.end());
        const std::string full(p.name);
        local_names.push_back(full.substr(full.rfind('.') + 1));
    });
    std::size_t k = 0;
    split.for_each_parameter([&](tn::parameter_view<double> p) {
        REQUIRE(k < values.size());
        const std::string full(p.name);
        CHECK(full.substr(full.rfind('.') + 1) == local_names[k]);
        REQUIRE(p.value.size() == values[k].size());
        std::copy(values[k].begin(), values[k].end(), p.value.begin());
        ++k;
    });
    REQUIRE(k == 3);
    fused.set_bn_momentum(0.3);
    split.set_bn_momentum(0.3);

    using in_shape = tn::shape<InC, H, W>;
    using out_shape = typename fused_net::output_shape;
    static_assert(std::is_same_v<out_shape, typename split_net::output_shape>);
    for (std::size_t step = 0; step < 3; ++step) {
        const std::size_t batch = 2 + step;
        const auto x = random_tensor<in_shape>(batch, seed * 10 + step);
        const auto dy = random_tensor<out_shape>(batch, seed * 10 + 5 + step);
        fused.zero_grad();
        split.zero_grad();
        const auto& ya = fused.forward(x);
        const auto& yb = split.forward(x);
        std::size_t positive = 0;
        for (std::size_t i = 0; i < ya.size(); ++i) {
            CHECK_CLOSE(ya.data()[i], yb.data()[i], 1e-12);
            positive += ya.data()[i] > 0;
        }
        CHECK(positive > 0);          // the relu is neither all-on ...
        CHECK(positive < ya.size());  // ... nor all-off
        const auto& dxa = fused.backward(dy);
        const auto& dxb = split.backward(dy);
        for (std::size_t i = 0; i < dxa.size(); ++i) CHECK_CLOSE(dxa.data()[i], dxb.data()[i], 1e-12);
        for (const char* name : {"weight", "gamma", "beta"}) {
            const auto ga = gradient_of(fused, name), gb = gradient_of(split, name);
            REQUIRE(ga.size() == gb.size());
            for (std::size_t i = 0; i < ga.size(); ++i) {
                INFO(name << " " << i);
                CHECK_CLOSE(ga[i], gb[i], 1e-12 * (1 + std::abs(gb[i])));
            }
        }
        for (const char* name : {"running_mean", "running_var"}) {
            const auto sa = state_of(fused, name), sb = state_of(split, name);
            for (std::size_t c = 0; c < OutC; ++c) CHECK_CLOSE(sa[c], sb[c], 1e-12);
        }
    }
    fused.eval();
    split.eval();
    for (const std::size_t batch : {1u, 3u}) {
        const auto x = random_tensor<in_shape>(batch, seed * 10 + 9);
        const auto& ya = fused.forward(x);
        const auto& yb = split.forward(x);
        for (std::size_t i = 0; i < ya.size(); ++i) CHECK_CLOSE(ya.data()[i], yb.data()[i], 1e-12);
        const auto ia = fused.infer(x), ib = split.infer(x);
        for (std::size_t i = 0; i < ia.size(); ++i) CHECK_CLOSE(ia.data()[i], ib.data()[i], 1e-12);
    }
}
}  // namespace

TEST_CASE("conv_bn equals conv2d<..., identity, no_bias> -> batch_norm -> relu in train and eval mode, with equal gradients",
          "[batch_norm][conv_bn]") {
    SECTION("3x3, stride 1, same") { check_conv_bn_equals_composition<2, 3, 3, 1, tn::same, 5, 5>(1); }
    SECTION("3x3, stride 2, valid") { check_conv_bn_equals_composition<3, 4, 3, 2, tn::valid, 7, 7>(2); }
    SECTION("1x1, stride 1, same") { check_conv_bn_equals_composition<2, 2, 1, 1, tn::same, 3, 4>(3); }
}

TEST_CASE("group norm is per sample with no running statistics and its gradient sums to zero per group",
          "[group_norm]") {
    // group_norm<2> on 4 channels: groups {0, 1} and {2, 3}, m = 2 * 3 * 3 values each.
    using net = tn::basic_net<double, tn::input<4, 3, 3>, tn::group_norm<2>>;
    net a;
    a.initialize(7);
    auto& layer = a.layer<0>();
    tn::rng g(11);
    for (auto& v : layer.gamma()) v = g.uniform(0.5, 1.5);
    for (auto& v : layer.beta()) v = g.normal();
    static_assert(net::state_count == 0);
    tn::tensor<double, tn::shape<4, 3, 3>> x(3), dy(3);
    for (auto& v : x.flat()) v = 3.0 + 2.0 * g.normal();
    for (auto& v : dy.flat()) v = g.normal();
    auto copy = [](const auto& t) { return std::vector<double>(t.data(), t.data() + t.size()); };
    a.train();
    const auto y_train = copy(a.forward(x));
    const auto dx = copy(a.backward(dy));
    // Train mode = eval mode, and sample 1 alone (batch 1, train mode) gives its row of batch 3.
    a.eval();
    CHECK(copy(a.forward(x)) == y_train);
    tn::tensor<double, tn::shape<4, 3, 3>> one(1);
    std::copy(x.data() + 36, x.data() + 72, one.data());
    a.train();
    const auto y_one = copy(a.forward(one));
    CHECK(std::equal(y_one.begin(), y_one.end(), y_train.begin() + 36));
    // Sum of dx over each sample's group: 0 (within rounding of the terms, |dx| ~ 1).
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t grp = 0; grp < 2; ++grp) {
            double sum = 0;
            for (std::size_t i = 0; i < 18; ++i) sum += dx[b * 36 + grp * 18 + i];
            CHECK(std::fabs(sum) < 1e-12);
        }
}

TEST_CASE("batch norm over groups of samples is batch norm of each group with the running statistics pooled",
          "[batch_norm][bn_group]") {
    // Batch 7 in groups of 3: [0, 3) and [3, 7) (the remainder joins the last group). The grouped
    // layer must give what two separate batch-norm layers give on the two groups: outputs, input
    // gradients, the parameter gradients summed; and the running statistics must take the batch
    // mean and the pooled within-group variance sum_g m_g var_g / sum_g (m_g - 1).
    using shape = tn::shape<3, 2, 2>;
    using net_t = tn::basic_net<double, tn::input<3, 2, 2>, tn::conv_bn<3, 3, 1, 1, tn::same>>;
    constexpr std::size_t S = 12;  // values per sample
    net_t grouped, a, b;
    grouped.initialize(3);
    tn::rng g(5);
    for (auto& v : grouped.layer<0>().norm().gamma()) v = g.uniform(0.5, 1.5);
    for (auto& v : grouped.layer<0>().norm().beta()) v = g.normal();
    for (auto* n : {&a, &b}) {
        n->initialize(3);
        n->layer<0>().conv().weight() = grouped.layer<0>().conv().weight();
        n->layer<0>().norm().gamma() = grouped.layer<0>().norm().gamma();
        n->layer<0>().norm().beta() = grouped.layer<0>().norm().beta();
    }
    grouped.set_bn_group(3);
    tn::tensor<double, shape> x(7), dy(7), xa(3), dya(3), xb(4), dyb(4);
    for (auto& v : x.flat()) v = 1.0 + g.normal();
    for (auto& v : dy.flat()) v = g.normal();
    std::copy(x.data(), x.data() + 3 * S, xa.data());
    std::copy(x.data() + 3 * S, x.data() + 7 * S, xb.data());
    std::copy(dy.data(), dy.data() + 3 * S, dya.data());
    std::copy(dy.data() + 3 * S, dy.data() + 7 * S, dyb.data());
    auto copy = [](const auto& t) { return std::vector<double>(t.data(), t.data() + t.size()); };
    for (auto* n : {&grouped, &a, &b}) n->train();
    const auto y = copy(grouped.forward(x));
    const auto dx = copy(grouped.backward(dy));
    auto ya = copy(a.forward(xa)), dxa = copy(a.backward(dya));
    const auto yb = copy(b.forward(xb)), dxb = copy(b.backward(dyb));
    ya.insert(ya.end(), yb.begin(), yb.end());
    dxa.insert(dxa.end(), dxb.begin(), dxb.end());
    auto close = [](const std::vector<double>& p, const std::vector<double>& q) {
        double worst = 0, scale = 1e-300;
        for (std::size_t i = 0; i < p.size(); ++i) worst = std::max(worst, std::fabs(p[i] - q[i])), scale = std::max(scale, std::fabs(q[i]));
        return worst / scale;
    };
    CHECK(close(y, ya) < 1e-13);
    CHECK(close(dx, dxa) < 1e-13);
    auto& gl = grouped.layer<0>();
    std::vector<double> dg, dgs;
    gl.for_each_parameter([&](auto p) { dg.insert(dg.end(), p.gradient.begin(), p.gradient.end()); });
    std::vector<double> ga, gb;
    a.layer<0>().for_each_parameter([&](auto p) { ga.insert(ga.end(), p.gradient.begin(), p.gradient.end()); });
    b.layer<0>().for_each_parameter([&](auto p) { gb.insert(gb.end(), p.gradient.begin(), p.gradient.end()); });
    for (std::size_t i = 0; i < ga.size(); ++i) dgs.push_back(ga[i] + gb[i]);
    CHECK(close(dg, dgs) < 1e-13);
    // Running statistics (momentum 0.1 from mean 0, var 1), from the convolution's output z.
    tn::basic_net<double, tn::input<3, 2, 2>, tn::conv2d<3, 3, 1, 1, tn::same, tn::identity, tn::no_bias>> conv;
    conv.layer<0>().weight() = gl.conv().weight();
    conv.eval();
    const auto z = copy(conv.forward(x));
    for (std::size_t c = 0; c < 3; ++c) {
        double mean_all = 0, ss = 0, dof = 0;
        for (const auto& [b0, b1] : {std::pair<std::size_t, std::size_t>{0, 3}, {3, 7}}) {
            double m = 0, v = 0;
            const double count = double((b1 - b0) * 4);
            for (std::size_t s = b0; s < b1; ++s)
                for (std::size_t i = 0; i < 4; ++i) m += z[s * S + c * 4 + i] / count;
            for (std::size_t s = b0; s < b1; ++s)
                for (std::size_t i = 0; i < 4; ++i) v += (z[s * S + c * 4 + i] - m) * (z[s * S + c * 4 + i] - m);
            mean_all += m * count / 28.0;
            ss += v;
            dof += count - 1.0;
        }
        CHECK(gl.norm().running_mean()[c] == Approx(0.1 * mean_all).epsilon(1e-12));
        CHECK(gl.norm().running_var()[c] == Approx(0.9 + 0.1 * ss / dof).epsilon(1e-12));
    }
}

TEST_CASE("set_bn_group: 0 and groups as large as the batch are plain batch norm and 1 is refused",
          "[batch_norm][bn_group]") {
    // Everything a step touches must be bit for bit plain batch norm's: outputs, input gradient,
    // parameter gradients and running statistics, for a group of the whole batch (16), one larger
    // (20), and a group setting switched back to 0.
    using net_t = tn::net<tn::input<4, 3, 3>, tn::conv_bn<4, 4, 3, 1, tn::same>, tn::batch_norm<>>;
    tn::tensor<float, tn::shape<4, 3, 3>> x(16), dy(16);
    tn::rng g(3);
    for (auto& v : x.flat()) v = float(g.normal());
    for (auto& v : dy.flat()) v = float(g.normal());
    // Two training steps' forward and backward; everything they leave behind, in one vector.
    auto run = [&](net_t& n) {
        n.train();
        std::vector<float> out;
        for (int step = 0; step < 2; ++step) {
            const auto& y = n.forward(x);
            out.insert(out.end(), y.data(), y.data() + y.size());
            const auto& dx = n.backward(dy);
            out.insert(out.end(), dx.data(), dx.data() + dx.size());
        }
        n.for_each_parameter([&](auto p) { out.insert(out.end(), p.gradient.begin(), p.gradient.end()); });
        n.for_each_state([&](auto s) { out.insert(out.end(), s.value.begin(), s.value.end()); });
        return out;
    };
    net_t plain;
    plain.initialize(9);
    const auto want = run(plain);
    // y and dx twice; conv weight, gamma and beta twice; running mean and variance twice.
    REQUIRE(want.size() == 2 * (2 * 16 * 36) + (4 * 4 * 9 + 2 * 4 + 2 * 4) + 2 * 2 * 4);
    for (std::size_t n : {16, 20, 0}) {
        net_t other;
        other.initialize(9);
        if (n == 0) other.set_bn_group(4);  // then back to whole batches
        other.set_bn_group(n);
        CAPTURE(n);
        CHECK(run(other) == want);
    }
    REQUIRE_THROWS_WITH(plain.set_bn_group(1), Catch::Contains("at least 2 samples"));
    REQUIRE_THROWS_WITH(plain.layer<1>().set_bn_group(1), Catch::Contains("at least 2"));
}

namespace {
// Batch renormalisation written out from Ioffe 2017 (algorithm 1) for a (batch, C, spatial)
// buffer in double, with r and d either computed (r_in empty) or given (held fixed).
struct renorm_ref {
    std::vector<double> y, r, d, mean, var;
};
renorm_ref batch_renorm_reference(const std::vector<double>& x, std::size_t B, std::size_t C, std::size_t S,
                                  const std::vector<double>& gamma, const std::vector<double>& beta,
                                  const std::vector<double>& rmean, const std::vector<double>& rvar, double rmax,
                                  double dmax, const std::vector<double>& r_in = {}, const std::vector<double>& d_in = {}) {
    const double eps = 1e-5;
    renorm_ref o;
    o.y.resize(x.size());
    for (std::size_t c = 0; c < C; ++c) {
        double m = 0, v = 0;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t i = 0; i < S; ++i) m += x[(b * C + c) * S + i] / double(B * S);
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t i = 0; i < S; ++i) v += std::pow(x[(b * C + c) * S + i] - m, 2) / double(B * S);
        const double sb = std::sqrt(v + eps), s = std::sqrt(rvar[c] + eps);
        const double r = r_in.empty() ? std::clamp(sb / s, 1 / rmax, rmax) : r_in[c];
        const double d = d_in.empty() ? std::clamp((m - rmean[c]) / s, -dmax, dmax) : d_in[c];
        o.r.push_back(r), o.d.push_back(d), o.mean.push_back(m), o.var.push_back(v);
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t i = 0; i < S; ++i) {
                const std::size_t j = (b * C + c) * S + i;
                o.y[j] = gamma[c] * ((x[j] - m) / sb * r + d) + beta[c];
            }
    }
    return o;
}
}  // namespace

TEST_CASE("batch renorm: train mode against the paper's algorithm and its VJP with r and d held fixed",
          "[batch_renorm]") {
    constexpr std::size_t B = 5, C = 3, S = 4;
    using net_t = tn::basic_net<double, tn::input<3, 2, 2>, tn::batch_renorm<>>;
    net_t net;
    net.initialize(1);
    auto& core = net.layer<0>();
    // Running statistics that make r clip at rmax (channel 1: sigma 0.1), d clip at dmax
    // (channel 1: mean far from -3), and neither (channel 2).
    const std::vector<double> rmean{0.5, -3.0, 0.1}, rvar{4.0, 0.01, 1.2}, gamma{1.3, 0.7, -0.9}, beta{0.2, -0.4, 0.6};
    std::copy(rmean.begin(), rmean.end(), core.running_mean().begin());
    std::copy(rvar.begin(), rvar.end(), core.running_var().begin());
    std::copy(gamma.begin(), gamma.end(), core.gamma().begin());
    std::copy(beta.begin(), beta.end(), core.beta().begin());
    net.set_renorm_schedule({0, 100, 50, 3.0, 5.0});
    net.set_train_step(200);  // past both ramps: rmax 3, dmax 5
    tn::tensor<double, tn::shape<3, 2, 2>> x(B), dy(B);
    tn::rng g(17);
    for (auto& v : x.flat()) v = 0.8 + 1.5 * g.normal();
    for (auto& v : dy.flat()) v = g.normal();
    const std::vector<double> xv(x.data(), x.data() + x.size()), dyv(dy.data(), dy.data() + dy.size());
    const auto ref = batch_renorm_reference(xv, B, C, S, gamma, beta, rmean, rvar, 3.0, 5.0);
    REQUIRE(ref.r[1] == 3.0);          // clipped
    REQUIRE(std::fabs(ref.d[1]) == 5.0);
    REQUIRE(ref.r[2] > 1.0 / 3.0);      // not clipped
    REQUIRE(ref.r[2] < 3.0);
    net.train();
    const auto& y = net.forward(x);
    double err = 0;
    for (std::size_t i = 0; i < y.size(); ++i) err = std::max(err, std::fabs(y.data()[i] - ref.y[i]));
    CHECK(err < 1e-12);
    // The running statistics: as batch norm's (momentum 0.1, the variance times n / (n - 1)).
    for (std::size_t c = 0; c < C; ++c) {
        CHECK(core.running_mean()[c] == Approx(0.9 * rmean[c] + 0.1 * ref.mean[c]).epsilon(1e-13));
        CHECK(core.running_var()[c] ==
              Approx(0.9 * rvar[c] + 0.1 * ref.var[c] * double(B * S) / double(B * S - 1)).epsilon(1e-13));
    }
    // The VJP against central differences of <dy, y(x)> with r and d held at this batch's values.
    net.zero_grad();
    const auto& dxt = net.backward(dy);
    const std::vector<double> dx(dxt.data(), dxt.data() + dxt.size());
    auto objective = [&](const std::vector<double>& xx, const std::vector<double>& gm, const std::vector<double>& bt) {
        const auto o = batch_renorm_reference(xx, B, C, S, gm, bt, rmean, rvar, 3.0, 5.0, ref.r, ref.d);
        double f = 0;
        for (std::size_t i = 0; i < xx.size(); ++i) f += dyv[i] * o.y[i];
        return f;
    };
    const double h = 1e-6;
    double worst = 0, scale = 1e-8;
    for (std::size_t i = 0; i < xv.size(); ++i) {
        auto xp = xv, xm = xv;
        xp[i] += h, xm[i] -= h;
        const double fd = (objective(xp, gamma, beta) - objective(xm, gamma, beta)) / (2 * h);
        worst = std::max(worst, std::fabs(fd - dx[i])), scale = std::max(scale, std::fabs(fd));
    }
    CHECK(worst / scale < 1e-6);
    for (std::size_t c = 0; c < C; ++c) {
        auto gp = gamma, gm = gamma, bp = beta, bm = beta;
        gp[c] += h, gm[c] -= h, bp[c] += h, bm[c] -= h;
        const double fdg = (objective(xv, gp, beta) - objective(xv, gm, beta)) / (2 * h);
        const double fdb = (objective(xv, gamma, bp) - objective(xv, gamma, bm)) / (2 * h);
        std::vector<double> grads;
        core.for_each_parameter([&](auto p) { grads.push_back(p.gradient[c]); });
        CHECK(grads[0] == Approx(fdg).epsilon(1e-6));
        CHECK(grads[1] == Approx(fdb).epsilon(1e-6));
    }
    // Eval mode is batch norm's with the running statistics.
    net.eval();
    const auto& ye = net.forward(x);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t i = 0; i < S; ++i) {
                const std::size_t j = (b * C + c) * S + i;
                const double want = gamma[c] * (xv[j] - core.running_mean()[c]) / std::sqrt(core.running_var()[c] + 1e-5) +
                                    beta[c];
                CHECK(ye.data()[j] == Approx(want).epsilon(1e-12));
            }
}

TEST_CASE("batch renorm is batch norm until its schedule starts and the schedule ramps linearly",
          "[batch_renorm]") {
    const tn::renorm_schedule s{100, 300, 200, 3.0, 5.0};
    CHECK(s.at(0) == std::pair<double, double>{1.0, 0.0});
    CHECK(s.at(100) == std::pair<double, double>{1.0, 0.0});
    CHECK(s.at(200).first == Approx(2.0));
    CHECK(s.at(200).second == Approx(5.0));
    CHECK(s.at(150).second == Approx(2.5));
    CHECK(s.at(1000) == std::pair<double, double>{3.0, 5.0});
    // Before the start (rmax 1, dmax 0): the output of batch_norm on the same parameters.
    tn::basic_net<double, tn::input<4, 3, 3>, tn::conv_norm<4, 4, 3, 1, tn::same, tn::batch_renorm<>>> brn;
    tn::basic_net<double, tn::input<4, 3, 3>, tn::conv_bn<4, 4, 3, 1, tn::same>> bn;
    brn.initialize(21);
    bn.initialize(21);
    brn.set_renorm_schedule(s);
    brn.set_train_step(50);
    tn::tensor<double, tn::shape<4, 3, 3>> x(6);
    tn::rng g(2);
    for (auto& v : x.flat()) v = g.normal();
    brn.train();
    bn.train();
    const auto& a = brn.forward(x);
    const auto& b = bn.forward(x);
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a.data()[i] - b.data()[i]));
    CHECK(worst < 1e-14);
}
