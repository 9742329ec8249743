// typenet/net.hpp - a network is a flat type list of layer specs.
//
//   using mlp = typenet::net<typenet::input<784>,
//                            typenet::dense<784, 128, typenet::relu>,
//                            typenet::dense<128, 10>>;
//
// net<input<...>, Specs...> (float) and basic_net<T, input<...>, Specs...> (any scalar):
//   - binds every spec to the shape produced by the one before it (a compile-time scan) and
//     checks its shape rules; a broken rule is a compile error naming the layer position,
//     the layer, the expected and the actual shape (errors.hpp);
//   - forward() runs the layers in order; backward() runs their VJPs in reverse through ONE
//     chain-rule template (backward_step). No network has hand-written backward code;
//   - train() / eval() switch modes; eval-mode output of a sample does not depend on the batch;
//   - for_each_parameter / for_each_state visit every tensor with a stable name
//     "<layer index>.<kind>.<tensor>", e.g. "3.batch_norm.running_var", layers counted from 0
//     after input<...>;
//   - compile-time facts: parameter_count, state_count, forward_flops,
//     activation_bytes_per_sample, and summary() prints them as a table.
//
// Memory. Between forward() and backward() in train mode the network keeps: a copy of the
// input, the output of every layer (a layer that only reinterprets its input, flatten, shares
// its input's memory: layer.hpp, aliases_input), and what each layer saved (saved_type).
// Gradients do NOT get a buffer per layer: dL/d(input of layer I) is only read by layer I - 1's
// backward, so backward() runs every VJP between TWO shared buffers, each as large as the
// largest layer input, writing each dx into the buffer that does not hold its dy, and hands a
// layer its dy as scratch (an rvalue: layer.hpp) when nothing reads it afterwards. dL/d(network
// input) is computed unless set_input_gradient(false) (a training loop does not read it);
// release_buffers() frees all of it (e.g. before evaluating or checkpointing).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "typenet/errors.hpp"
#include "typenet/layer.hpp"
#include "typenet/shape.hpp"
#include "typenet/tensor.hpp"

namespace typenet {

enum class mode { train, eval };

namespace detail {

template <class... Ts> struct type_list {};
template <class T, class List> struct prepend;
template <class T, class... Ts> struct prepend<T, type_list<Ts...>> { using type = type_list<T, Ts...>; };

// Checks spec S at position I only while every earlier layer passed, so one mistake gives
// one error rather than a cascade through the rest of the network.
template <class S, class In>
concept layer_spec = requires {
    { S::template check<0, In>() } -> std::same_as<bool>;
    typename S::template output_shape<In>;
};

template <std::size_t I, class In, class S, bool EarlierOk>
consteval bool checked() {
    if constexpr (!EarlierOk) {
        return false;
    } else if constexpr (!layer_spec<S, In>) {
        (void)error::reported<error::not_a_layer<error::at_layer<I>, S>>;
        return false;
    } else {
        return S::template check<I, In>();
    }
}

template <class S, class In, bool Ok> struct output_of_spec { using type = typename S::template output_shape<In>; };
template <class S, class In> struct output_of_spec<S, In, false> { using type = In; };

// The compile-time scan: inputs = the input shape of every layer, output = the network's.
template <std::size_t I, bool Ok, class In, class... Specs>
struct scan {
    static constexpr bool ok = Ok;
    using output = In;
    using inputs = type_list<>;
};
template <std::size_t I, bool Ok, class In, class S, class... Rest>
struct scan<I, Ok, In, S, Rest...> {
    static constexpr bool here = checked<I, In, S, Ok>();
    using next = scan<I + 1, here, typename output_of_spec<S, In, here>::type, Rest...>;
    static constexpr bool ok = next::ok;
    using output = typename next::output;
    using inputs = typename prepend<In, typename next::inputs>::type;
};

template <class T, class InputShape, class Specs, class Inputs> class net_impl;

// What a network whose shapes do not chain becomes: no members, so that the shape error
// stays the first and only interesting error.
struct invalid_net {
    explicit invalid_net(std::uint64_t = 0) {}
};

}  // namespace detail

namespace detail {
template <class T, class Input, class... Specs>
struct net_base {  // Input is not an input<...>: basic_net's static_assert says so
    using type = invalid_net;
    static constexpr bool ok = false;
};
template <class T, std::size_t... Dims, class... Specs>
struct net_base<T, input<Dims...>, Specs...> {
    using Input = input<Dims...>;
    using scan_type = scan<0, true, typename Input::shape_type, Specs...>;
    using type = std::conditional_t<scan_type::ok,
                                    net_impl<T, typename Input::shape_type, type_list<Specs...>,
                                             typename scan_type::inputs>,
                                    invalid_net>;
    static constexpr bool ok = scan_type::ok;
};
}  // namespace detail

template <class T, class Input, class... Specs>
class basic_net : public detail::net_base<T, Input, Specs...>::type {
    static_assert(input_spec<Input>,
                  "typenet: a network starts with typenet::input<...>, the shape of one sample, "
                  "e.g. net<input<3, 32, 32>, conv2d<3, 16, 3, 1, same, relu>, ...>");
    static_assert(std::is_floating_point_v<T>, "typenet: the scalar type of a network is float or double");
    static_assert(sizeof...(Specs) >= 1, "typenet: a network needs at least one layer after input<...>");
    using base = typename detail::net_base<T, Input, Specs...>::type;

public:
    using base::base;
    static constexpr bool shapes_ok = detail::net_base<T, Input, Specs...>::ok;
    using spec_list = detail::type_list<Specs...>;
    using input_type = Input;
    template <class U> using with_scalar = basic_net<U, Input, Specs...>;
};

// The float network most code uses.
template <class Input, class... Specs>
using net = basic_net<float, Input, Specs...>;

// The same network with another scalar type (double for gradient checks).
template <class U, class Net> using rebind_scalar = typename Net::template with_scalar<U>;

namespace detail {

template <class T, class InputShape, class... Specs, class... Ins>
class net_impl<T, InputShape, type_list<Specs...>, type_list<Ins...>> {
    template <class S, class In> using layer_type_of = typename S::template bind<T, In>;

public:
    using value_type = T;
    using layers_type = std::tuple<typename Specs::template bind<T, Ins>...>;
    static constexpr std::size_t depth = sizeof...(Specs);
    template <std::size_t I> using layer_type = std::tuple_element_t<I, layers_type>;
    using input_shape = InputShape;
    using output_shape = typename layer_type<depth - 1>::output_shape;
    using input_tensor = tensor<T, input_shape>;
    using output_tensor = tensor<T, output_shape>;

