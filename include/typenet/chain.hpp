// typenet/chain.hpp - THE chain rule: a flat list of bound layers, run forward in order and
// differentiated in reverse. The network (net.hpp) is a chain; so is each branch of a residual
// block (residual.hpp). Nothing else in typenet composes VJPs.
//
// A chain owns its layers. What a forward pass produces for the backward pass (every layer's
// output and saved values) lives in a separate tape, owned by whoever owns the memory: the
// network keeps its tape as a member, a residual block keeps its branches' tapes in its own
// saved_type, so that release_buffers() frees them with everything else.
//
// Backward needs two gradient buffers from the caller (each at least batch * max_input_size
// values): dL/d(input of layer I) is only read by layer I - 1, so the VJPs alternate between
// the two, each dx going into the buffer that does not hold its dy. Layer I gets its dy as an
// rvalue (scratch it may overwrite, layer.hpp) unless that dy is the caller's read-only one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "typenet/kernels.hpp"
#include "typenet/layer.hpp"
#include "typenet/rng.hpp"
#include "typenet/tensor.hpp"
#include "typenet/type_walk.hpp"

namespace typenet::detail {

template <class T, class Specs, class Ins> class chain;

template <class T, class... Specs, class... Ins>
class chain<T, type_list<Specs...>, type_list<Ins...>> {
    template <class S, class In> using bound = typename S::template bind<T, In>;

public:
    using layers_type = std::tuple<bound<Specs, Ins>...>;
    static constexpr std::size_t depth = sizeof...(Specs);
    static_assert(depth >= 1, "typenet: a chain has at least one layer");
    template <std::size_t I> using layer_type = std::tuple_element_t<I, layers_type>;
    using input_shape = std::tuple_element_t<0, std::tuple<Ins...>>;
    using output_shape = typename layer_type<depth - 1>::output_shape;
    using input_tensor = tensor<T, input_shape>;
    using output_tensor = tensor<T, output_shape>;
    using outputs_type = std::tuple<tensor<T, typename bound<Specs, Ins>::output_shape>...>;

    static constexpr std::size_t parameter_count = (bound<Specs, Ins>::parameter_count + ... + 0);
    static constexpr std::size_t state_count = (bound<Specs, Ins>::state_count + ... + 0);
    static constexpr std::size_t forward_flops = (bound<Specs, Ins>::forward_flops + ... + 0);
    // Sizes of all layer outputs per sample (what a train-mode forward keeps, besides saved values).
    static constexpr std::size_t output_elements = (bound<Specs, Ins>::output_shape::size + ... + 0);
    // The largest input of any layer: the size of each gradient buffer, per sample.
    static constexpr std::size_t max_input_size = std::max({Ins::size...});

    // What a train-mode forward keeps for backward, and the gradient views of the last backward.
    struct tape {
        outputs_type outputs;
        std::tuple<typename bound<Specs, Ins>::saved_type...> saved;
        // grads<I> = dL/d(input of layer I): views into the caller's gradient buffers, rebound by
        // each backward (mutable: a backward reads the tape's values and changes only these views).
        mutable std::tuple<tensor<T, Ins>...> grads;
        void release() {
            std::apply([](auto&... o) { (o.reset(), ...); }, outputs);
            std::apply([](auto&... g) { (g.reset(), ...); }, grads);
            std::apply([](auto&... s) { ((s = std::remove_reference_t<decltype(s)>{}), ...); }, saved);
        }
        tape() = default;
        tape(const tape&) = delete;
        tape& operator=(const tape&) = delete;
        tape(tape&& o) noexcept { *this = std::move(o); }
        // Assigning a tape replaces it (net::release_buffers() assigns fresh ones): its views are
        // dropped first, because assigning to a tensor view would copy elements into its memory.
        tape& operator=(tape&& o) noexcept {
            if (this != &o) {
                release();
                o.release_views();
                outputs = std::move(o.outputs);
                saved = std::move(o.saved);
                grads = std::move(o.grads);
            }
            return *this;
        }

    private:
        void release_views() {
            auto drop = [](auto& t) {
                if (t.is_view()) t.reset();
            };
            std::apply([&](auto&... o) { (drop(o), ...); }, outputs);
            std::apply([&](auto&... g) { (drop(g), ...); }, grads);
        }
    };

    // prefix names layers in run-time errors: "layer " gives "layer 3 (conv_bn<...>): ...".
    explicit chain(std::string_view prefix = "layer ") : prefix_(prefix) {}

