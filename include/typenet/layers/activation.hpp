// typenet/layers/activation.hpp - relu and identity: standalone layers and fused-activation tags.
//
// The same type plays both roles: typenet::relu as a layer in a network, and as the
// activation argument of conv2d<..., relu> and dense<..., relu> (fused: applied in place on
// the layer's output, its VJP masks the upstream gradient by y > 0).
#pragma once

#include "typenet/layers/common.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In>
class activation_layer {
public:
    using value_type = T;
    using input_shape = In;
    using output_shape = In;
    using saved_type = nothing_saved;
    static constexpr std::string_view kind = Spec::kind;
    static constexpr std::size_t parameter_count = 0, state_count = 0, forward_flops = 0;
    static std::string describe() { return std::string(kind); }

    void forward(const tensor<T, In>& x, tensor<T, In>& y, saved_type&) { infer(x, y); }
    void infer(const tensor<T, In>& x, tensor<T, In>& y) const {
        if constexpr (std::is_same_v<Spec, relu>)
            kernels::relu_forward<T>(x.size(), x.data(), y.data());
        else
            std::copy(x.data(), x.data() + x.size(), y.data());
    }
    // relu: dx = dy * (y > 0) (the subgradient at 0 is 0, as in PyTorch); identity: dx = dy.
    void backward(const tensor<T, In>&, const tensor<T, In>& y, const tensor<T, In>& dy, tensor<T, In>& dx,
                  const saved_type&) {
        if constexpr (std::is_same_v<Spec, relu>)
            kernels::relu_backward<T>(y.size(), y.data(), dy.data(), dx.data());
        else
            std::copy(dy.data(), dy.data() + dy.size(), dx.data());
    }
    void initialize(rng&) {}
    template <class F> void for_each_parameter(F&&) {}
    template <class F> void for_each_state(F&&) {}
};
}  // namespace detail

struct relu {
    static constexpr std::string_view kind = "relu";
    static std::string describe() { return std::string(kind); }
    template <class Where, class In> static consteval bool check() { return true; }
    template <class In> using output_shape = In;
    template <class T, class In> using bind = detail::activation_layer<T, relu, In>;
};

struct identity {
    static constexpr std::string_view kind = "identity";
    static std::string describe() { return std::string(kind); }
    template <class Where, class In> static consteval bool check() { return true; }
    template <class In> using output_shape = In;
    template <class T, class In> using bind = detail::activation_layer<T, identity, In>;
};

}  // namespace typenet
