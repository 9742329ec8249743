// typenet/residual.hpp - residual blocks as types.
//
//   residual<branch<Main...>, Shortcut = identity_shortcut, Activation = relu>
//
// y = Activation(main(x) + shortcut(x)). The main branch is a flat list of layer specs (repeat<>
// allowed); the shortcut is identity_shortcut (x itself), projection<InC, OutC, Stride> (a 1x1
// convolution with that stride, no bias, then batch norm: conv_bn<InC, OutC, 1, Stride, same,
// identity>), or any branch<...>. Activation is relu or identity.
//
// Shapes are checked while compiling: every layer of each branch as in a network, at the
// position at_layer<I, in_main_branch<J>> / at_layer<I, in_shortcut<J>>, then the two branch
// outputs must be the same shape (error::residual_branch_shapes_differ names the block position
// and both shapes).
//
// The VJP. The sum is an additive fan-in: dL/d(main output) = dL/d(shortcut output) = dz, the
// upstream gradient masked by the activation. Each branch is a chain (chain.hpp) and runs THE
// chain rule from dz; their input gradients add: dL/dx = J_main^T dz + J_shortcut^T dz (J = I for
// the identity shortcut). Nothing here differentiates a particular network.
//
// Memory: the branches' outputs and saved values live in the block's saved_type (freed by
// net::release_buffers()); their gradients go through two buffers per nesting level shared by
// all blocks (scratch_arena, chain.hpp). Where the main branch ends in conv_bn<..., identity>
// its output is not kept: its batch norm writes the sum and ReLU straight into the block's
// output (layer.hpp's forward_add).
//
// Blocks of the CIFAR ResNets:
//   basic_block<InC, OutC, Stride>: conv_bn 3x3 (stride) -> conv_bn 3x3 (no ReLU) + shortcut
//   (identity when InC == OutC and Stride == 1, else projection), then ReLU (He et al. 2016).
#pragma once

#include <string>
#include <type_traits>

#include "typenet/chain.hpp"
#include "typenet/errors.hpp"
#include "typenet/kernels.hpp"
#include "typenet/layers/conv_norm.hpp"
#include "typenet/net.hpp"

namespace typenet {

// A flat list of layer specs: the main branch (or a shortcut) of a residual block.
template <class... Specs> struct branch {};
// The shortcut that passes x through unchanged.
struct identity_shortcut {};
// The projection shortcut of He et al. (option B): 1x1 convolution with stride, then the
// normalisation Norm (batch norm by default; conv_then_norm in conv_norm.hpp).
template <std::size_t InC, std::size_t OutC, std::size_t Stride, class Norm = batch_norm<>> struct projection {};

namespace error {
template <class Shape> struct main_branch_gives {};
template <class Shape> struct shortcut_gives {};

template <class Where, class Block, class Main, class Shortcut>
struct residual_branch_shapes_differ {
    static_assert(always_false<Where, Block, Main, Shortcut>,
                  "typenet: the main branch and the shortcut of a residual block must produce the same "
                  "shape, because their outputs are added. Make the main branch end in the shape shown in "
                  "shortcut_gives<...>, or give the block a shortcut that produces main_branch_gives<...>, "
                  "e.g. typenet::projection<InC, OutC, Stride> when the main branch changes channels or "
                  "strides.");
};
}  // namespace error

namespace detail {

template <class T> struct is_branch : std::false_type {};
template <class... S> struct is_branch<branch<S...>> : std::true_type {};

// The shortcut as a list of specs (empty: identity).
template <class S> struct shortcut_list {
    static_assert(is_branch<S>::value,
                  "typenet: a residual block's shortcut is typenet::identity_shortcut, "
                  "typenet::projection<InC, OutC, Stride> or a typenet::branch<layers...>");
    using type = type_list<>;
};
template <> struct shortcut_list<identity_shortcut> { using type = type_list<>; };
template <std::size_t InC, std::size_t OutC, std::size_t Stride, class Norm>
struct shortcut_list<projection<InC, OutC, Stride, Norm>> {
    using type = type_list<conv_then_norm<InC, OutC, 1, Stride, same, Norm, identity>>;
};
template <class... S> struct shortcut_list<branch<S...>> { using type = expand_specs<S...>; };

// The main branch as a flat list of specs (repeat<> expanded).
template <class B> struct branch_list { using type = type_list<>; };  // not a branch: residual's static_assert
template <class... S> struct branch_list<branch<S...>> { using type = expand_specs<S...>; };

// Output shape of a list of specs applied to In (no checks).
template <class In, class List> struct list_output;
template <class In, class... S> struct list_output<In, type_list<S...>> {
    using type = typename walk<no_checks, In, S...>::output;
};

template <class In, class Pos, class List> struct check_list;
template <class In, class Pos, class... S> struct check_list<In, Pos, type_list<S...>> {
    using scan_type = scan<Pos, In, S...>;
    static constexpr bool ok = scan_type::ok;
};

template <class T, class In, class List> struct chain_for_list;
template <class T, class In, class... S> struct chain_for_list<T, In, type_list<S...>> {
    using type = chain_of<T, In, S...>;
};

inline std::string describe_list(type_list<>) { return ""; }
template <class S, class... Rest> std::string describe_list(type_list<S, Rest...>) {
    std::string s = S::describe();
    ((s += ", " + Rest::describe()), ...);
    return s;
}

template <class T, class Spec, class In> class residual_layer;

}  // namespace detail

template <class Main, class Shortcut = identity_shortcut, class Activation = relu>
struct residual {
    static_assert(detail::is_branch<Main>::value,
                  "typenet: residual's first argument is its main branch, typenet::branch<layers...>, e.g. "
                  "residual<branch<conv_bn<16, 16, 3, 1, same>, conv_bn<16, 16, 3, 1, same, identity>>>");
    static_assert(detail::activation<Activation>,
                  "typenet: residual's third argument is the activation after the sum: typenet::relu (the "
                  "default) or typenet::identity");

