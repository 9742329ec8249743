// Whole-network gradient checks in double: the gradient that net.backward() produces through
// the ONE chain-rule template of net.hpp, against central finite differences of the scalar
//   L(theta, x) = softmax_cross_entropy(net.forward(x), labels)   (train mode, random labels)
// for both reference networks (rebound to double, at batch 2) and for a small network that
// contains every kind of layer and is checked on ALL coordinates.
//
// Relative error, everywhere in this file, in the max norm over a set of coordinates:
//   rel_err(a, b) = max_i |a_i - b_i| / max(1e-8, max_i |a_i|, max_i |b_i|)
// The sampled set of every tensor includes its largest-magnitude gradient entry, so the
// denominator is the scale of that tensor's gradient (a tiny entry is checked in absolute
// terms against that scale, not against itself). Tolerance: 1e-6 everywhere.
//
// Why 1e-6 is achievable for a whole ReLU / max-pool network, and what the kink guard is for.
// The networks are piecewise smooth: ReLUs and max-pool switches cut parameter space into
// pieces, and a central difference whose two evaluations land in different pieces measures a
// kink, not the gradient. Measured on cifar_cnn_bn at batch 2 (about 2e5 ReLU units):
//   - per coordinate, h = 1e-4 crosses a kink in most evaluations (errors up to 1.5e-2);
//     h = 1e-5 still crosses sometimes; h = 1e-6 crossed in 1 of 72 differences, and
//     errors were <= 3e-8 (rounding: |L| * 1e-16 / h); h = 1e-7 gives <= 2.3e-7 (rounding);
//   - along a unit-norm random direction over all parameters, h = 1e-5 crosses nothing and
//     gives 4e-9; h >= 1e-4 crosses kinks; h = 1e-6 gives 1.2e-7 (rounding).
// A crossing only hurts when the unit that switches carries gradient (a ReLU feeding the
// winner of its max-pool window, say), so most crossings are harmless, but not all. Rather
// than loosening the tolerance, every difference is guarded: after each evaluation the
// "piece" the forward ran in is recorded (which outputs are exactly 0 after each ReLU, and
// the argmax of every max-pool window); when theta + h and theta - h are not both in the
// piece of theta, h is divided by 4 and the difference retried (at most twice; a difference
// that still crosses gives NaN and fails). Retries are reported with WARN.
//
// Steps: h = 1e-6 per parameter coordinate (errors <= 3e-8 measured); h = 1e-5 along the
// unit random direction and per input coordinate. The input needs the larger step because
// its gradient is small in cifar_cnn_nobn: without batch norm, PyTorch's default init
// (uniform +-1/sqrt(fan_in)) shrinks the signal layer by layer, max |dL/dx| ~ 1.4e-4, so the
// rounding of L at h = 1e-6 (~1.5e-10 absolute) is already ~1e-6 relative; at h = 1e-5 it is
// <= 1e-7, and the kink guard keeps the larger step safe.
//
// Runtime: a double forward of a reference network at batch 2 takes ~0.14 s with the naive
// reference kernels, so each reference network gets 4 coordinates per parameter tensor
// (first, last, largest gradient, one random), 6 input coordinates and one directional
// derivative (~150 forwards). The five test cases are independent, so ctest -j2 runs them
// side by side.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {

constexpr double tolerance = 1e-6;

double rel_err(std::span<const double> a, std::span<const double> b) {
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::isnan(a[i]) || std::isnan(b[i])) return std::numeric_limits<double>::infinity();
    double diff = 0, scale = 1e-8;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max({scale, std::abs(a[i]), std::abs(b[i])});
    }
    return diff / scale;
}

template <class Net>
class checker {
public:
    using in_t = typename Net::input_tensor;
    using out_t = typename Net::output_tensor;
    static constexpr std::size_t classes = Net::output_shape::size;

    struct param {
        std::string name;
        std::span<double> value, gradient;
    };

