// typenet/layers/dropout.hpp - inverted dropout, active in train mode only.
//
//   dropout<P = std::ratio<1, 2>>   P = probability of dropping a unit, in [0, 1)
// Train mode: y = x * m / (1 - P) with m ~ Bernoulli(1 - P) per element, drawn from the
// layer's own typenet::rng (seeded by the network's initialize(seed)). Eval mode: y = x.
#pragma once

#include <ratio>
#include <vector>

#include "typenet/layers/common.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class dropout_layer;
}

template <class P = std::ratio<1, 2>>
struct dropout {
    using rate_ratio = typename P::type;
    static constexpr double rate = double(rate_ratio::num) / double(rate_ratio::den);

    template <class Where, class In> static consteval bool check() {
        if constexpr (rate_ratio::num < 0 || rate_ratio::num >= rate_ratio::den) {
            (void)error::reported<error::dropout_rate_out_of_range<Where, dropout,
                                                          error::expects<error::rate_in_0_to_1>,
                                                          error::got<rate_ratio>>>;
            return false;
        } else {
            return true;
        }
    }
    template <class In> using output_shape = In;
    template <class T, class In> using bind = detail::dropout_layer<T, dropout, In>;
    static std::string describe() {
        return "dropout<" + std::to_string(rate_ratio::num) + "/" + std::to_string(rate_ratio::den) + ">";
    }
};

namespace detail {

template <class T, class Spec, class In>
class dropout_layer {
public:
    using value_type = T;
    using input_shape = In;
    using output_shape = In;
    struct saved_type {
        std::vector<T> scale;  // per element: 0 (dropped) or 1 / (1 - P) (kept)
    };
    static constexpr std::string_view kind = "dropout";
    static constexpr std::size_t parameter_count = 0, state_count = 0, forward_flops = 0;
    static std::string describe() { return Spec::describe(); }

    void forward(const tensor<T, In>& x, tensor<T, In>& y, saved_type& s) {
        const T keep_scale = T(1.0 / (1.0 - Spec::rate));
        s.scale.resize(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            s.scale[i] = rng_.uniform() < Spec::rate ? T(0) : keep_scale;
            y.data()[i] = x.data()[i] * s.scale[i];
        }
    }
    void infer(const tensor<T, In>& x, tensor<T, In>& y) const { std::copy(x.data(), x.data() + x.size(), y.data()); }
    void backward(const tensor<T, In>&, const tensor<T, In>&, const tensor<T, In>& dy, tensor<T, In>& dx,
                  const saved_type& s) {
        for (std::size_t i = 0; i < dy.size(); ++i) dx.data()[i] = dy.data()[i] * s.scale[i];
    }
    void initialize(rng& g) { rng_.reseed(g.next()); }
    template <class F> void for_each_parameter(F&&) {}
    template <class F> void for_each_state(F&&) {}
    rng& generator() { return rng_; }

private:
    rng rng_;
};

}  // namespace detail
}  // namespace typenet
