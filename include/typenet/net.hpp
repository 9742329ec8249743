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
//     chain-rule template (backward_step in chain.hpp). No network has hand-written backward code;
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

#include "typenet/chain.hpp"
#include "typenet/errors.hpp"
#include "typenet/layer.hpp"
#include "typenet/shape.hpp"
#include "typenet/tensor.hpp"
#include "typenet/type_walk.hpp"

namespace typenet {

enum class mode { train, eval };

namespace detail {

// Checks spec S at position I only while every earlier layer passed, so one mistake gives
// one error rather than a cascade through the rest of the network.
template <class Where, class In, class S, bool EarlierOk>
consteval bool checked() {
    if constexpr (!EarlierOk) {
        return false;
    } else if constexpr (!layer_spec<S, In>) {
        (void)error::reported<error::not_a_layer<Where, S>>;
        return false;
    } else {
        return S::template check<Where, In>();
    }
}

// Positions of the entries of a network (at_layer<I>) and of a branch inside a block at Where
// (at_layer<..., in_main_branch<J>> etc.).
struct network_positions {
    template <std::size_t J> using at = error::at_layer<J>;
};
template <class Where, template <std::size_t> class Step> struct branch_positions {
    template <std::size_t J> using at = typename error::nested_position<Where, Step<J>>::type;
};

// The checks of walk (type_walk.hpp) at the positions Pos names.
template <class Pos> struct checks_at {
    template <std::size_t I, class In, class S, bool Ok> static consteval bool at() {
        return checked<typename Pos::template at<I>, In, S, Ok>();
    }
};
// The compile-time scan: inputs = the input shape of every layer, output = the network's.
template <class Pos, class In, class... Specs> using scan = walk<checks_at<Pos>, In, Specs...>;

template <class T, class InputShape, class Specs, class Inputs> class net_impl;

// What a network whose shapes do not chain becomes: no members, so that the shape error
// stays the first and only interesting error.
struct invalid_net {
    explicit invalid_net(std::uint64_t = 0) {}
};

}  // namespace detail

// repeat<N, Spec>: N copies of Spec in a row, so that a deep stack of identical blocks stays
// short to write (net<..., repeat<3, basic_block<16, 16, 1>>, ...>). The network expands it
// into its flat list before the shape scan: positions (at_layer<I>), summary() rows and tensor
// names count every copy. The copies are one type, instantiated once.
template <std::size_t N, class Spec> struct repeat {
    static_assert(N >= 1, "typenet: repeat<N, Spec> needs N >= 1");
};

namespace detail {
template <class T, class Input, class... Specs>
struct net_base {  // Input is not an input<...>: basic_net's static_assert says so
    using type = invalid_net;
    static constexpr bool ok = false;
};
template <class T, class Input, class SpecList> struct net_of_list;
template <class T, class Input, class... Specs> struct net_of_list<T, Input, type_list<Specs...>> {
    using scan_type = scan<network_positions, typename Input::shape_type, Specs...>;
    using type = std::conditional_t<scan_type::ok,
                                    net_impl<T, typename Input::shape_type, type_list<Specs...>,
                                             typename scan_type::inputs>,
                                    invalid_net>;
    static constexpr bool ok = scan_type::ok;
};
// repeat<N, S> entries are expanded first (expand_specs): the scan sees a flat list.
template <class T, std::size_t... Dims, class... Specs>
struct net_base<T, input<Dims...>, Specs...> : net_of_list<T, input<Dims...>, expand_specs<Specs...>> {};
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
    using spec_list = detail::expand_specs<Specs...>;  // repeat<> expanded
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
    using chain_type = chain<T, type_list<Specs...>, type_list<Ins...>>;

public:
    using value_type = T;
    using layers_type = typename chain_type::layers_type;
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
        chain_.initialize(g);
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
            chain_.forward(input_, tape_, /*train=*/true, /*x_persists=*/true);
        } else {
            chain_.forward(x, tape_, /*train=*/false, /*x_persists=*/false);
        }
        has_train_forward_ = mode_ == mode::train;
        return std::get<depth - 1>(tape_.outputs);
    }

    // Eval-mode inference that touches no member (usable on a const network, thread-safe).
    output_tensor infer(const input_tensor& x) const {
        typename chain_type::outputs_type outs;
        chain_.infer(x, outs);
        return std::move(std::get<depth - 1>(outs));  // moving a view copies: no view escapes
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
        chain_.template backward<false>(input_, dy, tape_, grad_buffers_, input_gradient_);
        return input_gradient_ ? std::get<0>(tape_.grads) : no_input_gradient_;
    }

    // During backward(), fn(ctx, I) is called as soon as layer I (counted from 0 at the input, as
    // the parameter names count: "3.residual.main.0.conv_bn.weight" belongs to layer 3) has
    // finished its VJP, the last layer first: layer I's parameter gradients are then final.
    // Data-parallel fit starts summing a bucket of gradients over the ranks there while the
    // backward pass goes on. nullptr: nothing is called (the default).
    void set_backward_hook(void (*fn)(void* ctx, std::size_t layer), void* ctx) { chain_.set_backward_hook(fn, ctx); }

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
        tape_.release();
        input_.reset();
        for (auto& b : grad_buffers_) b = {};
        scratch_arena<T>::release();  // residual blocks' gradient buffers
    }

    void zero_grad() {
        for_each_parameter([](const parameter_view<T>& p) { std::fill(p.gradient.begin(), p.gradient.end(), T(0)); });
    }

    // f(parameter_view<T>) with p.name the full stable name, e.g. "0.conv_bn.weight".
    template <class F> void for_each_parameter(F&& f) { chain_.for_each_parameter("", f); }
    // f(state_view<T>) with s.name the full stable name, e.g. "3.batch_norm.running_var".
    template <class F> void for_each_state(F&& f) { chain_.for_each_state("", f); }

    // Reseeds the random generators of layers that draw in train mode (dropout), e.g. once per
    // epoch from (seed, epoch) so that a resumed run draws what an uninterrupted one would.
    void reseed_layers(std::uint64_t seed) {
        rng g(seed);
        chain_.reseed_layers(g);
    }

    // f(rng&) for each of those generators, in the same order: their states are what a
    // checkpoint written in the middle of an epoch stores so that the epoch resumes exactly.
    template <class F> void for_each_generator(F&& f) { chain_.for_each_generator(f); }

    // The running-statistics momentum of every batch-norm layer (weight of the new batch).
    void set_bn_momentum(double m) { chain_.set_bn_momentum(m); }
    // Batch statistics over groups of n consecutive samples of the batch ("ghost" batch norm;
    // the remainder joins the last group): in train mode every layer with batch statistics
    // (batch_norm, conv_bn) normalises each group with its own mean and variance. 0 (the
    // default), or n >= the batch: the whole batch. n = 1 is refused (a group needs 2 samples).
    void set_bn_group(std::size_t n) {
        if (n == 1)
            throw std::invalid_argument("typenet::net::set_bn_group: a statistics group needs at least 2 samples; "
                                        "use 0 for the whole batch");
        chain_.set_bn_group(n);
    }
    // Synchronized batch norm (data-parallel training over several processes): with a
    // dist::batch_stats_sync over the processes' communicator, every layer with batch statistics
    // normalises in train mode with the statistics of all the processes' batches together (and
    // its VJP and running statistics follow), as one process would on their concatenation. null
    // (the default): each process's own batch. The object must outlive its use; every process
    // must run the same layers in the same order. Statistics over groups of samples
    // (set_bn_group) stay within each process's batch.
    void set_bn_sync(kernels::norm_sync* sync) { chain_.set_bn_sync(sync); }
    // Batch renormalisation's clipping schedule (renorm_schedule, layer.hpp) for every
    // batch_renorm layer, and the global training step it is evaluated at (fit sets it before
    // every training step; a loop of your own calls it likewise).
    void set_renorm_schedule(const renorm_schedule& r) { chain_.set_renorm_schedule(r); }
    void set_train_step(std::size_t step) { chain_.set_train_step(step); }

    template <std::size_t I> layer_type<I>& layer() { return chain_.template layer<I>(); }
    template <std::size_t I> const layer_type<I>& layer() const { return chain_.template layer<I>(); }
    template <std::size_t I> const auto& output_of() const { return std::get<I>(tape_.outputs); }
    // What layer I saved in the last train-mode forward (e.g. a residual block's branch outputs).
    template <std::size_t I> const auto& saved_of() const { return std::get<I>(tape_.saved); }
    // dLoss/d(network input) of the last backward() (see there); std::logic_error after
    // set_input_gradient(false).
    const input_tensor& input_gradient() const {
        if (!input_gradient_)
            throw std::logic_error("typenet::net::input_gradient: the input gradient is off; call "
                                   "set_input_gradient(true) before backward()");
        return std::get<0>(tape_.grads);
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

    static constexpr std::size_t max_input_size = chain_type::max_input_size;

    chain_type chain_;                 // the layers and THE chain rule (chain.hpp)
    input_tensor input_;               // train-mode copy of x
    typename chain_type::tape tape_;   // each layer's output and saved values; gradient views
    std::vector<T> grad_buffers_[2];   // the two buffers every VJP writes into
    input_tensor no_input_gradient_;  // what backward() returns with the input gradient off
    std::size_t batch_ = 0;
    mode mode_ = mode::train;
    bool has_train_forward_ = false;
    bool input_gradient_ = true;
};

}  // namespace detail
}  // namespace typenet