    checker(std::uint64_t seed, std::size_t batch) : net_(seed), x_(batch) {
        tn::rng g(seed + 1000);
        for (auto& v : x_.flat()) v = g.normal();
        for (std::size_t b = 0; b < batch; ++b) labels_.push_back(std::int32_t(g.below(classes)));
        net_.train();
        net_.for_each_parameter(
            [&](tn::parameter_view<double> p) { params_.push_back({std::string(p.name), p.value, p.gradient}); });
        save_generators(std::make_index_sequence<Net::depth>{});
        // The analytic gradient, then the piece of the piecewise-smooth loss that theta is in.
        net_.zero_grad();
        restore_generators(std::make_index_sequence<Net::depth>{});
        const auto& y = net_.forward(x_);
        out_t dz;
        loss_ = ce_.loss_and_gradient(y, labels_, dz);
        const auto& dx = net_.backward(dz);
        dx_.assign(dx.data(), dx.data() + dx.size());
        for (auto& p : params_) grads_.emplace_back(p.gradient.begin(), p.gradient.end());
        base_piece_ = piece();
    }

    std::vector<param>& params() { return params_; }
    const std::vector<double>& grad(std::size_t k) const { return grads_[k]; }
    const std::vector<double>& input_grad() const { return dx_; }
    in_t& input() { return x_; }
    std::size_t retries() const { return retries_; }
    double loss_value() const { return loss_; }

    // The central difference of L along a perturbation set(t) (which must also undo itself at
    // t = 0), with the kink guard described at the top of the file. Returns NaN when every
    // step crossed a kink.
    template <class Set>
    double central_difference(Set&& set, double h) {
        for (int attempt = 0; attempt < 3; ++attempt, h /= 4) {
            set(h);
            const double lp = loss();
            const bool same_p = piece() == base_piece_;
            set(-h);
            const double lm = loss();
            const bool same_m = piece() == base_piece_;
            set(0.0);
            if (same_p && same_m) return (lp - lm) / (2 * h);
            ++retries_;
        }
        return std::nan("");
    }

private:
    double loss() {
        restore_generators(std::make_index_sequence<Net::depth>{});  // the same dropout masks every time
        return ce_.loss(net_.forward(x_), labels_);
    }

    // Dropout layers draw their masks from their own generators: save them once, restore them
    // before every forward.
    template <std::size_t... I> void save_generators(std::index_sequence<I...>) {
        (save_generator<I>(), ...);
    }
    template <std::size_t I> void save_generator() {
        if constexpr (requires { net_.template layer<I>().generator(); })
            generator_states_[I] = net_.template layer<I>().generator().state();
    }
    template <std::size_t... I> void restore_generators(std::index_sequence<I...>) {
        (restore_generator<I>(), ...);
    }
    template <std::size_t I> void restore_generator() {
        if constexpr (requires { net_.template layer<I>().generator(); })
            net_.template layer<I>().generator().set_state(generator_states_[I]);
    }

