// bench/rel_error.hpp - the relative error every accuracy figure of the project reports
// (docs/numerics.md): ||a - truth|| / ||truth||, the plain norm ||a - truth|| where the truth is
// all zeros, and infinity where a holds a non-finite value (a NaN would otherwise compare as
// "no error" in a bound check) or the sizes differ. a may be float or double; the sums are double.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace typenet::numerics {

template <class T>
inline double rel_error(const T* a, const double* truth, std::size_t n) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(a[i])) return INFINITY;
        const double e = double(a[i]) - truth[i];
        num += e * e;
        den += truth[i] * truth[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}
template <class T>
inline double rel_error(const std::vector<T>& a, const std::vector<double>& truth) {
    return a.size() == truth.size() ? rel_error(a.data(), truth.data(), a.size()) : INFINITY;
}

}  // namespace typenet::numerics
