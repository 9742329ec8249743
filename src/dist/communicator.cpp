// src/dist/communicator.cpp - one process's communicator and synchronized batch statistics
// (typenet/dist/communicator.hpp). No MPI here: libtypenet builds without it.
#include "typenet/dist/communicator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace typenet::dist {

void self_communicator::allgather(std::span<const double> mine, std::span<double> all) {
    if (all.size() != mine.size())
        throw std::invalid_argument("typenet::dist::self_communicator::allgather: all has " +
                                    std::to_string(all.size()) + " values, one rank's " +
                                    std::to_string(mine.size()));
    std::copy(mine.begin(), mine.end(), all.begin());
}

void batch_stats_sync::gather(const double* mine, std::size_t n) {
    all_.resize(n * std::size_t(comm_->size()));
    comm_->allgather({mine, n}, all_);
}

void batch_stats_sync::merge_moments(double* moments, std::size_t blocks) {
    const std::size_t n = 3 * blocks;
    gather(moments, n);
    for (std::size_t j = 0; j < blocks; ++j) {
        // Chan et al.: merge (count, mean, M2) of rank r into those of ranks 0 .. r-1.
        double count = 0, mean = 0, m2 = 0;
        for (int r = 0; r < comm_->size(); ++r) {
            const double* p = &all_[std::size_t(r) * n + 3 * j];
            const double n_r = p[0], total = count + n_r;
            if (n_r == 0) continue;
            if (count == 0) {  // the first rank with values: its own, exactly
                count = n_r, mean = p[1], m2 = p[2];
                continue;
            }
            const double delta = p[1] - mean;
            mean += delta * n_r / total;
            m2 += p[2] + delta * delta * count * n_r / total;
            count = total;
        }
        moments[3 * j] = count, moments[3 * j + 1] = mean, moments[3 * j + 2] = m2;
    }
}

void batch_stats_sync::sum(double* sums, std::size_t blocks) {
    const std::size_t n = 3 * blocks;
    gather(sums, n);
    for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (int r = 0; r < comm_->size(); ++r) s += all_[std::size_t(r) * n + i];
        sums[i] = s;
    }
}

}  // namespace typenet::dist