    using main_list = typename detail::branch_list<Main>::type;
    static_assert(!detail::is_branch<Main>::value || !std::is_same_v<main_list, detail::type_list<>>,
                  "typenet: a residual block's main branch needs at least one layer");
    using shortcut_specs = typename detail::shortcut_list<Shortcut>::type;
    static constexpr bool identity_shortcut = std::is_same_v<shortcut_specs, detail::type_list<>>;
    static constexpr bool relu_after = std::is_same_v<Activation, relu>;

    template <class Where, class In> static consteval bool check() {
        using main_check = detail::check_list<In, detail::branch_positions<Where, error::in_main_branch>, main_list>;
        if constexpr (!main_check::ok) {
            return false;
        } else {
            using short_check =
                detail::check_list<In, detail::branch_positions<Where, error::in_shortcut>, shortcut_specs>;
            if constexpr (!short_check::ok) {
                return false;
            } else {
                using main_out = typename detail::list_output<In, main_list>::type;
                using short_out = typename detail::list_output<In, shortcut_specs>::type;
                if constexpr (!std::is_same_v<main_out, short_out>) {
                    (void)error::reported<error::residual_branch_shapes_differ<
                        Where, residual, error::main_branch_gives<main_out>, error::shortcut_gives<short_out>>>;
                    return false;
                } else {
                    return true;
                }
            }
        }
    }
    template <class In> using output_shape = typename detail::list_output<In, main_list>::type;
    template <class T, class In> using bind = detail::residual_layer<T, residual, In>;

    static std::string describe() {
        std::string s = "residual<branch<" + detail::describe_list(main_list{}) + ">, ";
        if constexpr (identity_shortcut) s += "identity_shortcut";
        else s += "branch<" + detail::describe_list(shortcut_specs{}) + ">";
        if constexpr (!relu_after) s += ", identity";
        return s + ">";
    }
};

// The basic block of the CIFAR ResNets (He et al. 2016): two 3x3 convolutions each followed by
// the normalisation Norm (the first with the stride, the second without ReLU; conv_bn for batch
// norm), identity shortcut when the shape is kept, else projection.
template <std::size_t InC, std::size_t OutC, std::size_t Stride, class Norm = batch_norm<>>
using basic_block = residual<branch<conv_then_norm<InC, OutC, 3, Stride, same, Norm>,
                                    conv_then_norm<OutC, OutC, 3, 1, same, Norm, identity>>,
                             std::conditional_t<InC == OutC && Stride == 1, identity_shortcut,
                                                projection<InC, OutC, Stride, Norm>>>;

namespace detail {

template <class T, class Spec, class In>
class residual_layer {
    using main_chain = typename chain_for_list<T, In, typename Spec::main_list>::type;
    static constexpr bool has_shortcut_layers = !Spec::identity_shortcut;
    // The identity shortcut has no chain; a one-layer stand-in keeps the member types simple.
    using short_chain = std::conditional_t<has_shortcut_layers,
                                           typename chain_for_list<T, In, typename Spec::shortcut_specs>::type,
                                           chain_of<T, In, identity>>;

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = typename main_chain::output_shape;
    struct saved_type {
        typename main_chain::tape main;
        typename short_chain::tape shortcut;
    };

