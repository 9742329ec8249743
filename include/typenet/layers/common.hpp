// typenet/layers/common.hpp - pieces shared by the layer implementations: activation tags,
// the spatial shape rules, spelling of template arguments in describe().
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>
#include <string>
#include <string_view>

#include "typenet/errors.hpp"
#include "typenet/kernels.hpp"
#include "typenet/layer.hpp"

namespace typenet {

struct relu;
struct identity;
// Conv2d without a bias term (the default is with_bias).
struct with_bias {};
struct no_bias {};

namespace detail {

template <class Tag> constexpr std::string_view tag_name();
template <> constexpr std::string_view tag_name<same>() { return "same"; }
template <> constexpr std::string_view tag_name<valid>() { return "valid"; }
template <> constexpr std::string_view tag_name<relu>() { return "relu"; }
template <> constexpr std::string_view tag_name<identity>() { return "identity"; }
template <> constexpr std::string_view tag_name<with_bias>() { return "with_bias"; }
template <> constexpr std::string_view tag_name<no_bias>() { return "no_bias"; }

template <class Args>
std::string join_args(std::string_view name, const Args& args) {
    std::string s(name);
    s += '<';
    bool first = true;
    for (const auto& a : args) {
        if (!first) s += ", ";
        s += a;
        first = false;
    }
    return s + '>';
}
inline std::string join_args(std::string_view name, std::initializer_list<std::string> args) {
    return join_args<std::initializer_list<std::string>>(name, args);
}

template <class Act> concept activation = std::is_same_v<Act, relu> || std::is_same_v<Act, identity>;

// Fused activations of conv2d and dense: applied in place on the output, and their VJP.
template <class Act> struct fused_activation;
template <> struct fused_activation<identity> {
    template <class T> static void apply(std::size_t, T*) {}
    // dz = dy; returns the buffer to use as dz.
    template <class T> static const T* backward(std::size_t, const T*, const T* dy, T*) { return dy; }
};
template <> struct fused_activation<relu> {
    template <class T> static void apply(std::size_t n, T* y) { kernels::relu_forward<T>(n, y, y); }
    template <class T> static const T* backward(std::size_t n, const T* y, const T* dy, T* scratch) {
        kernels::relu_backward<T>(n, y, dy, scratch);
        return scratch;
    }
};

// The backward entry points of a layer with a fused activation (conv2d, dense), which differ
// only in where dL/d(pre-activation) goes. The layer (Derived) supplies
//   void backward_from(const tensor<T, In>& x, const T* dz, T* dx)
// that ADDS its parameter gradients from dz and writes dx unless dx is null; with
// `static constexpr bool backward_from_adds = true` and a fourth argument `bool accumulate`
// (add to dx instead of writing it) it also gets backward_add.
template <class Derived, class T, class In, class Out, class Act>
class fused_activation_backward {
    using act = fused_activation<Act>;

public:
    void backward(const tensor<T, In>& x, const tensor<T, Out>& y, const tensor<T, Out>& dy, tensor<T, In>& dx,
                  const nothing_saved&) {
        T* scratch = nullptr;  // dL/d(pre-activation) needs a buffer of its own only under a fused ReLU
        if constexpr (!std::is_same_v<Act, identity>) {
            scratch_.resize(y.batch());
            scratch = scratch_.data();
        }
        self().backward_from(x, act::backward(y.size(), y.data(), dy.data(), scratch), dx.data());
    }
    // dy is scratch (layer.hpp): the ReLU mask is applied to it in place.
    void backward(const tensor<T, In>& x, const tensor<T, Out>& y, tensor<T, Out>&& dy, tensor<T, In>& dx,
                  const nothing_saved&) {
        self().backward_from(x, act::backward(y.size(), y.data(), dy.data(), dy.data()), dx.data());
    }
    void backward_params(const tensor<T, In>& x, const tensor<T, Out>& y, tensor<T, Out>&& dy, const nothing_saved&) {
        self().backward_from(x, act::backward(y.size(), y.data(), dy.data(), dy.data()), nullptr);
    }
    // dx += the VJP's dx (layer.hpp's backward_add), dy scratch as above. A template, whose constraint is
    // checked where it is called (clang 14 checks a plain member's while Derived is still incomplete).
    template <class D = Derived> requires D::backward_from_adds
    void backward_add(const tensor<T, In>& x, const tensor<T, Out>& y, tensor<T, Out>&& dy, tensor<T, In>& dx,
                      const nothing_saved&) {
        self().backward_from(x, act::backward(y.size(), y.data(), dy.data(), dy.data()), dx.data(), true);
    }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
    tensor<T, Out> scratch_;  // dL/d(pre-activation) under a fused ReLU, const-dy backward only
};

constexpr std::size_t conv_out(std::size_t in, std::size_t k, std::size_t s, bool same_pad) {
    if (same_pad) return (in - 1) / s + 1;
    return in >= k ? (in - k) / s + 1 : 1;  // clamped: only used after check() passed
}

// The shape rules shared by convolutions and pooling. InC == 0 means "any channel count".
template <class Where, class Spec, class In, std::size_t InC, std::size_t K, std::size_t S, bool Same>
consteval bool check_spatial() {
    using namespace error;
    if constexpr (In::rank != 3) {
        if constexpr (InC == 0)
            (void)error::reported<needs_spatial_input<Where, Spec, expects<c_h_w_feature_map>, got<In>>>;
        else
            (void)error::reported<needs_spatial_input<Where, Spec, expects<c_h_w_feature_map_with_channels<InC>>, got<In>>>;
        return false;
    } else {
        constexpr std::size_t C = In::dims[0], H = In::dims[1], W = In::dims[2];
        if constexpr (InC != 0 && InC != C) {
            (void)error::reported<channel_mismatch<Where, Spec, expects<shape<InC, H, W>>, got<In>>>;
            return false;
        } else if constexpr (Same && K % 2 == 0) {
            (void)error::reported<same_padding_needs_odd_kernel<Where, Spec>>;
            return false;
        } else if constexpr (!Same && (K > H || K > W)) {
            (void)error::reported<window_larger_than_input<Where, Spec, expects<at_least<shape<C, K, K>>>, got<In>>>;
            return false;
        } else if constexpr (!Same && ((H - K) % S != 0 || (W - K) % S != 0)) {
            // expects<> shows the nearest smaller input on which the window and stride fit exactly.
            (void)error::reported<fractional_output_size<Where, Spec,
                                                expects<shape<C, H - (H - K) % S, W - (W - K) % S>>, got<In>>>;
            return false;
        } else {
            return true;
        }
    }
}

// Uniform(-bound, bound) fill, PyTorch's default for weights and biases (bound = 1/sqrt(fan_in)).
template <class T>
void uniform_fill(rng& g, T* p, std::size_t n, double bound) {
    for (std::size_t i = 0; i < n; ++i) p[i] = T(g.uniform(-bound, bound));
}

}  // namespace detail
}  // namespace typenet