    static_assert((layer<typename Specs::template bind<T, Ins>> && ...),
                  "typenet: every bound layer must model the typenet::layer concept (layer.hpp)");

    static constexpr std::size_t parameter_count = (layer_type_of<Specs, Ins>::parameter_count + ... + 0);
    static constexpr std::size_t state_count = (layer_type_of<Specs, Ins>::state_count + ... + 0);
    static constexpr std::size_t forward_flops = (layer_type_of<Specs, Ins>::forward_flops + ... + 0);
    // Bytes of the activations a train-mode forward keeps per sample: the input and the output
    // of every layer (not counting what layers save beyond that, nor gradients).
    static constexpr std::size_t activation_bytes_per_sample =
        sizeof(T) * (InputShape::size + (layer_type_of<Specs, Ins>::output_shape::size + ... + 0));

    explicit net_impl(std::uint64_t seed = 0) { initialize(seed); }

    // Fresh parameters from `seed` (same seed, same network, on every platform); state reset.
    void initialize(std::uint64_t seed) {
        rng g(seed);
        std::apply([&](auto&... l) { (l.initialize(g), ...); }, layers_);
        zero_grad();
        has_train_forward_ = false;
    }

    void train() { mode_ = mode::train; }
    void eval() { mode_ = mode::eval; }
    typenet::mode current_mode() const { return mode_; }
    bool training() const { return mode_ == mode::train; }

    // Runs the layers in order in the current mode and returns the output (valid until the
    // next forward). In train mode the activations and saved values are kept for backward().
    // The returned tensor and output_of<I>() may be views of the network's memory (tensor.hpp).
    const output_tensor& forward(const input_tensor& x) {
        has_train_forward_ = false;  // until this forward completes: a throw leaves nothing to differentiate
        batch_ = x.batch();
        if (batch_ == 0) throw std::invalid_argument("typenet::net::forward: empty batch");
        if (mode_ == mode::train) {
            input_.resize(batch_);
            std::copy(x.data(), x.data() + x.size(), input_.data());
            forward_all(input_, std::make_index_sequence<depth>{});
        } else {
            forward_all(x, std::make_index_sequence<depth>{});
        }
        has_train_forward_ = mode_ == mode::train;
        return std::get<depth - 1>(outputs_);
    }