    // The piece of parameter space the last forward ran in: for every layer output, which
    // entries are exactly 0 (ReLU, fused or standalone, and dropout; other layers give exact
    // zeros with probability 0), and for max-pool layers the argmax of every window (the
    // first maximum, as the kernel picks it).
    std::vector<std::uint32_t> piece() const {
        std::vector<std::uint32_t> sig;
        add_pieces(sig, std::make_index_sequence<Net::depth>{});
        return sig;
    }
    template <class Tensor> static void add_zero_pattern(std::vector<std::uint32_t>& sig, const Tensor& t) {
        for (std::size_t i = 0; i < t.size(); ++i) sig.push_back(t.data()[i] == 0.0);
    }
    template <std::size_t... I> void add_pieces(std::vector<std::uint32_t>& sig, std::index_sequence<I...>) const {
        (add_piece<I>(sig), ...);
    }
    template <std::size_t I> void add_piece(std::vector<std::uint32_t>& sig) const {
        using L = typename Net::template layer_type<I>;
        const auto& y = net_.template output_of<I>();
        for (std::size_t i = 0; i < y.size(); ++i) sig.push_back(y.data()[i] == 0.0);
        if constexpr (L::kind == std::string_view("residual")) {  // and every output inside the block
            const auto& saved = net_.template saved_of<I>();
            auto zeros = [&](const auto&... t) {
                ((add_zero_pattern(sig, t)), ...);
            };
            std::apply(zeros, saved.main.outputs);
            std::apply(zeros, saved.shortcut.outputs);
        }
        if constexpr (L::kind == std::string_view("max_pool")) {
            const double* in = [&] {
                if constexpr (I == 0) return x_.data();
                else return net_.template output_of<I - 1>().data();
            }();
            const auto g = L::geometry(x_.batch());
            const std::size_t plane = g.in_height * g.in_width;
            for (std::size_t bc = 0; bc < g.batch * g.channels; ++bc)
                for (std::size_t oh = 0; oh < g.out_height; ++oh)
                    for (std::size_t ow = 0; ow < g.out_width; ++ow) {
                        std::size_t best = 0;
                        bool first = true;
                        for (std::size_t u = 0; u < g.window; ++u)
                            for (std::size_t v = 0; v < g.window; ++v) {
                                const std::size_t idx = (oh * g.stride + u) * g.in_width + ow * g.stride + v;
                                if (first || in[bc * plane + idx] > in[bc * plane + best]) best = idx;
                                first = false;
                            }
                        sig.push_back(std::uint32_t(best));
                    }
        }
    }

    Net net_;
    in_t x_;
    std::vector<std::int32_t> labels_;
    tn::softmax_cross_entropy ce_;
    std::vector<param> params_;
    std::vector<std::vector<double>> grads_;
    std::vector<double> dx_;
    double loss_ = 0;
    std::vector<std::uint32_t> base_piece_;
    std::array<std::array<std::uint64_t, 4>, Net::depth> generator_states_{};
    std::size_t retries_ = 0;
};

// The coordinates checked in a tensor of n entries with gradient g: all of them, or the first,
// the last, the largest |g| and `random` uniformly drawn ones.
std::vector<std::size_t> coordinates(const std::vector<double>& g, std::size_t random, tn::rng& r, bool all) {
    std::vector<std::size_t> idx;
    if (all) {
        for (std::size_t i = 0; i < g.size(); ++i) idx.push_back(i);
        return idx;
    }
    std::size_t largest = 0;
    for (std::size_t i = 1; i < g.size(); ++i)
        if (std::abs(g[i]) > std::abs(g[largest])) largest = i;
    idx = {0, g.size() - 1, largest};
    for (std::size_t k = 0; k < random; ++k) idx.push_back(std::size_t(r.below(g.size())));
    std::sort(idx.begin(), idx.end());
    idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
    return idx;
}

// (a) L(theta + h v) - L(theta - h v) over 2h against <grad, v>, v a random unit vector over
// ALL parameters.
template <class Net>
void check_directional_derivative(checker<Net>& c, std::uint64_t seed) {
    tn::rng r(seed);
    auto& ps = c.params();
    std::vector<std::vector<double>> v(ps.size()), theta(ps.size());
    double norm2 = 0;
    for (std::size_t k = 0; k < ps.size(); ++k) {
        theta[k].assign(ps[k].value.begin(), ps[k].value.end());
        v[k].resize(ps[k].value.size());
        for (auto& e : v[k]) {
            e = r.normal();
            norm2 += e * e;
        }
    }
    double analytic = 0;
    for (std::size_t k = 0; k < ps.size(); ++k)
        for (std::size_t i = 0; i < v[k].size(); ++i) analytic += c.grad(k)[i] * (v[k][i] /= std::sqrt(norm2));
    const double numeric = c.central_difference(
        [&](double t) {
            for (std::size_t k = 0; k < ps.size(); ++k)
                for (std::size_t i = 0; i < v[k].size(); ++i) ps[k].value[i] = theta[k][i] + t * v[k][i];
        },
        1e-5);
    for (std::size_t k = 0; k < ps.size(); ++k)  // restore theta exactly
        std::copy(theta[k].begin(), theta[k].end(), ps[k].value.begin());
    const double a[] = {analytic}, n[] = {numeric};
    INFO("directional derivative: analytic " << analytic << ", finite difference " << numeric);
    REQUIRE(std::abs(analytic) > 1e-6);  // a meaningful direction
    CHECK(rel_err(a, n) <= tolerance);
}

