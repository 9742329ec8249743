// typenet/layer.hpp - THE layer concept. A new layer is written by reading this file.
//
// ----------------------------------------------------------------------------------------
// Two levels: a layer SPEC and a bound LAYER
// ----------------------------------------------------------------------------------------
// What a user writes in a network, e.g. typenet::conv2d<3, 32, 3, 1, typenet::same>, is a
// layer spec: it knows its own arguments but not the shape of its input. The network binds
// every spec to the shape produced by the layer before it, which gives a concrete layer
// type with static input and output shapes. A spec S provides:
//
//   template <class Where, class In> static consteval bool check();
//       The shape rules. Returns true when S accepts input shape In. When it does not, it
//       instantiates one of the typenet::error types (errors.hpp) with
//       Where (the position: error::at_layer<I>, or at_layer<I, in_main_branch<J>> inside a
//       residual block), S itself, expects<...> and got<In>, whose static_assert sentence
//       says how to fix the network, and returns false.
//   template <class In> using output_shape = ...;
//       The output shape for input In. Must be well-formed for any In (clamp, don't divide
//       by zero): it is computed before the network knows whether check() passed.
//   template <class T, class In> using bind = ...;
//       The concrete layer for scalar type T (float or double) and input shape In. Only
//       named (never instantiated) unless check<Where, In>() passed.
// (describe() belongs to the bound layer, below; the built-in specs have one as well.)
// typenet::layer_spec<S, In> below is what the network checks first: an entry without check()
// and output_shape<In> gets error::not_a_layer rather than a page of template errors.
//
// A normalisation that conv_norm (layers/conv_norm.hpp) can put after its convolution also
// provides kind and conv_kind (the kinds of the layer alone and after a convolution, e.g.
// "group_norm", "conv_gn"), eps, and template <class T, std::size_t C, std::size_t Spatial>
// using core = ...: the arithmetic over a (batch, C, Spatial) buffer with forward (fused ReLU
// and residual addend), infer, backward and the parameter / state visitors
// (detail::batch_norm_core, group_norm_core, batch_renorm_core are the three there are).
//
// ----------------------------------------------------------------------------------------
// The bound layer: the typenet::layer concept below
// ----------------------------------------------------------------------------------------
// Types
//   value_type      the scalar (float, or double in gradient checks)
//   input_shape     the per-sample input shape  (typenet::shape<...>)
//   output_shape    the per-sample output shape
//   saved_type      what forward() saves for backward() beyond the input and the output
//                   (BatchNorm: the batch mean and 1/std per channel; conv_bn: those and the
//                   convolution's output; max pool: the argmax of each window; dropout: the
//                   mask). An empty struct when nothing. Default-constructible: the
//                   network makes one per layer (net.release_buffers() also assigns
//                   saved_type{} to free it, which needs it move-assignable).
// Compile-time facts (static constexpr std::size_t)
//   parameter_count  trainable scalars (BatchNorm running statistics are state, not parameters)
//   state_count      non-trainable scalars that a checkpoint must keep (running mean / var)
//   forward_flops    per sample; multiply-adds of convolutions and dense layers count as 2,
//                    elementwise layers count 0 (the convention of the published FLOP counts)
// Names
//   static constexpr std::string_view kind;   "conv2d", "batch_norm", ... (stable: part of
//                                             every tensor name "<index>.<kind>.<tensor>")
//   static std::string describe();            the spec as written: "conv2d<3, 32, 3, 1, same, relu>"
//
// Member functions. x is input_tensor, y is output_tensor (typenet::tensor of the shapes
// above), all with the same run-time batch size B.
//   void forward(const in& x, out& y, saved_type& saved);
//       TRAIN mode. y is already sized to B. Writes y = f(x; theta) and whatever backward
//       needs into `saved` (resizing its buffers to B). May update state (BatchNorm running
//       statistics) and draw random numbers (dropout). Throws std::invalid_argument with a
//       sentence naming the layer when B cannot be handled (BatchNorm in train mode at B = 1).
//   void infer(const in& x, out& y) const;
//       EVAL mode. Pure: no state changes, no randomness, and each output sample depends
//       only on its own input sample (so batch 1 and batch 128 give identical rows).
//   void backward(const in& x, const out& y, const out& dy, in& dx, const saved_type& saved);
//       The vector-Jacobian product (VJP) of the most recent train-mode forward. Let
//       L = <dy, y> be the inner product of the upstream gradient dy = dLoss/dy with the
//       output. Then backward
//         - OVERWRITES dx with dL/dx = J_x^T dy (dx is sized to B by the caller), and
//         - ADDS dL/dtheta = J_theta^T dy into the gradient buffer of every parameter.
//       Parameter gradients accumulate so that the caller decides when to zero them
//       (zero_grad()), which is what gradient accumulation and weight sharing need. x, y and
//       saved are exactly the ones of the matching forward() call (the network keeps them).
//       It does not read or change state.
//   void initialize(typenet::rng& g);
//       Draws initial parameters and resets state (PyTorch's defaults: weights and biases
//       uniform in +-1/sqrt(fan_in); BatchNorm gamma 1, beta 0, running mean 0, var 1).
//   template <class F> void for_each_parameter(F&& f);
//       Calls f(parameter_view<T>) for every trainable tensor, in a fixed order.
//   template <class F> void for_each_state(F&& f);
//       Calls f(state_view<T>) for every non-trainable tensor that a checkpoint must keep.
//
// The network composes these: forward runs the layers in order; backward runs the VJPs in
// reverse, feeding each layer's dx as the upstream dy of the layer before it. That single
// chain-rule template (net.hpp) is the only backward pass anyone writes for a network.
//
// ----------------------------------------------------------------------------------------
// Optional members: memory savers the network uses when a layer has them
// ----------------------------------------------------------------------------------------
// The tensors a layer receives may be views of memory the network shares (tensor.hpp); they
// are sized by the caller and a layer must not resize them. Beyond that, a layer may offer:
//   void backward(const in& x, const out& y, out&& dy, in& dx, const saved_type& saved);
//       The same VJP, with dy as SCRATCH: its contents are dead after the call, so the layer
//       may overwrite it (conv2d and dense mask it by their fused ReLU in place, conv_bn runs
//       its batch-norm VJP in place, instead of each keeping a buffer of its own). dx and
//       the parameter gradients must come out exactly as from the const dy overload. The
//       network passes dy as an rvalue whenever it is the network's own buffer, i.e. for
//       every layer whose dy is not the caller's (net.backward(dy) only reads dy).
//   void backward_params(const in& x, const out& y, out&& dy, const saved_type& saved);
//       Only the parameter half of the VJP: ADDS dL/dtheta exactly as backward() does, does
//       not compute dx, may overwrite dy as above. The network calls it for its first layer
//       when nobody asked for dL/d(network input) (net.set_input_gradient(false)); a layer
//       without it gets backward() with a throw-away dx instead.
//   void backward_add(const in& x, const out& y, out&& dy, in& dx, const saved_type& saved);
//       As the scratch-dy backward, but ADDS its dx into the caller's: dx = dx + (what backward
//       writes), bit for bit. A residual block's main branch ends with its input gradient
//       added to the shortcut's (the fan-in): its first layer then writes the sum in its own
//       output pass instead of a separate read-add-write over memory (conv2d, conv_bn).
//   void forward_add(const in& x, const value_type* a, bool relu, out& y, saved_type& saved);
//   void infer_add(const in& x, const value_type* a, bool relu, out& y) const;
//       forward / infer followed by a residual block's sum and ReLU: y = act(layer(x) + a), act =
//       ReLU when relu, bit for bit what forward / infer followed by kernels::add(n, y, a, y,
//       relu) give, in the layer's own output pass (conv_bn<..., identity>: batch norm's
//       normalisation writes the sum). a does not overlap y. The VJP stays the layer's own:
//       backward gets the same x and saved, dy masked by the caller, and as y the sum's output
//       (a view, empty once the network's tape has been moved), so a layer with forward_add
//       must not read y in backward, neither its values nor its size.
//   void infer(const in& x, out& y, saved_type& scratch);
//       Eval mode exactly as the const infer(x, y), but free to keep what it computes on the
//       way in `scratch` (the network's saved value for the layer, reused call after call and
//       freed by release_buffers()) instead of allocating it per call. Residual blocks use it
//       for their branches' outputs. The network's eval-mode forward() calls it when present;
//       the const net.infer(x) never does.
//   static constexpr bool aliases_input = true;
//       The output IS the input reinterpreted, element for element (flatten). The network then
//       calls none of forward(), infer(), backward(): y is a view of x's memory and dx one of
//       dy's. (The layer still implements them, as copies, for use outside a network.)
// tests/test_layer_laws.cpp checks both overloads, backward_params and backward_add against backward(),
// forward_add and infer_add against forward and infer.
//
// ----------------------------------------------------------------------------------------
// Hooks: run-time settings the network passes to the layers that have them
// ----------------------------------------------------------------------------------------
// The network (net.hpp) has a member of the same name for each; it calls it on every layer
// that has it, inside residual blocks too (a block offers for_each_layer(f), chain.hpp).
//   rng& generator();                                 a layer that draws in train mode (dropout):
//                                                     reseeded per epoch, saved in checkpoints
//   void set_bn_momentum(double m);                   layers with running statistics: the weight
//                                                     of the new batch (0.1)
//   void set_bn_group(std::size_t n);                 layers with batch statistics: over groups of
//                                                     n samples in train mode (0: the batch)
//   void set_bn_sync(kernels::norm_sync* s);          layers with batch statistics: over every
//                                                     process's batch (null: this one's)
//   void set_renorm_schedule(const renorm_schedule&); batch renormalisation's clipping limits
//   void set_train_step(std::size_t step);            the global training step (fit calls it
//                                                     before every forward): schedules in layers
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "typenet/errors.hpp"
#include "typenet/rng.hpp"
#include "typenet/shape.hpp"
#include "typenet/tensor.hpp"