    // Eval-mode inference that touches no member (usable on a const network, thread-safe).
    output_tensor infer(const input_tensor& x) const {
        std::tuple<tensor<T, typename layer_type_of<Specs, Ins>::output_shape>...> outs;
        infer_all(x, outs, std::make_index_sequence<depth>{});
        return std::move(std::get<depth - 1>(outs));
    }

    // The VJP of the most recent train-mode forward: given dy = dLoss/d(output), ADDS
    // dLoss/dtheta into every parameter gradient and returns dLoss/d(input) (a view of the
    // network's gradient buffer, valid until the next backward(); copy it to keep it), or an
    // empty tensor (batch 0) after set_input_gradient(false). dy is only read. backward() may
    // be repeated: every call computes the same gradients and adds them again.
    const input_tensor& backward(const output_tensor& dy) {
        if (!has_train_forward_)
            throw std::logic_error("typenet::net::backward: there is no train-mode forward to differentiate; "
                                   "call train() and forward() first");
        if (dy.batch() != batch_)
            throw std::invalid_argument("typenet::net::backward: the upstream gradient has batch " +
                                        std::to_string(dy.batch()) + " but the forward pass had batch " +
                                        std::to_string(batch_));
        const std::size_t need = batch_ * max_input_size;
        for (auto& b : grad_buffers_)
            if (b.size() < need) {
                b = {};  // free first: the old and the new buffer never coexist
                b.resize(need);
            }
        backward_all(dy, std::make_index_sequence<depth>{});
        return input_gradient_ ? std::get<0>(grads_) : no_input_gradient_;
    }

    // Whether backward() computes dLoss/d(network input) (on by default). Off, the first layer
    // only adds its parameter gradients (layer.hpp: backward_params), which skips its
    // backward-data work, and input_gradient() throws.
    void set_input_gradient(bool on) { input_gradient_ = on; }
    bool input_gradient_enabled() const { return input_gradient_; }

    // Frees every batch-sized buffer the network holds: the train-mode copy of the input, the
    // layer outputs, the two gradient buffers and every layer's saved values (parameters,
    // their gradients and state stay). The next forward() allocates what it needs again;
    // backward() needs a new train-mode forward() first. A training loop calls it before it
    // evaluates (which needs only the outputs) and before it writes a checkpoint, so that
    // neither adds to the peak memory of training.
    void release_buffers() {
        has_train_forward_ = false;
        release_all(std::make_index_sequence<depth>{});
        input_.reset();
        for (auto& b : grad_buffers_) b = {};
        std::apply([](auto&... s) { ((s = std::remove_reference_t<decltype(s)>{}), ...); }, saved_);
    }

    void zero_grad() {
        for_each_parameter([](const parameter_view<T>& p) { std::fill(p.gradient.begin(), p.gradient.end(), T(0)); });
    }

    // f(parameter_view<T>) with p.name the full stable name, e.g. "0.conv_bn.weight".
    template <class F> void for_each_parameter(F&& f) {
        visit_layers([&]<std::size_t I>(auto& l) {
            l.for_each_parameter([&](parameter_view<T> p) {
                const std::string full = tensor_name<I>(p.name);
                p.name = full;
                f(p);
            });
        });
    }
    // f(state_view<T>) with s.name the full stable name, e.g. "3.batch_norm.running_var".
    template <class F> void for_each_state(F&& f) {
        visit_layers([&]<std::size_t I>(auto& l) {
            l.for_each_state([&](state_view<T> s) {
                const std::string full = tensor_name<I>(s.name);
                s.name = full;
                f(s);
            });
        });
    }

    // Reseeds the random generators of layers that draw in train mode (dropout), e.g. once per
    // epoch from (seed, epoch) so that a resumed run draws what an uninterrupted one would.
    void reseed_layers(std::uint64_t seed) {
        rng g(seed);
        std::apply([&](auto&... l) { (reseed_if_any(l, g), ...); }, layers_);
    }

    // The running-statistics momentum of every batch-norm layer (weight of the new batch).
    void set_bn_momentum(double m) {
        std::apply([&](auto&... l) { (set_momentum_if_any(l, m), ...); }, layers_);
    }