    layers_type& layers() { return layers_; }
    const layers_type& layers() const { return layers_; }

    // Fresh parameters and state for every layer, drawing from g in layer order.
    void initialize(rng& g) {
        std::apply([&](auto&... l) { (l.initialize(g), ...); }, layers_);
    }
    // f(parameter_view<T>) / f(state_view<T>) for every tensor of every layer, named
    // "<prefix><index>.<kind>.<local name>": the network passes "", a residual block
    // "main." and "shortcut." (the network then prefixes the block's own "<i>.residual.").
    template <class F> void for_each_parameter(std::string_view prefix, F&& f) {
        visit_views<parameter_view<T>>(prefix, f, [](auto& l, auto&& g) { l.for_each_parameter(g); });
    }
    template <class F> void for_each_state(std::string_view prefix, F&& f) {
        visit_views<state_view<T>>(prefix, f, [](auto& l, auto&& g) { l.for_each_state(g); });
    }
    // f(layer) for every layer in order, and for the layers inside every block instead of the
    // block itself (a block, residual.hpp, offers for_each_layer). The one way the network reaches
    // its layers' hooks (layer.hpp: generator(), set_bn_momentum, set_bn_group, set_bn_sync).
    template <class F> void for_each_layer(F&& f) {
        std::apply([&](auto&... l) { (visit_layer(l, f), ...); }, layers_);
    }
    // Reseeds every layer that draws in train mode (generator()), one draw from g each, in layer order.
    void reseed_layers(rng& g) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.generator(); }) l.generator().reseed(g.next());
        });
    }
    // f(rng&) for the generator of every layer that draws in train mode, in the order
    // reseed_layers reseeds them (checkpoints store their states mid-epoch).
    template <class F> void for_each_generator(F&& f) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.generator(); }) f(l.generator());
        });
    }
    // The running-statistics momentum of every layer with batch statistics.
    void set_bn_momentum(double m) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.set_bn_momentum(m); }) l.set_bn_momentum(m);
        });
    }
    // The samples per statistics group of every layer with batch statistics (0: the whole batch).
    void set_bn_group(std::size_t n) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.set_bn_group(n); }) l.set_bn_group(n);
        });
    }
    // The processes whose batches the batch statistics cover (null: this one's alone).
    void set_bn_sync(kernels::norm_sync* sync) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.set_bn_sync(sync); }) l.set_bn_sync(sync);
        });
    }
    // Batch renormalisation's clipping schedule, and the training step it is evaluated at.
    void set_renorm_schedule(const renorm_schedule& r) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.set_renorm_schedule(r); }) l.set_renorm_schedule(r);
        });
    }
    void set_train_step(std::size_t step) {
        for_each_layer([&](auto& l) {
            if constexpr (requires { l.set_train_step(step); }) l.set_train_step(step);
        });
    }
    template <std::size_t I> layer_type<I>& layer() { return std::get<I>(layers_); }
    template <std::size_t I> const layer_type<I>& layer() const { return std::get<I>(layers_); }

    // Runs the layers in order, in train mode (forward, keeping the tape) or eval mode (infer,
    // the outputs still go to the tape). x must stay alive and unchanged until backward() when
    // training; x_persists says whether it outlives this call (a layer that aliases its input,
    // flatten, then makes its output a view of it; otherwise of a copy).
    const output_tensor& forward(const input_tensor& x, tape& t, bool train, bool x_persists) {
        forward_all(x, t, train, x_persists, std::make_index_sequence<depth>{});
        return std::get<depth - 1>(t.outputs);
    }

    // Eval-mode forward that touches no member: outputs in `outs` (one tensor per layer).
    const output_tensor& infer(const input_tensor& x, outputs_type& outs) const {
        infer_all(x, outs, std::make_index_sequence<depth>{});
        return std::get<depth - 1>(outs);
    }

    // As forward, but the chain's output goes into the caller's y as y = act(output + a), act =
    // ReLU when relu (a residual block's sum; a does not overlap y): in the last layer's own
    // output pass when it has forward_add (layer.hpp; the tape's last output is then a view of
    // y, which that layer's backward reads neither the values nor the size of: moving the tape
    // drops the view), else through kernels::add.
    void forward_add(const input_tensor& x, tape& t, bool train, bool x_persists, const T* a, bool relu,
                     output_tensor& y) {
        if constexpr (has_forward_add<layer_type<depth - 1>>) {
            forward_all(x, t, train, x_persists, std::make_index_sequence<depth - 1>{});
            auto& out = std::get<depth - 1>(t.outputs);
            out.rebind(y.data(), x.batch());
            at_layer<depth - 1>([&] {
                auto& layer = std::get<depth - 1>(layers_);
                if (train) layer.forward_add(input_of<depth - 1>(x, t), a, relu, y, std::get<depth - 1>(t.saved));
                else layer.infer_add(input_of<depth - 1>(x, t), a, relu, y);
            });
        } else {
            const auto& out = forward(x, t, train, x_persists);
            kernels::add<T>(y.size(), out.data(), a, y.data(), relu);
        }
    }
    // The same for infer (outs as there; the last one is left empty when the last layer has
    // forward_add).
    void infer_add(const input_tensor& x, outputs_type& outs, const T* a, bool relu, output_tensor& y) const {
        if constexpr (has_forward_add<layer_type<depth - 1>>) {
            infer_all(x, outs, std::make_index_sequence<depth - 1>{});
            const auto& in = [&]() -> const auto& {
                if constexpr (depth == 1) return x;
                else return std::get<depth - 2>(outs);
            }();
            at_layer<depth - 1>([&] { std::get<depth - 1>(layers_).infer_add(in, a, relu, y); });
        } else {
            const auto& out = infer(x, outs);
            kernels::add<T>(y.size(), out.data(), a, y.data(), relu);
        }
    }

    // THE chain rule. dy = dL/d(chain output) (read only, or scratch when DyScratch), x the
    // forward's input. bufs[0..1] each hold at least batch * max_input_size values. ADDS every
    // parameter gradient; returns dL/dx (a view into one of bufs), or nothing useful when
    // input_gradient is false (the first layer then only adds its parameter gradients).
    template <bool DyScratch>
    const input_tensor& backward(const input_tensor& x, std::conditional_t<DyScratch, output_tensor&, const output_tensor&> dy,
                                 const tape& t, std::vector<T>* bufs, bool input_gradient) {
        backward_all<DyScratch>(x, dy, t, bufs, input_gradient, std::make_index_sequence<depth>{});
        return std::get<0>(t.grads);
    }
    // backward() calls fn(ctx, I) when layer I's VJP is done (last layer first): layer I's
    // parameter gradients are then final. net::set_backward_hook; null: nothing is called.
    void set_backward_hook(void (*fn)(void*, std::size_t), void* ctx) {
        hook_ = fn;
        hook_ctx_ = ctx;
    }

    // As backward<DyScratch>, but dL/dx goes into the caller's dx: written (add = false: the
    // first layer's backward writes it there) or added to it (add = true: dx = dx + dL/dx, bit
    // for bit; the residual fan-in), by the first layer in its own output pass when it has
    // backward_add (layer.hpp), else through a gradient buffer and kernels::add. (A first layer
    // that aliases its input: dy is copied or added.)
    template <bool DyScratch>
    void backward_into(const input_tensor& x, std::conditional_t<DyScratch, output_tensor&, const output_tensor&> dy,
                       const tape& t, std::vector<T>* bufs, input_tensor& dx, bool add) {
        backward_all<DyScratch>(x, dy, t, bufs, true, std::make_index_sequence<depth - 1>{});  // depth-1, ..., 1
        first_into<DyScratch>(x, dy, t, bufs, dx, add);
    }