// (b) coordinates of every parameter tensor. `zero_gradient` names the tensors whose gradient
// is zero by construction (a bias right before a batch norm, which subtracts it again): there
// the analytic gradient must be 0 up to rounding and the finite difference 0 up to the
// rounding of L / h, since a relative error against a zero scale means nothing.
template <class Net>
void check_parameter_coordinates(checker<Net>& c, std::uint64_t seed, std::size_t random, bool all,
                                 const std::vector<std::string>& zero_gradient = {}) {
    tn::rng r(seed);
    auto& ps = c.params();
    for (std::size_t k = 0; k < ps.size(); ++k) {
        const auto idx = coordinates(c.grad(k), random, r, all);
        std::vector<double> analytic, numeric;
        for (auto i : idx) {
            const double orig = ps[k].value[i];
            numeric.push_back(
                c.central_difference([&](double t) { ps[k].value[i] = t == 0.0 ? orig : orig + t; }, 1e-6));
            analytic.push_back(c.grad(k)[i]);
        }
        if (std::find(zero_gradient.begin(), zero_gradient.end(), ps[k].name) != zero_gradient.end()) {
            // Measured: analytic <= 6e-15 (rounding of a sum that cancels), numeric <= 2.3e-10 (one
            // rounding step of L over 2h), against gradients of 0.1 to 1.4 in the other tensors.
            for (std::size_t j = 0; j < idx.size(); ++j) {
                INFO(ps[k].name << " (zero by construction) coordinate " << idx[j] << ": analytic " << analytic[j]
                                << ", finite difference " << numeric[j]);
                CHECK(std::abs(analytic[j]) <= 1e-12);
                CHECK(std::abs(numeric[j]) <= 1e-8);
            }
            continue;
        }
        const double err = rel_err(analytic, numeric);
        INFO(ps[k].name << ": " << idx.size() << " coordinates, relative error " << err);
        CHECK(err <= tolerance);
    }
}

// (c) coordinates of the input gradient.
template <class Net>
void check_input_coordinates(checker<Net>& c, std::uint64_t seed, std::size_t random, bool all) {
    tn::rng r(seed);
    auto& x = c.input();
    const auto idx = coordinates(c.input_grad(), random, r, all);
    std::vector<double> analytic, numeric;
    for (auto i : idx) {
        const double orig = x.data()[i];
        numeric.push_back(c.central_difference([&](double t) { x.data()[i] = t == 0.0 ? orig : orig + t; }, 1e-5));
        analytic.push_back(c.input_grad()[i]);
    }
    const double err = rel_err(analytic, numeric);
    INFO("input: " << idx.size() << " coordinates, relative error " << err);
    CHECK(err <= tolerance);
}

// Kink crossings that were resolved by a smaller step are legitimate but worth seeing.
template <class Net>
void report_retries(const checker<Net>& c) {
    if (c.retries() > 0) WARN(c.retries() << " finite difference(s) crossed a ReLU / max-pool kink and were retried with h / 4");
}

using cnn_bn = tn::rebind_scalar<double, tn::models::cifar_cnn_bn>;
using cnn_nobn = tn::rebind_scalar<double, tn::models::cifar_cnn_nobn>;
constexpr std::size_t reference_batch = 2;

