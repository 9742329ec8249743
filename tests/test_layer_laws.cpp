// The laws every bound layer must obey (layer.hpp), checked by ONE harness instantiated for
// every layer type through TEMPLATE_LIST_TEST_CASE, in double at batch 3:
//
//   (a) static facts: the input / output shape types are the ones written next to each case
//       below, the bound type models typenet::layer, and parameter_count / state_count match
//       the tensors that for_each_parameter / for_each_state visit;
//   (b) the input gradient of backward() equals central finite differences of the scalar
//       f(x) = <dy, forward(x)> for a random upstream gradient dy;
//   (c) the gradient of every parameter (for_each_parameter) likewise, with the gradients
//       zeroed first because backward() ACCUMULATES into them (and it does accumulate: a second
//       backward doubles them);
//   (d) eval agrees with train where it should: infer(x) == forward(x) bit for bit for
//       stateless deterministic layers; for batch norm (batch_norm, conv_bn) with the running
//       statistics set to the batch mean and the BIASED batch variance, within 1e-12; for
//       dropout infer is the identity. infer() of one sample at batch 1 equals its row at
//       batch 3 bit for bit;
//   (e) backward() overwrites dx completely (dx is prefilled with NaN), forward()/infer()
//       overwrite y completely, and backward() leaves the state (running statistics) alone;
//   (f) the optional memory savers of layer.hpp (backward with dy as scratch, backward_params,
//       backward_add, aliases_input) give exactly what backward() gives.
//
// Relative error, everywhere in this file, is taken in the max norm over a whole tensor:
//   rel_err(a, b) = max_i |a_i - b_i| / max(1e-8, max_i |a_i|, max_i |b_i|)
// and must be <= 1e-6 with central differences of step h = 1e-6. (Truncation error is
// O(h^2) ~ 1e-12 and rounding error ~ 1e-16 * |f| / h ~ 1e-10 for these small layers.)
//
// Randomness: fixed seeds; inputs are standard normal, so max-pool windows have no ties and a
// ReLU kink lies within h of an input only with probability ~1e-6 per element. Dropout is
// random: its generator state is saved once and restored before every forward, so every
// evaluation of f uses the same mask.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ratio>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {

constexpr std::size_t batch = 3;
constexpr double fd_step = 1e-6;
constexpr double fd_tolerance = 1e-6;

double rel_err(std::span<const double> a, std::span<const double> b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, scale = 1e-8;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max({scale, std::abs(a[i]), std::abs(b[i])});
    }
    return diff / scale;
}

bool any_nan(std::span<const double> v) {
    return std::any_of(v.begin(), v.end(), [](double d) { return std::isnan(d); });
}

