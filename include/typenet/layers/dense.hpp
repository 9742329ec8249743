// typenet/layers/dense.hpp - fully connected layer with fused activation.
//
//   dense<In, Out, Activation = identity>
//   input shape<In> (flat: put flatten or global_avg_pool after feature maps) -> shape<Out>
//   parameters: weight (Out, In) as PyTorch's Linear, bias (Out)
#pragma once

#include "typenet/layers/activation.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class dense_layer;
}

template <std::size_t In, std::size_t Out, class Activation = identity>
struct dense {
    static_assert(In >= 1 && Out >= 1, "typenet: dense needs at least one input and one output feature");
    static_assert(detail::activation<Activation>,
                  "typenet: dense's third argument is the fused activation: typenet::relu or typenet::identity");
    static constexpr std::size_t in_features = In, out_features = Out;
    using activation_type = Activation;

    template <class Where, class InShape> static consteval bool check() {
        using namespace error;
        if constexpr (InShape::rank != 1) {
            (void)error::reported<dense_needs_flat_input<Where, dense, expects<shape<In>>, got<InShape>>>;
            return false;
        } else if constexpr (InShape::size != In) {
            (void)error::reported<dense_fan_in_mismatch<Where, dense, expects<shape<In>>, got<InShape>>>;
            return false;
        } else {
            return true;
        }
    }
    template <class InShape> using output_shape = shape<Out>;
    template <class T, class InShape> using bind = detail::dense_layer<T, dense, InShape>;
    static std::string describe() {
        return detail::join_args("dense", {std::to_string(In), std::to_string(Out),
                                           std::string(detail::tag_name<Activation>())});
    }
};

namespace detail {

template <class T, class Spec, class In>
class dense_layer : public fused_activation_backward<dense_layer<T, Spec, In>, T, In, typename Spec::template output_shape<In>,
                                                     typename Spec::activation_type> {
    friend fused_activation_backward<dense_layer, T, In, typename Spec::template output_shape<In>,
                                     typename Spec::activation_type>;

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = shape<Spec::out_features>;
    using saved_type = nothing_saved;
    using act = fused_activation<typename Spec::activation_type>;
    static constexpr std::size_t N = Spec::in_features, M = Spec::out_features;

    static constexpr std::string_view kind = "dense";
    static constexpr std::size_t parameter_count = M * N + M;
    static constexpr std::size_t state_count = 0;
    static constexpr std::size_t forward_flops = 2 * M * N;
    static std::string describe() { return Spec::describe(); }

    dense_layer() : weight_(zeros<T>(M, N)), weight_grad_(weight_), bias_(zeros<T>(M)), bias_grad_(bias_) {}

    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type&) { infer(x, y); }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        kernels::dense_forward<T>(x.batch(), N, M, x.data(), weight_.data(), bias_.data(), y.data());
        act::apply(y.size(), y.data());
    }
    void initialize(rng& g) {
        const double bound = 1.0 / std::sqrt(double(N));
        uniform_fill(g, weight_.data(), weight_.size(), bound);
        uniform_fill(g, bias_.data(), bias_.size(), bound);
    }
    template <class F> void for_each_parameter(F&& f) {
        f(parameter_view<T>{"weight", {weight_.data(), weight_.size()}, {weight_grad_.data(), weight_grad_.size()},
                            weight_.shape(), parameter_role::weight});
        f(parameter_view<T>{"bias", {bias_.data(), bias_.size()}, {bias_grad_.data(), bias_grad_.size()},
                            bias_.shape(), parameter_role::bias});
    }
    template <class F> void for_each_state(F&&) {}

    xt::xtensor<T, 2>& weight() { return weight_; }
    xt::xtensor<T, 1>& bias() { return bias_; }

private:
    // The VJP given dz = dL/d(pre-activation): ADDS the weight and bias gradients, then writes
    // dx unless it is null.
    void backward_from(const tensor<T, In>& x, const T* dz, T* dx) {
        kernels::dense_backward_params<T>(x.batch(), N, M, x.data(), dz, weight_grad_.data(), bias_grad_.data());
        if (dx) kernels::dense_backward_data<T>(x.batch(), N, M, dz, weight_.data(), dx);
    }

    xt::xtensor<T, 2> weight_, weight_grad_;
    xt::xtensor<T, 1> bias_, bias_grad_;
};

}  // namespace detail
}  // namespace typenet
