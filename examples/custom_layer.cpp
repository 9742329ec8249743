// examples/custom_layer.cpp - writing a NEW layer from the contract in typenet/layer.hpp.
//
// scale_shift<C> multiplies every channel c by a trainable scale[c] and adds a trainable
// shift[c]:  y[b, c, h, w] = scale[c] * x[b, c, h, w] + shift[c]  (on a flat input shape<N>,
// each of the N features is a channel). It is written here, outside the library, used in a
// typenet::net next to built-in layers, and its VJP is checked against finite differences.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "typenet/typenet.hpp"

namespace demo {

template <class T, std::size_t C, class In> class scale_shift_layer;

// ---- 1. The spec: what a user writes in a network. ---------------------------------------
template <std::size_t C>
struct scale_shift {
    // The shape rule: the input must have C channels (or C features). A broken rule names
    // one of typenet's error types, so the compiler prints Where, the layer, the
    // expected and the actual shape.
    template <class Where, class In> static consteval bool check() {
        using namespace typenet::error;
        if constexpr (typenet::channels_of<In> != C) {
            using expected = std::conditional_t<In::rank == 3,
                                                typenet::shape<C, typenet::height_of<In>, typenet::width_of<In>>,
                                                typenet::shape<C>>;
            (void)sizeof(channel_mismatch<Where, scale_shift, expects<expected>, got<In>>);
            return false;
        } else {
            return true;
        }
    }
    template <class In> using output_shape = In;  // elementwise: same shape out
    template <class T, class In> using bind = scale_shift_layer<T, C, In>;
};

// ---- 2. The bound layer: a class that models typenet::layer. ------------------------------
template <class T, std::size_t C, class In>
class scale_shift_layer {
public:
    using value_type = T;
    using input_shape = In;
    using output_shape = In;
    using saved_type = typenet::nothing_saved;  // backward needs only x, which the net keeps

    static constexpr std::string_view kind = "scale_shift";  // tensor names "<i>.scale_shift.scale"
    static constexpr std::size_t parameter_count = 2 * C, state_count = 0;
    static constexpr std::size_t forward_flops = 0;  // elementwise layers count 0
    static std::string describe() { return "scale_shift<" + std::to_string(C) + ">"; }

    static constexpr std::size_t plane = In::size / C;  // H * W, or 1 for a flat input

    void forward(const typenet::tensor<T, In>& x, typenet::tensor<T, In>& y, saved_type&) { infer(x, y); }

    void infer(const typenet::tensor<T, In>& x, typenet::tensor<T, In>& y) const {
        for (std::size_t b = 0; b < x.batch(); ++b)
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t i = 0; i < plane; ++i) {
                    const std::size_t k = (b * C + c) * plane + i;
                    y.data()[k] = scale_[c] * x.data()[k] + shift_[c];
                }
    }

    // The VJP: OVERWRITE dx = J_x^T dy, ADD J_theta^T dy into the parameter gradients.
    void backward(const typenet::tensor<T, In>& x, const typenet::tensor<T, In>&, const typenet::tensor<T, In>& dy,
                  typenet::tensor<T, In>& dx, const saved_type&) {
        for (std::size_t b = 0; b < x.batch(); ++b)
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t i = 0; i < plane; ++i) {
                    const std::size_t k = (b * C + c) * plane + i;
                    dx.data()[k] = scale_[c] * dy.data()[k];
                    scale_grad_[c] += dy.data()[k] * x.data()[k];
                    shift_grad_[c] += dy.data()[k];
                }
    }

    void initialize(typenet::rng&) {  // starts as the identity, like BatchNorm's gamma and beta
        scale_.assign(C, T(1));
        shift_.assign(C, T(0));
    }

    template <class F> void for_each_parameter(F&& f) {
        f(typenet::parameter_view<T>{"scale", scale_, scale_grad_, dims, typenet::parameter_role::weight});
        f(typenet::parameter_view<T>{"shift", shift_, shift_grad_, dims, typenet::parameter_role::bias});
    }
    template <class F> void for_each_state(F&&) {}  // no running statistics

private:
    static constexpr std::size_t dims[1] = {C};
    std::vector<T> scale_ = std::vector<T>(C, T(1)), shift_ = std::vector<T>(C, T(0));
    std::vector<T> scale_grad_ = std::vector<T>(C, T(0)), shift_grad_ = std::vector<T>(C, T(0));
};

}  // namespace demo

static_assert(typenet::layer<demo::scale_shift<3>::bind<float, typenet::shape<3, 6, 6>>>);
static_assert(typenet::layer<demo::scale_shift<3>::bind<double, typenet::shape<3>>>);