    template <std::size_t I> layer_type<I>& layer() { return std::get<I>(layers_); }
    template <std::size_t I> const layer_type<I>& layer() const { return std::get<I>(layers_); }
    template <std::size_t I> const auto& output_of() const { return std::get<I>(outputs_); }
    // dLoss/d(network input) of the last backward() (see there); std::logic_error after
    // set_input_gradient(false).
    const input_tensor& input_gradient() const {
        if (!input_gradient_)
            throw std::logic_error("typenet::net::input_gradient: the input gradient is off; call "
                                   "set_input_gradient(true) before backward()");
        return std::get<0>(grads_);
    }

    // The type-level structure as text: scalar, input shape, then every layer with its output
    // shape. Two networks have the same structure() exactly when their types describe the
    // same computation; checkpoints store a hash of it.
    static std::string structure() {
        std::string s = std::string(sizeof(T) == 4 ? "float" : "double") + ";input " + InputShape::to_string();
        ((s += ";" + layer_type_of<Specs, Ins>::describe() + "->" + layer_type_of<Specs, Ins>::output_shape::to_string()),
         ...);
        return s;
    }

    // One row per layer: index, layer, output shape, parameters, forward FLOPs; then totals.
    static std::string summary() {
        std::string s;
        auto row = [&](std::string idx, std::string name, std::string out, std::string params, std::string flops) {
            auto pad = [](std::string v, std::size_t w, bool right) {
                if (v.size() >= w) return v + ' ';
                return right ? std::string(w - v.size(), ' ') + v + ' ' : v + std::string(w - v.size(), ' ');
            };
            s += pad(idx, 4, true) + ' ' + pad(name, 34, false) + pad(out, 12, false) + pad(params, 12, true) +
                 pad(flops, 14, true) + '\n';
        };
        row("#", "layer", "output", "params", "FLOPs");
        row("", "input", InputShape::to_string(), "0", "0");
        std::size_t i = 0;
        ((row(std::to_string(i++), layer_type_of<Specs, Ins>::describe(),
              layer_type_of<Specs, Ins>::output_shape::to_string(),
              std::to_string(layer_type_of<Specs, Ins>::parameter_count),
              std::to_string(layer_type_of<Specs, Ins>::forward_flops))),
         ...);
        s += "parameters: " + std::to_string(parameter_count) + "  state: " + std::to_string(state_count) +
             "  forward FLOPs/sample: " + std::to_string(forward_flops) +
             "  activation bytes/sample: " + std::to_string(activation_bytes_per_sample) + '\n';
        return s;
    }

private:
    template <std::size_t I> static std::string tensor_name(std::string_view local) {
        return std::to_string(I) + "." + std::string(layer_type<I>::kind) + "." + std::string(local);
    }

    template <class F, std::size_t... I> void visit_layers_impl(F& f, std::index_sequence<I...>) {
        (f.template operator()<I>(std::get<I>(layers_)), ...);
    }
    template <class F> void visit_layers(F&& f) { visit_layers_impl(f, std::make_index_sequence<depth>{}); }

    template <class L> static void reseed_if_any(L& l, rng& g) {
        if constexpr (requires { l.generator(); }) l.generator().reseed(g.next());
    }
    template <class L> static void set_momentum_if_any(L& l, double m) {
        if constexpr (requires { l.set_momentum(m); }) l.set_momentum(m);
    }

    template <std::size_t I> const auto& input_of(const input_tensor& x) const {
        if constexpr (I == 0) return x;
        else return std::get<I - 1>(outputs_);
    }

    // The largest input of any layer: the size of each gradient buffer, per sample.
    static constexpr std::size_t max_input_size = std::max({Ins::size...});

    // Layer I's upstream gradient is the caller's dy (read-only) when every layer after I
    // aliases its input; otherwise it lies in one of the network's gradient buffers.
    template <std::size_t I> static consteval bool upstream_is_callers() {
        if constexpr (I + 1 == depth) return true;
        else return aliases_input<layer_type<I + 1>> && upstream_is_callers<I + 1>();
    }

    template <std::size_t... I> void release_all(std::index_sequence<I...>) {
        (std::get<I>(outputs_).reset(), ...);
        (std::get<I>(grads_).reset(), ...);
    }

    // A run-time failure inside a layer (e.g. batch norm at batch 1 in train mode) is reported
    // with the layer's position and spelling.
    template <std::size_t I, class Fn> static void at_layer(Fn&& fn) {
        try {
            fn();
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("layer " + std::to_string(I) + " (" + layer_type<I>::describe() +
                                        "): " + e.what());
        }
    }