namespace typenet {

// What an optimizer may treat differently (e.g. no weight decay on biases and on the scale and
// shift of every normalisation layer: batch, group, layer, instance norm, batch renorm).
enum class parameter_role { weight, bias, norm_scale, norm_shift };

template <class T>
struct parameter_view {
    std::string_view name;                  // local ("weight"); the network prefixes "<i>.<kind>."
    std::span<T> value;
    std::span<T> gradient;                  // same size as value
    std::span<const std::size_t> dims;      // e.g. {32, 3, 3, 3} for a conv weight (O, I, KH, KW)
    parameter_role role;
};

template <class T>
struct state_view {
    std::string_view name;                  // local ("running_mean")
    std::span<T> value;
    std::span<const std::size_t> dims;
};

// The clipping limits of batch renormalisation over training steps (Ioffe 2017, section 4):
// the set_renorm_schedule hook above, layers/batch_renorm.hpp.
struct renorm_schedule {
    std::size_t start = 5000;      // steps of plain batch norm (rmax = 1, dmax = 0)
    std::size_t rmax_end = 40000;  // rmax reaches its final value here
    std::size_t dmax_end = 25000;  // dmax reaches its final value here
    double rmax = 3.0, dmax = 5.0;
    // The limits {rmax, dmax} at global step `step` (0-based): linear ramps after `start`.
    std::pair<double, double> at(std::size_t step) const {
        auto ramp = [&](std::size_t end) {
            if (step <= start) return 0.0;
            if (end <= start || step >= end) return 1.0;
            return double(step - start) / double(end - start);
        };
        return {1.0 + (rmax - 1.0) * ramp(rmax_end), dmax * ramp(dmax_end)};
    }
};

// What the network requires of every entry before calling check<Where, In>() (above).
template <class S, class In>
concept layer_spec = requires {
    { S::template check<error::at_layer<0>, In>() } -> std::same_as<bool>;
    typename S::template output_shape<In>;
};

namespace detail {
template <class T> struct parameter_visitor_archetype { void operator()(parameter_view<T>) const; };
template <class T> struct state_visitor_archetype { void operator()(state_view<T>) const; };
}  // namespace detail

template <class L>
concept layer =
    requires {
        typename L::value_type;
        typename L::input_shape;
        typename L::output_shape;
        typename L::saved_type;
        { L::kind } -> std::convertible_to<std::string_view>;
        { L::describe() } -> std::convertible_to<std::string>;
        { L::parameter_count } -> std::convertible_to<std::size_t>;
        { L::state_count } -> std::convertible_to<std::size_t>;
        { L::forward_flops } -> std::convertible_to<std::size_t>;
    } &&
    any_shape<typename L::input_shape> && any_shape<typename L::output_shape> &&
    requires(L& l, const L& cl,
             const tensor<typename L::value_type, typename L::input_shape>& x,
             tensor<typename L::value_type, typename L::input_shape>& dx,
             const tensor<typename L::value_type, typename L::output_shape>& y,
             tensor<typename L::value_type, typename L::output_shape>& y_out,
             typename L::saved_type& saved, const typename L::saved_type& csaved, rng& g,
             detail::parameter_visitor_archetype<typename L::value_type> pv,
             detail::state_visitor_archetype<typename L::value_type> sv) {
        l.forward(x, y_out, saved);
        cl.infer(x, y_out);
        l.backward(x, y, y, dx, csaved);
        l.initialize(g);
        l.for_each_parameter(pv);
        l.for_each_state(sv);
    };

// For layers that save nothing beyond their input and output.
struct nothing_saved {};

// The optional members above, as the network detects them.
template <class L>
concept aliases_input = requires {
    requires bool(L::aliases_input);
};
template <class L>
concept has_backward_add =
    requires(L& l, const tensor<typename L::value_type, typename L::input_shape>& x,
             const tensor<typename L::value_type, typename L::output_shape>& y,
             tensor<typename L::value_type, typename L::output_shape>&& dy,
             tensor<typename L::value_type, typename L::input_shape>& dx, const typename L::saved_type& saved) {
        l.backward_add(x, y, static_cast<decltype(dy)&&>(dy), dx, saved);
    };
template <class L>
concept has_forward_add =
    requires(L& l, const L& cl, const tensor<typename L::value_type, typename L::input_shape>& x,
             const typename L::value_type* a, tensor<typename L::value_type, typename L::output_shape>& y,
             typename L::saved_type& saved) {
        l.forward_add(x, a, true, y, saved);
        cl.infer_add(x, a, true, y);
    };
template <class L>
concept has_backward_params =
    requires(L& l, const tensor<typename L::value_type, typename L::input_shape>& x,
             const tensor<typename L::value_type, typename L::output_shape>& y,
             tensor<typename L::value_type, typename L::output_shape>&& dy, const typename L::saved_type& saved) {
        l.backward_params(x, y, static_cast<decltype(dy)&&>(dy), saved);
    };

}  // namespace typenet
