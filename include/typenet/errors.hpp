// typenet/errors.hpp - compile-time shape errors that read like a sentence.
//
// When a network's shapes do not chain, typenet instantiates one of the class templates
// below. Its NAME is the diagnosis and its template arguments carry the facts, so the
// first lines of the compiler output read, for example (g++):
//
//   In instantiation of 'struct typenet::error::dense_fan_in_mismatch<
//       typenet::error::at_layer<7>, typenet::dense<4000, 512, typenet::relu>,
//       typenet::error::expects<typenet::shape<4000> >, typenet::error::got<typenet::shape<4096> > >':
//   error: static assertion failed: typenet: dense<In, Out>: In must equal the size of its
//       flat input. Set In to the N shown in got<shape<N>> ...
//
// at_layer<I> counts the layers after input<...> from 0 (below: inside residual blocks it goes
// on, at_layer<I, in_main_branch<J>>). expects<> is the input shape the
// layer was written for (or the rule it needs); got<> is what the layer before it produces.
// See docs/shape-errors.md for the whole gallery as printed by g++ and clang.
#pragma once

#include <cstddef>

namespace typenet::error {

// Where a layer sits. at_layer<I> counts the entries after input<...> from 0 (a repeat<N, S>
// counts as N entries). Inside a residual block the position goes on: at_layer<4,
// in_main_branch<1>> is the second layer of the main branch of the block at position 4, and
// at_layer<4, in_shortcut<0>> the first layer of its shortcut (blocks nest further).
template <std::size_t Index, class... Inside> struct at_layer {};
template <std::size_t Index> struct in_main_branch {};
template <std::size_t Index> struct in_shortcut {};
// The position of entry J of a branch (in_main_branch or in_shortcut) inside Where.
template <class Where, class Step> struct nested_position;
template <std::size_t I, class... Inside, class Step> struct nested_position<at_layer<I, Inside...>, Step> {
    using type = at_layer<I, Inside..., Step>;
};
template <class Shape> struct expects {};
template <class Shape> struct got {};
// Used by expects<> when a rule is about a size rather than a whole shape.
template <std::size_t Window, std::size_t Stride, std::size_t Input> struct window_stride_input {};

template <class...> inline constexpr bool always_false = false;

// Instantiates error type E (whose static_assert is the message) from a check<Where, In>():
// write (void)error::reported<E>; rather than (void)sizeof(E);. With sizeof(E) inside the
// consteval check, clang 14 marks the check invalid and follows the static assertion with
// errors from inside net.hpp ('here' must be initialized by a constant expression, ...);
// through a variable template the check still returns false and the assertion stays the
// only error (g++ 12 gives one error either way).
template <class E> inline constexpr bool reported = sizeof(E) > 0;

template <class Where, class Layer, class Expected, class Got>
struct channel_mismatch {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: the layer's input channel count does not match the channels its input "
                  "has. Set the layer's first template argument to the C shown in "
                  "got<shape<C, H, W>>, or change the layer before it to produce the expected channels.");
};

template <class Where, class Layer, class Expected, class Got>
struct dense_fan_in_mismatch {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: dense<In, Out>: In must equal the size of its flat input. Set In to the "
                  "N shown in got<shape<N>> (after flatten, N = C*H*W of the feature map).");
};

template <class Where, class Layer, class Expected, class Got>
struct dense_needs_flat_input {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: dense takes a flat input shape<N> but got a C, H, W feature map. Put "
                  "typenet::flatten (or typenet::global_avg_pool) before the dense layer.");
};

template <class Where, class Layer, class Expected, class Got>
struct needs_spatial_input {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: this layer works on C, H, W feature maps but got a flat shape<N>. Move it "
                  "before flatten/dense, or use a layer for flat inputs.");
};

template <class Where, class Layer, class Expected, class Got>
struct window_larger_than_input {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: the kernel or pooling window is larger than the (padded) input it slides "
                  "over. Use a smaller window, 'same' padding, or fewer downsampling layers before it.");
};

template <class Where, class Layer, class Expected, class Got>
struct fractional_output_size {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: with valid padding (input - window) must be divisible by the stride, or "
                  "the output size would be fractional. Change the stride or window, crop the input, "
                  "or use 'same' padding for a convolution.");
};

template <class Where, class Type>
struct not_a_layer {
    static_assert(always_false<Where, Type>,
                  "typenet: this entry of the network is not a layer spec (it has no check<Where, In>() and "
                  "output_shape<In>). Use a typenet layer such as conv2d<...>, or write one as layer.hpp describes.");
};

template <class Where, class Layer>
struct same_padding_needs_odd_kernel {
    static_assert(always_false<Where, Layer>,
                  "typenet: 'same' padding pads (K-1)/2 on each side and needs an odd kernel size K. "
                  "Use an odd kernel or typenet::valid padding.");
};

}  // namespace typenet::error

namespace typenet::error {

// Descriptions used inside expects<...> when the rule is not one exact shape.
template <std::size_t C> struct c_h_w_feature_map_with_channels {};
struct c_h_w_feature_map {};
template <class Shape> struct at_least {};   // the smallest input the window fits in
struct positive_eps {};
struct rate_in_0_to_1 {};

template <class Where, class Layer, class Expected, class Got>
struct eps_must_be_positive {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: a normalisation layer needs eps > 0 so that 1/sqrt(var + eps) stays finite "
                  "when the values it normalises have variance 0. Use the default (1e-5) or a positive std::ratio.");
};

template <std::size_t G> struct channels_divisible_by {};

template <class Where, class Layer, class Expected, class Got>
struct groups_must_divide_channels {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: group_norm<G> splits the C channels of its input into G groups of C / G "
                  "channels, so G must divide C. Choose a G that divides the C shown in got<shape<C, ...>> "
                  "(e.g. 8 or 16 for 32 channels; 1 is layer_norm, C is instance_norm).");
};

template <class Where, class Layer, class Expected, class Got>
struct dropout_rate_out_of_range {
    static_assert(always_false<Where, Layer, Expected, Got>,
                  "typenet: dropout's drop probability must be in [0, 1): at 1 every unit would be dropped "
                  "and the 1/(1-p) rescaling would divide by zero.");
};

}  // namespace typenet::error

namespace typenet::error {

// A network fed from a data source (data/source.hpp): the first argument is the source, the
// second the network, and got<> what the source has.
template <std::size_t N> struct classes {};

template <class Source, class Net, class Expected, class Got>
struct source_shape_mismatch {
    static_assert(always_false<Source, Net, Expected, Got>,
                  "typenet: the data source's samples do not have the network's input shape. The network "
                  "expects<shape<...>> (its input<...>), the source's samples are got<shape<...>>: write the "
                  "network's input<...> with the source's shape, or use a source of the network's shape.");
};

template <class Source, class Net, class Expected, class Got>
struct source_classes_mismatch {
    static_assert(always_false<Source, Net, Expected, Got>,
                  "typenet: the network's output size must equal the data source's number of classes (one logit "
                  "per class). The network ends in expects<shape<K>>, the source has got<classes<N>>: set the "
                  "last layer's output size to N.");
};

}  // namespace typenet::error