    static constexpr std::string_view kind = "residual";
    static constexpr std::size_t parameter_count =
        main_chain::parameter_count + (has_shortcut_layers ? short_chain::parameter_count : 0);
    static constexpr std::size_t state_count =
        main_chain::state_count + (has_shortcut_layers ? short_chain::state_count : 0);
    static constexpr std::size_t forward_flops =
        main_chain::forward_flops + (has_shortcut_layers ? short_chain::forward_flops : 0);
    static std::string describe() { return Spec::describe(); }

    residual_layer() : main_("main branch layer "), shortcut_("shortcut layer ") {}

    // The shortcut first, then the main branch, whose last layer writes the sum (and the ReLU)
    // into y in its own output pass where it can (conv_bn: chain::forward_add).
    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type& s) {
        // x is the network's (it keeps it until backward): the branches may keep views of it.
        const T* b = x.data();
        if constexpr (has_shortcut_layers) b = shortcut_.forward(x, s.shortcut, true, true).data();
        main_.forward_add(x, s.main, /*train=*/true, /*x_persists=*/true, b, Spec::relu_after, y);
    }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        typename main_chain::outputs_type mo;
        if constexpr (has_shortcut_layers) {
            typename short_chain::outputs_type so;
            main_.infer_add(x, mo, shortcut_.infer(x, so).data(), Spec::relu_after, y);
        } else {
            main_.infer_add(x, mo, x.data(), Spec::relu_after, y);
        }
    }

    // Eval mode with the branches' outputs kept in `s` (reused from call to call) rather than
    // allocated per call; the same operations as infer(x, y).
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type& s) {
        const T* b = x.data();
        if constexpr (has_shortcut_layers) b = shortcut_.forward(x, s.shortcut, false, false).data();
        main_.forward_add(x, s.main, /*train=*/false, /*x_persists=*/false, b, Spec::relu_after, y);
    }

    // dy is only read: the VJP below on a copy.
    void backward(const tensor<T, In>& x, const tensor<T, output_shape>& y, const tensor<T, output_shape>& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        tensor<T, output_shape> dz(dy);
        backward(x, y, std::move(dz), dx, s);
    }
    // dy is scratch (layer.hpp): dz, the gradient at the sum, overwrites it. The shortcut's
    // input gradient is written into dx first (identity: dz itself, in the ReLU's pass), then the
    // main branch's first layer adds its own into dx (chain::backward_into): no separate sum.
    void backward(const tensor<T, In>& x, const tensor<T, output_shape>& y, tensor<T, output_shape>&& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        const std::size_t n = dy.size();
        const std::size_t need = x.batch() * std::max(main_chain::max_input_size,
                                                      has_shortcut_layers ? short_chain::max_input_size : 0);
        typename scratch_arena<T>::borrow arena(need);
        if constexpr (has_shortcut_layers) {
            if constexpr (Spec::relu_after) kernels::relu_backward<T>(n, y.data(), dy.data(), dy.data());
            // Before the main branch, which overwrites dz.
            shortcut_.template backward_into<false>(x, std::as_const(dy), s.shortcut, arena.buffers(), dx, false);
        } else if constexpr (Spec::relu_after) {
            kernels::relu_backward_copy<T>(n, y.data(), dy.data(), dy.data(), dx.data());  // identity: J^T dz = dz
        } else {
            std::copy(dy.data(), dy.data() + n, dx.data());
        }
        main_.template backward_into<true>(x, dy, s.main, arena.buffers(), dx, /*add=*/true);  // the fan-in
    }

    void initialize(rng& g) {
        main_.initialize(g);
        if constexpr (has_shortcut_layers) shortcut_.initialize(g);
    }
    // Local names "main.<j>.<kind>.<tensor>" and "shortcut.<j>.<kind>.<tensor>"; the network
    // prefixes "<i>.residual.".
    template <class F> void for_each_parameter(F&& f) {
        main_.for_each_parameter("main.", f);
        if constexpr (has_shortcut_layers) shortcut_.for_each_parameter("shortcut.", f);
    }
    template <class F> void for_each_state(F&& f) {
        main_.for_each_state("main.", f);
        if constexpr (has_shortcut_layers) shortcut_.for_each_state("shortcut.", f);
    }
    // The layers of both branches, main first (chain.hpp's for_each_layer: the network's hooks).
    template <class F> void for_each_layer(F&& f) {
        main_.for_each_layer(f);
        if constexpr (has_shortcut_layers) shortcut_.for_each_layer(f);
    }

    main_chain& main() { return main_; }
    short_chain& shortcut() { return shortcut_; }

private:
    main_chain main_;
    short_chain shortcut_;
};

}  // namespace detail
}  // namespace typenet