    template <std::size_t... I> void forward_all(const input_tensor& x, std::index_sequence<I...>) {
        (forward_step<I>(x), ...);
    }
    template <std::size_t I> void forward_step(const input_tensor& x) {
        auto& y = std::get<I>(outputs_);
        if constexpr (aliases_input<layer_type<I>>) {
            // y is x reinterpreted: a view, unless x is the caller's (eval mode, first layer).
            if (I > 0 || mode_ == mode::train) {
                y.rebind(const_cast<T*>(input_of<I>(x).data()), batch_);
                return;
            }
        }
        if (y.is_view()) y.reset();
        y.resize(batch_);
        at_layer<I>([&] {
            if (mode_ == mode::train) std::get<I>(layers_).forward(input_of<I>(x), y, std::get<I>(saved_));
            else std::get<I>(layers_).infer(input_of<I>(x), y);
        });
    }

    template <class Outs, std::size_t... I> void infer_all(const input_tensor& x, Outs& outs, std::index_sequence<I...>) const {
        (infer_step<I>(x, outs), ...);
    }
    template <std::size_t I, class Outs> void infer_step(const input_tensor& x, Outs& outs) const {
        auto& y = std::get<I>(outs);
        const auto& in = [&]() -> const auto& {
            if constexpr (I == 0) return x;
            else return std::get<I - 1>(outs);
        }();
        if constexpr (aliases_input<layer_type<I>>) {
            y.rebind(const_cast<T*>(in.data()), x.batch());  // infer() returns a copy: no view escapes
        } else {
            y.resize(x.batch());
            std::get<I>(layers_).infer(in, y);
        }
    }

    // THE chain rule. Layer I receives as upstream gradient the gradient of its output: the
    // caller's dy for the last layer, otherwise the input gradient computed by layer I + 1.
    template <std::size_t... I> void backward_all(const output_tensor& dy, std::index_sequence<I...>) {
        (backward_step<depth - 1 - I>(dy), ...);  // the comma fold runs depth-1, ..., 1, 0
    }
    template <std::size_t I> void backward_step(const output_tensor& dy) {
        using L = layer_type<I>;
        auto& layer = std::get<I>(layers_);
        const auto& x = input_of<I>(input_);
        const auto& y = std::get<I>(outputs_);
        const auto& saved = std::get<I>(saved_);
        auto& upstream = [&]() -> auto& {
            if constexpr (I == depth - 1) return dy;
            else return std::get<I + 1>(grads_);
        }();
        // Where nothing reads the upstream gradient after this layer, the layer gets it as an
        // rvalue: scratch it may overwrite (its out&& overload, if any; else const out&).
        auto pass_upstream = [&]() -> decltype(auto) {
            if constexpr (upstream_is_callers<I>()) return std::as_const(upstream);
            else return std::move(upstream);
        };
        auto& dx = std::get<I>(grads_);
        if constexpr (aliases_input<L>) {  // dx is dy reinterpreted
            dx.rebind(const_cast<T*>(upstream.data()), batch_);
            return;
        }
        if constexpr (I == 0) {
            if (!input_gradient_) {  // only the parameter half of the VJP
                if constexpr (L::parameter_count == 0) {
                    return;
                } else if constexpr (has_backward_params<L> && !upstream_is_callers<I>()) {
                    layer.backward_params(x, y, std::move(upstream), saved);
                    return;
                }  // else: the whole VJP, into a gradient buffer nobody reads
            }
        }
        // dx goes into the gradient buffer that does not hold dy.
        const bool dy_in_first = grad_buffers_[0].data() == upstream.data();
        dx.rebind(grad_buffers_[dy_in_first ? 1 : 0].data(), batch_);
        layer.backward(x, y, pass_upstream(), dx, saved);
    }

    layers_type layers_;
    input_tensor input_;                                                                   // train-mode copy of x
    std::tuple<tensor<T, typename layer_type_of<Specs, Ins>::output_shape>...> outputs_;   // y of each layer
    std::tuple<typename layer_type_of<Specs, Ins>::saved_type...> saved_;
    // Gradients: dL/d(input of layer I) is grads_<I>, a view into one of the two buffers.
    std::vector<T> grad_buffers_[2];
    std::tuple<tensor<T, Ins>...> grads_;
    input_tensor no_input_gradient_;  // what backward() returns with the input gradient off
    std::size_t batch_ = 0;
    mode mode_ = mode::train;
    bool has_train_forward_ = false;
    bool input_gradient_ = true;
};

}  // namespace detail
}  // namespace typenet