private:
    // f(view) for every view that each(layer, callback) hands out, its name prefixed with
    // "<prefix><index>.<kind>.".
    template <class View, class F, class Each> void visit_views(std::string_view prefix, F& f, Each each) {
        visit_named(prefix, [&](const std::string& name, auto& l) {
            each(l, [&](View v) {
                const std::string full = name + std::string(v.name);
                v.name = full;
                f(v);
            });
        });
    }
    template <class F> void visit_named(std::string_view prefix, F&& f) {
        visit_named_impl(prefix, f, std::make_index_sequence<depth>{});
    }
    template <class F, std::size_t... I> void visit_named_impl(std::string_view prefix, F& f, std::index_sequence<I...>) {
        (f(std::string(prefix) + std::to_string(I) + "." + std::string(layer_type<I>::kind) + ".", std::get<I>(layers_)),
         ...);
    }
    template <class L, class F> static void visit_layer(L& l, F& f) {
        if constexpr (requires { l.for_each_layer(f); }) l.for_each_layer(f);
        else f(l);
    }

    template <std::size_t I> static const auto& input_of(const input_tensor& x, const tape& t) {
        if constexpr (I == 0) return x;
        else return std::get<I - 1>(t.outputs);
    }

    // A run-time failure inside a layer (e.g. batch norm at batch 1 in train mode) is reported
    // with the layer's position and spelling.
    template <std::size_t I, class Fn> void at_layer(Fn&& fn) const {
        try {
            fn();
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string(prefix_) + std::to_string(I) + " (" + layer_type<I>::describe() +
                                        "): " + e.what());
        }
    }

    template <std::size_t... I>
    void forward_all(const input_tensor& x, tape& t, bool train, bool x_persists, std::index_sequence<I...>) {
        (forward_step<I>(x, t, train, x_persists), ...);
    }
    template <std::size_t I> void forward_step(const input_tensor& x, tape& t, bool train, bool x_persists) {
        auto& y = std::get<I>(t.outputs);
        const std::size_t batch = x.batch();
        if constexpr (aliases_input<layer_type<I>>) {
            // y is its input reinterpreted: a view, unless that input is a caller's that may not
            // outlive this call.
            if (I > 0 || x_persists) {
                y.rebind(const_cast<T*>(input_of<I>(x, t).data()), batch);
                return;
            }
        }
        if (y.is_view()) y.reset();
        y.resize(batch);
        at_layer<I>([&] {
            auto& layer = std::get<I>(layers_);
            auto& saved = std::get<I>(t.saved);
            if (train) layer.forward(input_of<I>(x, t), y, saved);
            else if constexpr (requires { layer.infer(input_of<I>(x, t), y, saved); })
                layer.infer(input_of<I>(x, t), y, saved);  // eval mode with the tape as scratch (layer.hpp)
            else layer.infer(input_of<I>(x, t), y);
        });
    }

    template <std::size_t... I> void infer_all(const input_tensor& x, outputs_type& outs, std::index_sequence<I...>) const {
        (infer_step<I>(x, outs), ...);
    }
    template <std::size_t I> void infer_step(const input_tensor& x, outputs_type& outs) const {
        auto& y = std::get<I>(outs);
        const auto& in = [&]() -> const auto& {
            if constexpr (I == 0) return x;
            else return std::get<I - 1>(outs);
        }();
        if constexpr (aliases_input<layer_type<I>>) {
            y.rebind(const_cast<T*>(in.data()), x.batch());  // infer() callers copy what escapes
        } else {
            if (y.is_view()) y.reset();
            y.resize(x.batch());
            at_layer<I>([&] { std::get<I>(layers_).infer(in, y); });
        }
    }

    // Layer I's upstream gradient is the caller's read-only dy when every layer after I aliases
    // its input and the caller's dy is not scratch; otherwise the layer may overwrite it.
    template <std::size_t I, bool DyScratch> static consteval bool upstream_is_readonly() {
        if constexpr (I + 1 == depth) return !DyScratch;
        else return aliases_input<layer_type<I + 1>> && upstream_is_readonly<I + 1, DyScratch>();
    }

    // Layers depth-1, ..., depth-sizeof(I) (all of them for depth indices).
    template <bool DyScratch, class Dy, std::size_t... I>
    void backward_all(const input_tensor& x, Dy& dy, const tape& t, [[maybe_unused]] std::vector<T>* bufs,
                      [[maybe_unused]] bool input_gradient, std::index_sequence<I...>) {  // (I... may be empty)
        ((backward_step<depth - 1 - I, DyScratch>(x, dy, t, bufs, input_gradient), after_backward(depth - 1 - I)), ...);
    }
    void after_backward(std::size_t layer) {
        if (hook_) hook_(hook_ctx_, layer);
    }
    // The upstream gradient of layer I: the caller's dy for the last layer, else layer I + 1's dx.
    template <std::size_t I, class Dy> static auto& upstream_of(Dy& dy, const tape& t) {
        if constexpr (I == depth - 1) return dy;
        else return std::get<I + 1>(t.grads);
    }
    // Layer 0's VJP into the caller's out (backward_into).
    template <bool DyScratch, class Dy>
    void first_into(const input_tensor& x, Dy& dy, const tape& t, std::vector<T>* bufs, input_tensor& out, bool add) {
        using L = layer_type<0>;
        auto& layer = std::get<0>(layers_);
        const auto& y = std::get<0>(t.outputs);
        const auto& saved = std::get<0>(t.saved);
        auto& upstream = upstream_of<0>(dy, t);
        constexpr bool readonly = upstream_is_readonly<0, DyScratch>();
        const std::size_t n = out.size();
        if constexpr (aliases_input<L>) {  // dx is dy reinterpreted
            if (add) kernels::add<T>(n, out.data(), upstream.data(), out.data(), false);
            else std::copy(upstream.data(), upstream.data() + n, out.data());
            return;
        } else {
            if constexpr (has_backward_add<L> && !readonly) {
                if (add) {
                    layer.backward_add(x, y, std::move(upstream), out, saved);
                    return;
                }
            }
            auto pass_upstream = [&]() -> decltype(auto) {
                if constexpr (readonly) return std::as_const(upstream);
                else return std::move(upstream);
            };
            if (!add) {
                layer.backward(x, y, pass_upstream(), out, saved);
                return;
            }
            auto& dx = std::get<0>(t.grads);
            dx.rebind(bufs[bufs[0].data() == upstream.data() ? 1 : 0].data(), x.batch());
            layer.backward(x, y, pass_upstream(), dx, saved);
            kernels::add<T>(n, out.data(), dx.data(), out.data(), false);
        }
    }
    // Layer I receives as upstream gradient the gradient of its output: the caller's dy for the
    // last layer, otherwise the input gradient just computed by layer I + 1.
    template <std::size_t I, bool DyScratch, class Dy>
    void backward_step(const input_tensor& x, Dy& dy, const tape& t, std::vector<T>* bufs, bool input_gradient) {
        using L = layer_type<I>;
        auto& layer = std::get<I>(layers_);
        const std::size_t batch = x.batch();
        const auto& in = input_of<I>(x, t);
        const auto& y = std::get<I>(t.outputs);
        const auto& saved = std::get<I>(t.saved);
        auto& upstream = upstream_of<I>(dy, t);
        constexpr bool readonly = upstream_is_readonly<I, DyScratch>();
        auto pass_upstream = [&]() -> decltype(auto) {
            if constexpr (readonly) return std::as_const(upstream);
            else return std::move(upstream);
        };
        auto& dx = std::get<I>(t.grads);
        if constexpr (aliases_input<L>) {  // dx is dy reinterpreted
            dx.rebind(const_cast<T*>(upstream.data()), batch);
            return;
        }
        if constexpr (I == 0) {
            if (!input_gradient) {  // only the parameter half of the VJP
                if constexpr (L::parameter_count == 0) {
                    return;
                } else if constexpr (has_backward_params<L> && !readonly) {
                    layer.backward_params(in, y, std::move(upstream), saved);
                    return;
                }  // else: the whole VJP, into a gradient buffer nobody reads
            }
        }
        // dx goes into the gradient buffer that does not hold dy.
        const bool dy_in_first = bufs[0].data() == upstream.data();
        dx.rebind(bufs[dy_in_first ? 1 : 0].data(), batch);
        layer.backward(in, y, pass_upstream(), dx, saved);
    }

    layers_type layers_;
    std::string_view prefix_;
    void (*hook_)(void*, std::size_t) = nullptr;
    void* hook_ctx_ = nullptr;
};

