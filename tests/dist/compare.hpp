// tests/dist/compare.hpp - how the multi-process tests compare a result with one process's.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "typenet/layer.hpp"

namespace typenet_test {

// A float network's parameters and running statistics, one after the other, as doubles.
template <class Net>
std::vector<double> parameters_and_state(Net& net) {
    std::vector<double> v;
    net.for_each_parameter([&](const typenet::parameter_view<float>& p) { v.insert(v.end(), p.value.begin(), p.value.end()); });
    net.for_each_state([&](const typenet::state_view<float>& s) { v.insert(v.end(), s.value.begin(), s.value.end()); });
    return v;
}

// The largest absolute difference over the largest absolute reference value (a normwise relative
// error); the absolute difference when the reference is all zeros.
inline double normwise(const std::vector<double>& got, const std::vector<double>& want) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        diff = std::max(diff, std::abs(got[i] - want[i]));
        scale = std::max(scale, std::abs(want[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

}  // namespace typenet_test
