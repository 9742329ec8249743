// typenet/init.hpp - weight initialisation schemes, applied to a whole network.
//
// Every layer's initialize(rng&) draws PyTorch's defaults (weights and biases uniform in
// +-1/sqrt(fan_in)); a network built with a seed starts there. The schemes below redraw the
// weights of every conv and dense layer of an existing network through for_each_parameter,
// so they work for any layer whose weight tensor is (out, in, ...):
//   fan_in = product of the weight's dimensions after the first.
//
//   pytorch          weights and biases uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) (as constructed)
//   kaiming_normal   weights normal(0, sqrt(2 / fan_in)) (He et al. 2015, for ReLU), biases 0
//   kaiming_uniform  weights uniform(-sqrt(6 / fan_in), sqrt(6 / fan_in)), biases 0
// Batch-norm gamma/beta and running statistics are left as they are (1, 0, 0, 1).
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "typenet/layer.hpp"
#include "typenet/rng.hpp"

namespace typenet {

enum class init_scheme { pytorch, kaiming_normal, kaiming_uniform };

inline init_scheme parse_init_scheme(std::string_view name) {
    if (name == "pytorch") return init_scheme::pytorch;
    if (name == "kaiming-normal" || name == "he") return init_scheme::kaiming_normal;
    if (name == "kaiming-uniform") return init_scheme::kaiming_uniform;
    throw std::invalid_argument("unknown initialisation '" + std::string(name) +
                                "' (choose pytorch, kaiming-normal or kaiming-uniform)");
}
inline std::string to_string(init_scheme s) {
    switch (s) {
        case init_scheme::pytorch: return "pytorch";
        case init_scheme::kaiming_normal: return "kaiming-normal";
        case init_scheme::kaiming_uniform: return "kaiming-uniform";
    }
    return "?";
}

// Reinitialises `net` from `seed` with `scheme` (pytorch: the constructor's draw, net.initialize(seed)).
template <class Net>
void initialize(Net& net, std::uint64_t seed, init_scheme scheme) {
    using T = typename Net::value_type;
    net.initialize(seed);
    if (scheme == init_scheme::pytorch) return;
    rng g(seed ^ 0xA5A5A5A5DEADBEEFull);
    net.for_each_parameter([&](const parameter_view<T>& p) {
        if (p.role == parameter_role::bias) {
            std::fill(p.value.begin(), p.value.end(), T(0));
            return;
        }
        if (p.role != parameter_role::weight || p.dims.size() < 2) return;
        std::size_t fan_in = 1;
        for (std::size_t i = 1; i < p.dims.size(); ++i) fan_in *= p.dims[i];
        const double std_dev = std::sqrt(2.0 / double(fan_in));
        for (T& w : p.value)
            w = scheme == init_scheme::kaiming_normal ? T(std_dev * g.normal())
                                                      : T(g.uniform(-std_dev * std::sqrt(3.0), std_dev * std::sqrt(3.0)));
    });
}

}  // namespace typenet
