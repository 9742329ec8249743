// src/cli/median.hpp (private to the tools and benchmarks) - the median of a set of timings: the
// middle value of an odd count, the mean of the two middle values of an even count (as
// scripts/median.sh computes it for the shell scripts). typenet-bench, typenet-kernel-bench and
// typenet-comm-bench report it; header-only because the benchmarks do not link typenet_cli.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace typenet::cli {

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace typenet::cli