// ---- 3. Use it next to built-in layers. ---------------------------------------------------
// No relu or max_pool: their kinks would blur the finite differences below.
using example_net = typenet::net<typenet::input<2, 6, 6>,
                                 typenet::conv2d<2, 3, 3, 1, typenet::same>,
                                 demo::scale_shift<3>,
                                 typenet::flatten,
                                 typenet::dense<108, 4>>;
static_assert(example_net::parameter_count == (3 * 2 * 9 + 3) + 2 * 3 + (108 * 4 + 4));

template <class Tensor> void fill_normal(Tensor& t, typenet::rng& g) {
    for (auto& v : t.flat()) v = typename Tensor::value_type(g.normal());
}

int main() {
    // Train-mode forward and backward in float, as in training.
    {
        example_net model(1);
        typenet::rng g(2);
        typenet::tensor<float, typenet::shape<2, 6, 6>> x(8);
        fill_normal(x, g);
        const std::int32_t labels[] = {0, 1, 2, 3, 0, 1, 2, 3};
        typenet::tensor<float, typenet::shape<4>> dlogits;
        const double loss = typenet::softmax_cross_entropy().loss_and_gradient(model.forward(x), labels, dlogits);
        model.backward(dlogits);
        std::printf("%s", example_net::summary().c_str());
        std::printf("float: batch 8, loss %.4f\n", loss);
        model.for_each_parameter([](const typenet::parameter_view<float>& p) {
            std::printf("  %-22s %3zu values\n", std::string(p.name).c_str(), p.value.size());
        });
    }

    // The VJP against central finite differences, in double. L(x, theta) = <dy, y(x, theta)>
    // for a fixed random dy, so backward(dy) must return dL/dx and add dL/dtheta.
    using check_net = typenet::rebind_scalar<double, example_net>;
    check_net model(3);
    typenet::rng g(4);
    model.layer<1>().for_each_parameter([&](const typenet::parameter_view<double>& p) {
        for (auto& v : p.value) v = g.uniform(0.5, 1.5);  // move scale_shift away from the identity
    });
    typenet::tensor<double, typenet::shape<2, 6, 6>> x(3);
    typenet::tensor<double, typenet::shape<4>> dy(3);
    fill_normal(x, g);
    fill_normal(dy, g);
    auto L = [&] {  // eval mode (infer): equals train mode for these layers, and changes nothing
        const auto y = model.infer(x);
        double s = 0;
        for (std::size_t i = 0; i < y.size(); ++i) s += dy.data()[i] * y.data()[i];
        return s;
    };

    model.zero_grad();
    model.forward(x);
    const auto dx = model.backward(dy);  // a copy: the network reuses its buffer

    const double h = 1e-5;
    auto central = [&](double& v) {
        const double saved = v;
        v = saved + h;
        const double up = L();
        v = saved - h;
        const double down = L();
        v = saved;
        return (up - down) / (2 * h);
    };
    auto error = [](double analytic, double numeric) {
        return std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric));
    };

    double worst = 0, err_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) err_x = std::max(err_x, error(dx.data()[i], central(x.data()[i])));
    std::printf("VJP check (double, central differences, h = %g):\n  %-22s max error %.2e\n", h, "input", err_x);
    worst = err_x;
    model.for_each_parameter([&](const typenet::parameter_view<double>& p) {
        double e = 0;
        for (std::size_t i = 0; i < p.value.size(); ++i) e = std::max(e, error(p.gradient[i], central(p.value[i])));
        std::printf("  %-22s max error %.2e\n", std::string(p.name).c_str(), e);
        worst = std::max(worst, e);
    });

    // Parameter gradients ADD up: a second backward without zero_grad() doubles them.
    double before = 0, after = 0;
    model.layer<1>().for_each_parameter([&](const typenet::parameter_view<double>& p) { before += p.gradient[0]; });
    model.forward(x);
    model.backward(dy);
    model.layer<1>().for_each_parameter([&](const typenet::parameter_view<double>& p) { after += p.gradient[0]; });
    const double accumulate_err = std::abs(after - 2 * before) / std::max(1.0, std::abs(before));
    std::printf("  gradient accumulation: second backward gives 2x (error %.2e)\n", accumulate_err);
    worst = std::max(worst, accumulate_err);

    const bool ok = worst <= 1e-6;
    std::printf("%s: worst error %.2e (tolerance 1e-6)\n", ok ? "PASS" : "FAIL", worst);
    return ok ? 0 : 1;
}
