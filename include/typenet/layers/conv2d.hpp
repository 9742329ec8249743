// typenet/layers/conv2d.hpp - 2-D convolution with optional bias and fused activation.
//
//   conv2d<InC, OutC, K, S, Padding, Activation = identity, Bias = with_bias>
//   input shape<InC, H, W> -> output shape<OutC, H', W'> (see typenet::same / typenet::valid)
//   parameters: weight (OutC, InC, K, K), bias (OutC) unless no_bias
#pragma once

#include "typenet/layers/activation.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class conv2d_layer;
}

template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding,
          class Activation = identity, class Bias = with_bias>
struct conv2d {
    static_assert(InC >= 1 && OutC >= 1, "typenet: conv2d needs at least one input and one output channel");
    static_assert(K >= 1 && S >= 1, "typenet: conv2d needs a kernel size and a stride of at least 1");
    static_assert(std::is_same_v<Padding, same> || std::is_same_v<Padding, valid>,
                  "typenet: conv2d's fifth argument is the padding: typenet::same or typenet::valid");
    static_assert(detail::activation<Activation>,
                  "typenet: conv2d's sixth argument is the fused activation: typenet::relu or typenet::identity");
    static_assert(std::is_same_v<Bias, with_bias> || std::is_same_v<Bias, no_bias>,
                  "typenet: conv2d's seventh argument is typenet::with_bias or typenet::no_bias");

    static constexpr std::size_t in_channels = InC, out_channels = OutC, kernel = K, stride = S;
    static constexpr bool same_padding = std::is_same_v<Padding, same>;
    static constexpr std::size_t pad = same_padding ? (K - 1) / 2 : 0;
    static constexpr bool has_bias = std::is_same_v<Bias, with_bias>;
    using activation_type = Activation;

    template <class Where, class In> static consteval bool check() {
        return detail::check_spatial<Where, conv2d, In, InC, K, S, same_padding>();
    }
    template <class In>
    using output_shape = shape<OutC, detail::conv_out(height_of<In>, K, S, same_padding),
                               detail::conv_out(width_of<In>, K, S, same_padding)>;
    template <class T, class In> using bind = detail::conv2d_layer<T, conv2d, In>;

    static std::string describe() {
        std::initializer_list<std::string> base{std::to_string(InC), std::to_string(OutC), std::to_string(K),
                                                std::to_string(S), std::string(detail::tag_name<Padding>()),
                                                std::string(detail::tag_name<Activation>())};
        std::string s = detail::join_args("conv2d", base);
        if (!has_bias) s.insert(s.size() - 1, ", no_bias");
        return s;
    }
};

namespace detail {

template <class T, class Spec, class In>
class conv2d_layer : public fused_activation_backward<conv2d_layer<T, Spec, In>, T, In, typename Spec::template output_shape<In>,
                                                     typename Spec::activation_type> {
    friend fused_activation_backward<conv2d_layer, T, In, typename Spec::template output_shape<In>,
                                     typename Spec::activation_type>;

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = typename Spec::template output_shape<In>;
    using saved_type = nothing_saved;
    using act = fused_activation<typename Spec::activation_type>;

    static constexpr std::string_view kind = "conv2d";
    static constexpr bool backward_from_adds = true;  // backward_from can add into dx: backward_add
    static constexpr std::size_t weight_count = Spec::out_channels * Spec::in_channels * Spec::kernel * Spec::kernel;
    static constexpr std::size_t parameter_count = weight_count + (Spec::has_bias ? Spec::out_channels : 0);
    static constexpr std::size_t state_count = 0;
    static constexpr std::size_t forward_flops = 2 * weight_count * output_shape::dims[1] * output_shape::dims[2];
    static std::string describe() { return Spec::describe(); }

    conv2d_layer()
        : weight_(zeros<T>(Spec::out_channels, Spec::in_channels, Spec::kernel, Spec::kernel)),
          weight_grad_(weight_),
          bias_(zeros<T>(Spec::has_bias ? Spec::out_channels : 0)),
          bias_grad_(bias_) {}

    static kernels::conv_geometry geometry(std::size_t batch) {
        return {batch, In::dims[0], In::dims[1], In::dims[2], output_shape::dims[0], output_shape::dims[1],
                output_shape::dims[2], Spec::kernel, Spec::stride, Spec::pad};
    }

    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type&) { infer(x, y); }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        kernels::conv2d_forward<T>(geometry(x.batch()), x.data(), weight_.data(),
                                   Spec::has_bias ? bias_.data() : nullptr, y.data());
        act::apply(y.size(), y.data());
    }
    // forward(), and where the fast kernels can, batch norm's per-plane statistics of y
    // (kernels::conv2d_forward_bn_stats; conv_bn). Only without a fused activation.
    bool forward_bn_stats(const tensor<T, In>& x, tensor<T, output_shape>& y, double* run_stats) const
        requires std::is_same_v<typename Spec::activation_type, identity>
    {
        return kernels::conv2d_forward_bn_stats<T>(geometry(x.batch()), x.data(), weight_.data(),
                                                   Spec::has_bias ? bias_.data() : nullptr, y.data(), run_stats);
    }
    void initialize(rng& g) {
        const double bound = 1.0 / std::sqrt(double(Spec::in_channels * Spec::kernel * Spec::kernel));
        uniform_fill(g, weight_.data(), weight_.size(), bound);
        uniform_fill(g, bias_.data(), bias_.size(), bound);
    }
    template <class F> void for_each_parameter(F&& f) {
        f(parameter_view<T>{"weight", {weight_.data(), weight_.size()}, {weight_grad_.data(), weight_grad_.size()},
                            weight_.shape(), parameter_role::weight});
        if constexpr (Spec::has_bias)
            f(parameter_view<T>{"bias", {bias_.data(), bias_.size()}, {bias_grad_.data(), bias_grad_.size()},
                                bias_.shape(), parameter_role::bias});
    }
    template <class F> void for_each_state(F&&) {}

    xt::xtensor<T, 4>& weight() { return weight_; }
    xt::xtensor<T, 1>& bias() { return bias_; }

private:
    // The convolution's VJP given dz = dL/d(pre-activation): ADDS the weight (and bias)
    // gradients, then writes dx (adds to it with accumulate) unless it is null.
    void backward_from(const tensor<T, In>& x, const T* dz, T* dx, bool accumulate = false) {
        const auto g = geometry(x.batch());
        kernels::conv2d_backward_params<T>(g, x.data(), dz, weight_grad_.data(),
                                           Spec::has_bias ? bias_grad_.data() : nullptr);
        if (dx) kernels::conv2d_backward_data<T>(g, dz, weight_.data(), dx, accumulate);
    }

    xt::xtensor<T, 4> weight_, weight_grad_;
    xt::xtensor<T, 1> bias_, bias_grad_;
};

}  // namespace detail
}  // namespace typenet
