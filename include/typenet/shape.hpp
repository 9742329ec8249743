// typenet/shape.hpp - per-sample shapes as types.
//
// A shape is the static size of ONE sample: shape<C, H, W> for images and feature maps,
// shape<N> for flat feature vectors. The batch size is never part of a shape: it is a
// run-time value carried by typenet::tensor, so the last batch of an epoch may be smaller
// and evaluation may run at batch 1 with the same network type.
//
//   static_assert(typenet::shape<3, 32, 32>::size == 3072);
//   static_assert(typenet::shape<512>::rank == 1);
#pragma once

#include <array>
#include <cstddef>
#include <string>

namespace typenet {

template <std::size_t... Dims>
struct shape {
    static_assert(sizeof...(Dims) == 1 || sizeof...(Dims) == 3,
                  "typenet: a per-sample shape is either shape<N> (flat features) or "
                  "shape<C, H, W> (channels, height, width); the batch size is not part of it");
    static_assert(((Dims > 0) && ...), "typenet: every dimension of a shape must be at least 1");

    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::size_t size = (Dims * ... * std::size_t{1});
    static constexpr std::array<std::size_t, rank> dims{Dims...};

    // "3x32x32" or "512": the form used by summaries and run-time error messages.
    static std::string to_string() {
        std::string s;
        for (std::size_t i = 0; i < rank; ++i) {
            if (i) s += 'x';
            s += std::to_string(dims[i]);
        }
        return s;
    }
};

namespace detail {
template <class S> struct is_shape_impl : std::false_type {};
template <std::size_t... D> struct is_shape_impl<shape<D...>> : std::true_type {};
}  // namespace detail

template <class S> concept any_shape = detail::is_shape_impl<S>::value;
// C, H, W feature maps (convolutions, pooling, batch norm per channel).
template <class S> concept spatial_shape = any_shape<S> && S::rank == 3;
// N features (dense, batch norm per feature, losses).
template <class S> concept flat_shape = any_shape<S> && S::rank == 1;

// Accessors that are well-formed for any shape (flat shapes read as N x 1 x 1), so that
// shape rules can be evaluated before we know the rule holds.
template <class S> inline constexpr std::size_t channels_of = S::dims[0];
template <class S> inline constexpr std::size_t height_of = S::rank == 3 ? S::dims[1 % S::rank] : 1;
template <class S> inline constexpr std::size_t width_of = S::rank == 3 ? S::dims[2 % S::rank] : 1;

// The first entry of every network: the shape of one input sample.
//   typenet::input<3, 32, 32>   an RGB 32x32 image
//   typenet::input<784>         a flat vector
template <std::size_t... Dims>
struct input {
    using shape_type = shape<Dims...>;
};

namespace detail {
template <class T> struct is_input_impl : std::false_type {};
template <std::size_t... D> struct is_input_impl<input<D...>> : std::true_type {};
}  // namespace detail
template <class T> concept input_spec = detail::is_input_impl<T>::value;

// Padding policies of convolutions.
//   same : pad (K-1)/2 on each side (K must be odd); output = floor((H - 1) / S) + 1,
//          i.e. H at stride 1 and ceil(H / S) at stride S.
//   valid: no padding; output = (H - K) / S + 1, and (H - K) must be divisible by S.
struct same {};
struct valid {};

}  // namespace typenet
