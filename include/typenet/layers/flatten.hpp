// typenet/layers/flatten.hpp - shape<C, H, W> -> shape<C * H * W> (C-major order, as PyTorch).
// On a flat input it is the identity. In a network it costs nothing: its output is a view of
// its input and its dx one of its dy (aliases_input, layer.hpp); forward() and backward()
// copy, for use on their own.
#pragma once

#include "typenet/layers/common.hpp"

namespace typenet {

namespace detail {
template <class T, class In>
class flatten_layer {
public:
    using value_type = T;
    using input_shape = In;
    using output_shape = shape<In::size>;
    using saved_type = nothing_saved;
    static constexpr std::string_view kind = "flatten";
    static constexpr std::size_t parameter_count = 0, state_count = 0, forward_flops = 0;
    static constexpr bool aliases_input = true;
    static std::string describe() { return "flatten"; }

    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type&) { infer(x, y); }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        std::copy(x.data(), x.data() + x.size(), y.data());
    }
    void backward(const tensor<T, In>&, const tensor<T, output_shape>&, const tensor<T, output_shape>& dy,
                  tensor<T, In>& dx, const saved_type&) {
        std::copy(dy.data(), dy.data() + dy.size(), dx.data());
    }
    void initialize(rng&) {}
    template <class F> void for_each_parameter(F&&) {}
    template <class F> void for_each_state(F&&) {}
};
}  // namespace detail

struct flatten {
    template <class Where, class In> static consteval bool check() { return true; }
    template <class In> using output_shape = shape<In::size>;
    template <class T, class In> using bind = detail::flatten_layer<T, In>;
    static std::string describe() { return "flatten"; }
};

}  // namespace typenet