// Gradient buffers for chains nested inside a layer (the branches of residual blocks): per
// thread and per nesting level, two grow-only buffers shared by every block of that level
// (their backward passes run one after the other). net::release_buffers() frees them.
template <class T> class scratch_arena {
public:
    // Borrows the two buffers of the next nesting level, each at least n values, until destroyed.
    class borrow {
    public:
        explicit borrow(std::size_t n) : level_(depth()++) {
            auto& ls = levels();
            while (ls.size() <= level_) ls.emplace_back();  // a deque: earlier levels stay put
            for (auto& b : ls[level_].buf)
                if (b.size() < n) {
                    b = {};  // free first: the old and the new buffer never coexist
                    b.resize(n);
                }
        }
        ~borrow() { --depth(); }
        borrow(const borrow&) = delete;
        borrow& operator=(const borrow&) = delete;
        std::vector<T>* buffers() { return levels()[level_].buf; }

    private:
        std::size_t level_;
    };
    // Frees the calling thread's buffers (none may be borrowed).
    static void release() {
        if (depth() == 0) levels().clear();
    }

private:
    struct level {
        std::vector<T> buf[2];
    };
    static std::deque<level>& levels() {
        thread_local std::deque<level> l;
        return l;
    }
    static std::size_t& depth() {
        thread_local std::size_t d = 0;
        return d;
    }
};

// The chain of specs Specs... (which already passed their checks) bound to scalar T and input shape In.
template <class T, class In, class... Specs>
using chain_of = chain<T, type_list<Specs...>, typename walk<no_checks, In, Specs...>::inputs>;

}  // namespace typenet::detail
