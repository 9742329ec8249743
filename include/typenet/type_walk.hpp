// typenet/type_walk.hpp - the type-level machinery of networks and blocks, on Boost.Hana:
// flattening repeat<N, Spec> and walking a list of specs from an input shape (the shape of every
// layer's input, the output shape, and the compile-time checks of each position).
#pragma once

#include <cstddef>
#include <type_traits>

#include <boost/hana/append.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/bool.hpp>
#include <boost/hana/flatten.hpp>
#include <boost/hana/fold_left.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/replicate.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>
#include <boost/hana/unpack.hpp>

namespace typenet {

template <std::size_t N, class Spec> struct repeat;

namespace detail {

namespace hana = boost::hana;

template <class... Ts> struct type_list {};

// A hana tuple of types as a type_list. (Function objects, not lambdas: a lambda in an alias
// template makes each use a new type, and g++ 12 then fails to match partial specialisations.)
struct to_type_list {
    template <class... T> constexpr auto operator()(T...) const { return type_list<typename T::type...>{}; }
};
template <class Tuple> using as_type_list = decltype(hana::unpack(std::declval<Tuple>(), to_type_list{}));

// repeat<N, S> as N copies of S's expansion; anything else as itself.
template <class S> constexpr auto expand_one(hana::basic_type<S>) { return hana::tuple_t<S>; }
template <std::size_t N, class S> constexpr auto expand_one(hana::basic_type<repeat<N, S>>) {
    return hana::flatten(hana::replicate<hana::tuple_tag>(expand_one(hana::type_c<S>), hana::size_c<N>));
}
// The specs with every repeat<N, S> replaced by N copies of S (nested repeats too).
template <class... Specs>
using expand_specs = as_type_list<decltype(hana::flatten(hana::make_tuple(expand_one(hana::type_c<Specs>)...)))>;

template <class S, class In, bool Ok> struct output_of_spec { using type = typename S::template output_shape<In>; };
template <class S, class In> struct output_of_spec<S, In, false> { using type = In; };

template <class T> using type_of = typename std::remove_cvref_t<T>::type;
template <class C> inline constexpr auto value_of = std::remove_cvref_t<C>::value;

// Walks Specs from In: inputs = the input shape of each spec, output = the last output shape.
// Check(position, In, spec, earlier_ok) is a consteval check of one position: a class with
// template <std::size_t I, class In, class S, bool Ok> static consteval bool at(). Once a check
// fails, the walk passes the input through unchanged and checks nothing more.
struct no_checks {
    template <std::size_t I, class In, class S, bool Ok> static consteval bool at() { return true; }
};
// One step of walk: the state (earlier checks passed, position, input shape, inputs so far)
// and the next spec give the next state.
template <class Check> struct walk_step {
    template <class State, class Spec> constexpr auto operator()(State st, Spec) const {
        using S = typename Spec::type;
        using Cur = type_of<decltype(hana::at_c<2>(st))>;
        constexpr bool earlier = value_of<decltype(hana::at_c<0>(st))>;
        constexpr std::size_t i = value_of<decltype(hana::at_c<1>(st))>;
        constexpr bool here = Check::template at<i, Cur, S, earlier>();
        using Next = typename output_of_spec<S, Cur, here>::type;
        return hana::make_tuple(hana::bool_c<here>, hana::size_c<i + 1>, hana::type_c<Next>,
                                hana::append(hana::at_c<3>(st), hana::type_c<Cur>));
    }
};
template <class Check, class In, class... Specs>
struct walk {
    static constexpr auto state =
        hana::fold_left(hana::tuple_t<Specs...>,
                        hana::make_tuple(hana::true_c, hana::size_c<0>, hana::type_c<In>, hana::tuple_t<>),
                        walk_step<Check>{});
    static constexpr bool ok = value_of<decltype(hana::at_c<0>(state))>;
    using output = type_of<decltype(hana::at_c<2>(state))>;
    using inputs = as_type_list<decltype(hana::at_c<3>(state))>;
};

}  // namespace detail
}  // namespace typenet