// Every kind of layer, small enough to check every coordinate:
// 2x6x6 -> conv_bn 3x6x6 -> max_pool 3x3x3 -> conv2d relu 4x3x3 -> global_avg_pool 4
//       -> dense 6 -> batch_norm 6 -> dropout 6 -> dense 3.
using small_net = tn::basic_net<double, tn::input<2, 6, 6>, tn::conv_bn<2, 3, 3, 1, tn::same>, tn::max_pool<2, 2>,
                                tn::conv2d<3, 4, 3, 1, tn::same, tn::relu>, tn::global_avg_pool, tn::dense<4, 6>,
                                tn::batch_norm<>, tn::dropout<>, tn::dense<6, 3>>;
static_assert(small_net::parameter_count == (54 + 6) + (108 + 4) + (24 + 6) + 12 + (18 + 3));

}  // namespace

TEST_CASE("cifar_cnn_bn (double): directional derivative and input gradient", "[net][gradient][bn]") {
    checker<cnn_bn> c(101, reference_batch);
    check_directional_derivative(c, 1);
    check_input_coordinates(c, 2, 3, false);
    report_retries(c);
}

TEST_CASE("cifar_cnn_bn (double): coordinates of every parameter tensor", "[net][gradient][bn]") {
    checker<cnn_bn> c(102, reference_batch);
    REQUIRE(c.params().size() == 18);
    check_parameter_coordinates(c, 3, 1, false);
    report_retries(c);
}

TEST_CASE("cifar_cnn_nobn (double): directional derivative and input gradient", "[net][gradient][nobn]") {
    checker<cnn_nobn> c(201, reference_batch);
    check_directional_derivative(c, 1);
    check_input_coordinates(c, 2, 3, false);
    report_retries(c);
}

TEST_CASE("cifar_cnn_nobn (double): coordinates of every parameter tensor", "[net][gradient][nobn]") {
    checker<cnn_nobn> c(202, reference_batch);
    REQUIRE(c.params().size() == 14);
    check_parameter_coordinates(c, 3, 1, false);
    report_retries(c);
}

// Residual blocks: identity shortcut (basic_block<4, 4, 1>), projection shortcut with stride 2
// (basic_block<4, 6, 2>), a block without batch norm whose sum is not followed by a ReLU, and
// a block whose shortcut is a branch of two layers; the fan-in VJP of each composes through the
// chain rule.
using residual_net = tn::basic_net<
    double, tn::input<2, 6, 6>, tn::conv_bn<2, 4, 3, 1, tn::same>, tn::basic_block<4, 4, 1>, tn::basic_block<4, 6, 2>,
    tn::residual<tn::branch<tn::conv2d<6, 6, 3, 1, tn::same, tn::relu>, tn::conv2d<6, 6, 3, 1, tn::same>>,
                 tn::identity_shortcut, tn::identity>,
    tn::residual<tn::branch<tn::conv2d<6, 5, 1, 1, tn::same>>, tn::branch<tn::conv2d<6, 5, 1, 1, tn::same, tn::relu>, tn::relu>>,
    tn::global_avg_pool, tn::dense<5, 3>>;
static_assert(residual_net::parameter_count ==
              (72 + 8) + 2 * (144 + 8) + (216 + 12 + 324 + 12 + 24 + 12) + 2 * (324 + 6) + 2 * (30 + 5) + 18);

TEST_CASE("residual network (identity, projection and branch shortcuts): all coordinates", "[net][gradient][residual]") {
    checker<residual_net> c(401, 3);
    REQUIRE(c.params().size() == 28);
    check_directional_derivative(c, 1);
    check_parameter_coordinates(c, 3, 0, true);
    check_input_coordinates(c, 2, 0, true);
    report_retries(c);
}

TEST_CASE("small network with every layer kind: all coordinates", "[net][gradient][small]") {
    checker<small_net> c(301, 4);
    REQUIRE(c.params().size() == 11);  // conv_bn w, gamma, beta; conv2d w, b; dense w, b; bn gamma, beta; dense w, b
    check_directional_derivative(c, 1);
    check_parameter_coordinates(c, 3, 0, true, {"4.dense.bias"});
    check_input_coordinates(c, 2, 0, true);
    report_retries(c);
}