bool bit_equal(std::span<const double> a, std::span<const double> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// A case of the table below: binds Spec to In in double and pins, at compile time, the output
// shape the layer must produce. The alias yields the bound layer type itself.
template <class Spec, class In, class ExpectedOut>
struct bound_case {
    static_assert(Spec::template check<typenet::error::at_layer<0>, In>(), "the spec must accept this input shape");
    using type = typename Spec::template bind<double, In>;
    static_assert(tn::layer<type>);
    static_assert(std::is_same_v<typename type::value_type, double>);
    static_assert(std::is_same_v<typename type::input_shape, In>);
    static_assert(std::is_same_v<typename type::output_shape, ExpectedOut>);
    static_assert(std::is_same_v<typename Spec::template output_shape<In>, ExpectedOut>);
};
template <class Spec, class In, class ExpectedOut>
using bound = typename bound_case<Spec, In, ExpectedOut>::type;

template <std::size_t... D> using S = tn::shape<D...>;
using tn::same;
using tn::valid;
using tn::relu;
using tn::identity;
using tn::no_bias;

using layer_cases = std::tuple<
    // conv2d: same / valid, stride 1 / 2, kernels 1, 3, 5, odd channel counts, bias or not,
    // relu or identity, square and even-sized inputs (same + stride 2 on an even input pads
    // asymmetrically in effect: the last row/column is never a window centre).
    bound<tn::conv2d<3, 4, 3, 1, same, relu>, S<3, 7, 7>, S<4, 7, 7>>,
    bound<tn::conv2d<3, 4, 3, 1, valid, identity>, S<3, 7, 7>, S<4, 5, 5>>,
    bound<tn::conv2d<3, 5, 3, 2, same, relu>, S<3, 7, 7>, S<5, 4, 4>>,         // (7 - 1) / 2 + 1 = 4
    bound<tn::conv2d<3, 5, 3, 2, valid, identity>, S<3, 9, 9>, S<5, 4, 4>>,    // (9 - 3) / 2 + 1 = 4
    bound<tn::conv2d<1, 3, 3, 2, same, identity>, S<1, 8, 8>, S<3, 4, 4>>,     // (8 - 1) / 2 + 1 = 4
    bound<tn::conv2d<3, 2, 1, 1, valid, identity>, S<3, 5, 5>, S<2, 5, 5>>,    // 1x1
    bound<tn::conv2d<3, 2, 1, 2, valid, relu>, S<3, 7, 7>, S<2, 4, 4>>,        // 1x1, stride 2
    bound<tn::conv2d<5, 3, 5, 1, same, relu, no_bias>, S<5, 6, 6>, S<3, 6, 6>>,
    bound<tn::conv2d<3, 3, 5, 1, valid, identity, no_bias>, S<3, 7, 7>, S<3, 3, 3>>,
    bound<tn::conv2d<3, 1, 5, 2, same, identity>, S<3, 5, 7>, S<1, 3, 4>>,     // non-square, 1 output channel
    // batch_norm per channel (C, H, W), per feature (flat), and with another eps.
    bound<tn::batch_norm<>, S<3, 4, 5>, S<3, 4, 5>>,
    bound<tn::batch_norm<>, S<7>, S<7>>,
    bound<tn::batch_norm<std::ratio<1, 1000>>, S<5, 2, 3>, S<5, 2, 3>>,
    // conv_bn (conv without bias -> batch norm -> relu), stride 1 and 2, same and valid.
    bound<tn::conv_bn<3, 4, 3, 1, same>, S<3, 6, 6>, S<4, 6, 6>>,
    bound<tn::conv_bn<3, 5, 3, 2, same>, S<3, 7, 7>, S<5, 4, 4>>,
    bound<tn::conv_bn<2, 3, 3, 1, valid>, S<2, 6, 6>, S<3, 4, 4>>,
    // Without the ReLU (a residual block's last layer and projection): with forward_add.
    bound<tn::conv_bn<3, 4, 3, 1, same, identity>, S<3, 6, 6>, S<4, 6, 6>>,
    bound<tn::conv_bn<3, 4, 1, 2, same, identity>, S<3, 7, 7>, S<4, 4, 4>>,
    // batch_renorm at its initial limits (rmax 1, dmax 0: batch norm; its clipped VJP is checked
    // in test_batch_norm.cpp), alone and after a convolution.
    bound<tn::batch_renorm<>, S<3, 4, 5>, S<3, 4, 5>>,
    bound<tn::batch_renorm<>, S<6>, S<6>>,
    bound<tn::conv_norm<3, 4, 3, 1, same, tn::batch_renorm<>, identity>, S<3, 6, 6>, S<4, 6, 6>>,
    // Per-sample normalisations (group_norm.hpp): groups of 2 and 3 channels, odd spatial
    // sizes, flat inputs (the features are the channels), another eps.
    bound<tn::group_norm<2>, S<4, 3, 3>, S<4, 3, 3>>,
    bound<tn::group_norm<3>, S<6, 2, 5>, S<6, 2, 5>>,
    bound<tn::group_norm<2>, S<6>, S<6>>,
    bound<tn::layer_norm<>, S<3, 4, 5>, S<3, 4, 5>>,
    bound<tn::layer_norm<>, S<7>, S<7>>,
    bound<tn::layer_norm<std::ratio<1, 1000>>, S<2, 3, 3>, S<2, 3, 3>>,
    bound<tn::instance_norm<>, S<3, 4, 4>, S<3, 4, 4>>,
    // conv_norm with each of them, ReLU or not (with identity: forward_add).
    bound<tn::conv_norm<3, 4, 3, 1, same, tn::group_norm<2>>, S<3, 6, 6>, S<4, 6, 6>>,
    bound<tn::conv_norm<3, 4, 3, 2, same, tn::layer_norm<>, identity>, S<3, 7, 7>, S<4, 4, 4>>,
    bound<tn::conv_norm<2, 3, 3, 1, valid, tn::instance_norm<>>, S<2, 6, 6>, S<3, 4, 4>>,
    bound<tn::conv_norm<3, 6, 1, 1, same, tn::group_norm<3>, identity>, S<3, 5, 5>, S<6, 5, 5>>,
    // Elementwise.
    bound<tn::relu, S<3, 4, 4>, S<3, 4, 4>>,
    bound<tn::relu, S<10>, S<10>>,
    bound<tn::identity, S<2, 3, 3>, S<2, 3, 3>>,
    // Pooling: non-overlapping and overlapping windows, non-square inputs.
    bound<tn::max_pool<2, 2>, S<3, 6, 6>, S<3, 3, 3>>,
    bound<tn::max_pool<2>, S<2, 4, 6>, S<2, 2, 3>>,
    bound<tn::max_pool<3, 2>, S<3, 7, 7>, S<3, 3, 3>>,
    bound<tn::avg_pool<2, 2>, S<3, 6, 6>, S<3, 3, 3>>,
    bound<tn::avg_pool<3, 2>, S<2, 7, 5>, S<2, 3, 2>>,
    bound<tn::global_avg_pool, S<3, 4, 5>, S<3>>,
    // Reshaping.
    bound<tn::flatten, S<3, 4, 5>, S<60>>,
    bound<tn::flatten, S<7>, S<7>>,
    // dense.
    bound<tn::dense<12, 5, relu>, S<12>, S<5>>,
    bound<tn::dense<7, 3, identity>, S<7>, S<3>>,
    bound<tn::dense<60, 4>, S<60>, S<4>>,
    bound<tn::dense<1, 1>, S<1>, S<1>>,
    // dropout (the mask is fixed by restoring the layer's generator before every forward).
    bound<tn::dropout<>, S<3, 4, 4>, S<3, 4, 4>>,
    bound<tn::dropout<std::ratio<1, 5>>, S<20>, S<20>>>;

template <class T, class Shape>
void fill_normal(tn::rng& g, tn::tensor<T, Shape>& t) {
    for (auto& v : t.flat()) v = T(g.normal());
}

template <class L>
constexpr bool is_batch_norm_like = L::kind == std::string_view("batch_norm") || L::kind == std::string_view("conv_bn") ||
                                    L::kind == std::string_view("batch_renorm") || L::kind == std::string_view("conv_brn");
template <class L>
constexpr bool is_dropout = L::kind == std::string_view("dropout");

template <class L> struct dropout_rate;
template <class T, class Spec, class In>
struct dropout_rate<tn::detail::dropout_layer<T, Spec, In>> {
    static constexpr double value = Spec::rate;
};

template <class L>
struct harness {
    using in_t = tn::tensor<double, typename L::input_shape>;
    using out_t = tn::tensor<double, typename L::output_shape>;

    L layer;
    std::array<std::uint64_t, 4> rng_state{};

    static constexpr bool has_generator = requires(L& l) { l.generator(); };

    void save_rng() {
        if constexpr (has_generator) rng_state = layer.generator().state();
    }
    void restore_rng() {
        if constexpr (has_generator) layer.generator().set_state(rng_state);
    }

    // Train-mode forward with the saved generator state (same dropout mask every time).
    void forward(const in_t& x, out_t& y, typename L::saved_type& s) {
        restore_rng();
        layer.forward(x, y, s);
    }
    // f(x) = <dy, forward(x)>
    double objective(const in_t& x, const out_t& dy) {
        out_t y(x.batch());
        typename L::saved_type s{};
        forward(x, y, s);
        double f = 0;
        for (std::size_t i = 0; i < y.size(); ++i) f += dy.data()[i] * y.data()[i];
        return f;
    }

    std::vector<tn::parameter_view<double>> parameters() {
        std::vector<tn::parameter_view<double>> ps;
        layer.for_each_parameter([&](tn::parameter_view<double> p) { ps.push_back(p); });
        return ps;
    }
    std::vector<tn::state_view<double>> states() {
        std::vector<tn::state_view<double>> ss;
        layer.for_each_state([&](tn::state_view<double> s) { ss.push_back(s); });
        return ss;
    }
    void zero_grad() {
        for (auto& p : parameters()) std::fill(p.gradient.begin(), p.gradient.end(), 0.0);
    }
    std::vector<std::vector<double>> gradients() {
        std::vector<std::vector<double>> gs;
        for (auto& p : parameters()) gs.emplace_back(p.gradient.begin(), p.gradient.end());
        return gs;
    }
    std::vector<double> state_snapshot() {
        std::vector<double> v;
        for (auto& s : states()) v.insert(v.end(), s.value.begin(), s.value.end());
        return v;
    }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("layer laws", "[layer][laws]", layer_cases) {
    using L = TestType;
    using in_shape = typename L::input_shape;
    using out_shape = typename L::output_shape;
    using in_t = tn::tensor<double, in_shape>;
    using out_t = tn::tensor<double, out_shape>;
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();

    // (a) static facts (the shapes are pinned by bound<> in the table above).
    STATIC_REQUIRE(tn::layer<L>);
    STATIC_REQUIRE(std::is_same_v<typename L::value_type, double>);
    STATIC_REQUIRE(tn::any_shape<in_shape>);
    STATIC_REQUIRE(tn::any_shape<out_shape>);
    INFO("layer: " << L::describe() << " on " << in_shape::to_string() << " -> " << out_shape::to_string());
    REQUIRE(!L::kind.empty());
    REQUIRE(!L::describe().empty());

    harness<L> h;
    tn::rng g(20240611);
    h.layer.initialize(g);
    // Normalisation parameters start at gamma = 1, beta = 0, which would hide a VJP that forgets
    // gamma: move every parameter away from its initial value.
    for (auto& p : h.parameters()) {
        for (auto& v : p.value) {
            if (p.role == tn::parameter_role::norm_scale) v = g.uniform(0.5, 1.5);
            else if (p.role == tn::parameter_role::norm_shift) v = 0.5 * g.normal();
        }
    }
    h.save_rng();

    {
        // Parameter and state views agree with the compile-time counts and with their dims;
        // names are unique within the layer.
        std::size_t params = 0, states = 0;
        std::set<std::string> names;
        for (auto& p : h.parameters()) {
            INFO("parameter " << p.name);
            REQUIRE(p.value.size() == p.gradient.size());
            std::size_t prod = 1;
            for (auto d : p.dims) prod *= d;
            REQUIRE(prod == p.value.size());
            REQUIRE(names.insert(std::string(p.name)).second);
            params += p.value.size();
        }
        for (auto& s : h.states()) {
            INFO("state " << s.name);
            std::size_t prod = 1;
            for (auto d : s.dims) prod *= d;
            REQUIRE(prod == s.value.size());
            REQUIRE(names.insert(std::string(s.name)).second);
            states += s.value.size();
        }
        REQUIRE(params == L::parameter_count);
        REQUIRE(states == L::state_count);
    }

    in_t x(batch);
    fill_normal(g, x);
    out_t dy(batch);
    fill_normal(g, dy);

    // The analytic VJP. (e) forward overwrites y, backward overwrites dx, state is untouched.
    out_t y(batch);
    y.fill(nan);
    typename L::saved_type saved{};
    h.forward(x, y, saved);
    REQUIRE_FALSE(any_nan(y.flat()));

    const std::vector<double> state_before = h.state_snapshot();
    h.zero_grad();
    in_t dx(batch);
    dx.fill(nan);
    h.layer.backward(x, y, dy, dx, saved);
    REQUIRE_FALSE(any_nan(dx.flat()));
    REQUIRE(h.state_snapshot() == state_before);
    const std::vector<std::vector<double>> grads = h.gradients();
    for (const auto& gr : grads) REQUIRE_FALSE(any_nan(gr));

    SECTION("backward overwrites dx and accumulates parameter gradients") {
        in_t dx2(batch);
        dx2.fill(1e300);
        h.layer.backward(x, y, dy, dx2, saved);
        REQUIRE(bit_equal(dx2.flat(), dx.flat()));
        const auto twice = h.gradients();
        for (std::size_t k = 0; k < grads.size(); ++k) {
            std::vector<double> doubled(grads[k]);
            for (auto& v : doubled) v *= 2;
            CHECK(rel_err(twice[k], doubled) <= 1e-12);
        }
    }

    SECTION("(f) the memory-saving members of layer.hpp agree with backward() bit for bit") {
        // dy as scratch: the rvalue overload (the const one for layers without it) may
        // overwrite dy but must give the same dx and parameter gradients.
        out_t scratch = dy;
        in_t dx3(batch);
        dx3.fill(1e300);
        h.zero_grad();
        h.layer.backward(x, y, std::move(scratch), dx3, saved);
        CHECK(bit_equal(dx3.flat(), dx.flat()));
        CHECK(h.gradients() == grads);
        // Only the parameter half: every built-in layer with parameters has it.
        if constexpr (L::parameter_count > 0) STATIC_REQUIRE(tn::has_backward_params<L>);
        if constexpr (tn::has_backward_params<L>) {
            out_t scratch2 = dy;
            h.zero_grad();
            h.layer.backward_params(x, y, std::move(scratch2), saved);
            CHECK(h.gradients() == grads);
        }
        // Adding into dx (the residual fan-in): dx + the backward's dx, bit for bit.
        if constexpr (tn::has_backward_add<L>) {
            out_t scratch3 = dy;
            in_t acc(batch);
            for (std::size_t i = 0; i < acc.size(); ++i) acc.data()[i] = 0.25 * double(i % 7) - 0.5;
            in_t expect = acc;
            for (std::size_t i = 0; i < acc.size(); ++i) expect.data()[i] = acc.data()[i] + dx.data()[i];
            h.zero_grad();
            h.layer.backward_add(x, y, std::move(scratch3), acc, saved);
            CHECK(bit_equal(acc.flat(), expect.flat()));
            CHECK(h.gradients() == grads);
        }
        // The residual sum in the layer's own output pass: forward / infer, then add (+ ReLU),
        // bit for bit; the same saved values, so the same VJP.
        if constexpr (tn::has_forward_add<L>) {
            std::vector<double> a(y.size());
            for (std::size_t i = 0; i < a.size(); ++i) a[i] = 0.375 * double(i % 9) - 1.5;
            for (const bool relu : {false, true}) {
                INFO((relu ? "forward_add with ReLU" : "forward_add"));
                auto sum = [&](const out_t& v) {
                    out_t e(batch);
                    for (std::size_t i = 0; i < e.size(); ++i) {
                        const double t = v.data()[i] + a[i];
                        e.data()[i] = relu ? (t > 0 ? t : 0.0) : t;
                    }
                    return e;
                };
                out_t ya(batch);
                typename L::saved_type saved_a{};
                h.layer.forward_add(x, a.data(), relu, ya, saved_a);
                CHECK(bit_equal(ya.flat(), sum(y).flat()));
                out_t yi(batch), yia(batch);  // (forward_add moved the running statistics)
                h.layer.infer(x, yi);
                h.layer.infer_add(x, a.data(), relu, yia);
                CHECK(bit_equal(yia.flat(), sum(yi).flat()));
                in_t dx4(batch);
                h.zero_grad();
                h.layer.backward(x, ya, dy, dx4, saved_a);
                CHECK(bit_equal(dx4.flat(), dx.flat()));
                CHECK(h.gradients() == grads);
            }
        }
        // A layer that aliases its input: the output is the input, element for element.
        if constexpr (tn::aliases_input<L>) {
            STATIC_REQUIRE(in_shape::size == out_shape::size);
            CHECK(bit_equal(y.flat(), x.flat()));
            CHECK(bit_equal(dx.flat(), dy.flat()));
        }
    }

    SECTION("(b) input gradient against central finite differences") {
        std::vector<double> numeric(x.size());
        in_t xp = x;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double orig = xp.data()[i];
            xp.data()[i] = orig + fd_step;
            const double fp = h.objective(xp, dy);
            xp.data()[i] = orig - fd_step;
            const double fm = h.objective(xp, dy);
            xp.data()[i] = orig;
            numeric[i] = (fp - fm) / (2 * fd_step);
        }
        const double err = rel_err(dx.flat(), numeric);
        INFO("relative error of dx: " << err);
        CHECK(err <= fd_tolerance);
    }

    SECTION("(c) parameter gradients against central finite differences") {
        auto ps = h.parameters();
        REQUIRE(ps.size() == grads.size());
        for (std::size_t k = 0; k < ps.size(); ++k) {
            auto value = ps[k].value;
            std::vector<double> numeric(value.size());
            for (std::size_t i = 0; i < value.size(); ++i) {
                const double orig = value[i];
                value[i] = orig + fd_step;
                const double fp = h.objective(x, dy);
                value[i] = orig - fd_step;
                const double fm = h.objective(x, dy);
                value[i] = orig;
                numeric[i] = (fp - fm) / (2 * fd_step);
            }
            const double err = rel_err(grads[k], numeric);
            INFO("parameter " << ps[k].name << ": relative error " << err);
            CHECK(err <= fd_tolerance);
        }
    }

    SECTION("(d) eval mode agrees with train mode") {
        out_t y_eval(batch);
        y_eval.fill(nan);
        if constexpr (is_batch_norm_like<L>) {
            // Running statistics := the statistics the train-mode forward uses: mean and BIASED
            // variance per channel of the batch-norm input (x itself, or the conv output of conv_bn).
            constexpr std::size_t C = out_shape::dims[0], spatial = out_shape::size / C;
            std::vector<double> z(x.size() / in_shape::size * out_shape::size);
            if constexpr (L::kind == std::string_view("conv_bn") || L::kind == std::string_view("conv_brn")) {
                out_t zt(batch);
                h.layer.conv().infer(x, zt);
                std::copy(zt.data(), zt.data() + zt.size(), z.begin());
            } else {
                std::copy(x.data(), x.data() + x.size(), z.begin());
            }
            std::vector<double> mean(C, 0.0), var(C, 0.0);
            const double n = double(batch * spatial);
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t c = 0; c < C; ++c)
                    for (std::size_t i = 0; i < spatial; ++i) mean[c] += z[(b * C + c) * spatial + i] / n;
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t c = 0; c < C; ++c)
                    for (std::size_t i = 0; i < spatial; ++i) {
                        const double d = z[(b * C + c) * spatial + i] - mean[c];
                        var[c] += d * d / n;
                    }
            for (auto& s : h.states()) {
                REQUIRE(s.value.size() == C);
                if (s.name == "running_mean") std::copy(mean.begin(), mean.end(), s.value.begin());
                else if (s.name == "running_var") std::copy(var.begin(), var.end(), s.value.begin());
                else FAIL("unexpected state " << s.name);
            }
            h.layer.infer(x, y_eval);
            REQUIRE_FALSE(any_nan(y_eval.flat()));
            const double err = rel_err(y_eval.flat(), y.flat());
            INFO("batch norm eval vs train, relative error " << err);
            CHECK(err <= 1e-12);
        } else if constexpr (is_dropout<L>) {
            h.layer.infer(x, y_eval);
            CHECK(bit_equal(y_eval.flat(), x.flat()));
            // ... while train mode drops some units and scales the others by 1 / (1 - P).
            const double keep_scale = 1.0 / (1.0 - dropout_rate<L>::value);
            std::size_t dropped = 0;
            for (std::size_t i = 0; i < y.size(); ++i) {
                if (y.data()[i] == 0.0) ++dropped;
                else CHECK(y.data()[i] == x.data()[i] * keep_scale);
            }
            CHECK(dropped > 0);
            CHECK(dropped < y.size());
        } else {
            h.layer.infer(x, y_eval);
            CHECK(bit_equal(y_eval.flat(), y.flat()));
        }

        // infer is per sample: batch 1 gives the row of batch 3 bit for bit.
        for (std::size_t b = 0; b < batch; ++b) {
            in_t x1(1);
            std::copy(x.sample(b).begin(), x.sample(b).end(), x1.data());
            out_t y1(1);
            y1.fill(nan);
            h.layer.infer(x1, y1);
            CHECK(bit_equal(y1.flat(), y_eval.sample(b)));
        }
    }
}
