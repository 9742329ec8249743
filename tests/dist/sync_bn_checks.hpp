// tests/dist/sync_bn_checks.hpp - synchronized batch norm against one process, over any
// communicator: tests/dist/sync_bn_mpi.cpp runs it on MPI ranks (mpirun -np 2),
// tests/test_sync_bn.cpp on threads of one process (thread_communicator.hpp).
//
// Every rank builds the same network twice from the same seed. `whole` trains in this process on
// all the samples (the reference: batch norm over the concatenated batch); `part` trains on this
// rank's slice of them with net.set_bn_sync(batch_stats_sync over the communicator). After each of
// two train-mode steps (forward, backward; no update) the rank compares, as the largest absolute
// difference over the largest absolute reference value (a normwise relative error):
//   outputs and input gradients of its slice     against whole's rows of that slice
//   parameter gradients, summed over the ranks   against whole's
//   running statistics                           against whole's (on every rank)
// The network has every kind of layer with batch statistics: conv_bn (the convolution's fused
// statistics, the ReLU epilogue), a residual block (the addend epilogue), conv_norm with
// batch_renorm (r and d from the synchronized statistics, past its plain-BN start), and
// batch_norm on flat features.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "compare.hpp"
#include "typenet/dist/communicator.hpp"
#include "typenet/typenet.hpp"

namespace typenet_test {

namespace tn = typenet;

template <class T>
using sync_net = tn::basic_net<T, tn::input<3, 6, 6>, tn::conv_bn<3, 4, 3, 1, tn::same>, tn::basic_block<4, 4, 1>,
                               tn::conv_norm<4, 4, 3, 1, tn::same, tn::batch_renorm<>>, tn::max_pool<2, 2>,
                               tn::flatten, tn::batch_norm<>, tn::dense<36, 3>>;

struct sync_report {
    double outputs = 0, input_gradients = 0, parameter_gradients = 0, running_statistics = 0;
    double worst() const { return std::max({outputs, input_gradients, parameter_gradients, running_statistics}); }
};

// This rank's rows of a batch cut into slices (the samples of each rank, in rank order).
struct slice {
    std::size_t total, first, mine;
    slice(const tn::dist::communicator& comm, const std::vector<std::size_t>& slices)
        : total(std::accumulate(slices.begin(), slices.end(), std::size_t(0))),
          first(std::accumulate(slices.begin(), slices.begin() + comm.rank(), std::size_t(0))),
          mine(slices[std::size_t(comm.rank())]) {}
    // The rows of a whole-batch tensor that are this rank's, as doubles.
    template <class Tensor> std::vector<double> rows(const Tensor& all) const {
        constexpr std::size_t n = Tensor::shape_type::size;
        return {all.flat().begin() + std::ptrdiff_t(first * n), all.flat().begin() + std::ptrdiff_t((first + mine) * n)};
    }
    // part (mine rows) = this rank's rows of all.
    template <class Tensor> void copy_rows(const Tensor& all, Tensor& part) const {
        constexpr std::size_t n = Tensor::shape_type::size;
        std::copy_n(all.flat().begin() + std::ptrdiff_t(first * n), mine * n, part.flat().begin());
    }
};

// slices: the samples of each rank (comm.size() of them, any sizes >= 1).
template <class T>
sync_report check_sync_bn(tn::dist::communicator& comm, const std::vector<std::size_t>& slices) {
    using net_t = sync_net<T>;
    const slice sl(comm, slices);

    auto whole = std::make_unique<net_t>(11), part = std::make_unique<net_t>(11);
    tn::dist::batch_stats_sync sync(comm);
    part->set_bn_sync(&sync);
    for (auto* n : {whole.get(), part.get()}) {
        n->set_renorm_schedule({0, 1, 1, 1.5, 0.5});  // relaxed from the first step: r, d matter
        n->set_train_step(3);
        n->train();
    }

    sync_report rep;
    tn::rng g(5);
    for (int step = 0; step < 2; ++step) {
        typename net_t::input_tensor x_all(sl.total), x(sl.mine);
        for (auto& v : x_all.flat()) v = T(g.normal() * 2.0 + 0.5);
        sl.copy_rows(x_all, x);
        typename net_t::output_tensor dy_all(sl.total), dy(sl.mine);
        for (auto& v : dy_all.flat()) v = T(g.normal());
        sl.copy_rows(dy_all, dy);

        whole->zero_grad();
        part->zero_grad();
        const auto& y_all = whole->forward(x_all);
        const auto& y = part->forward(x);
        std::vector<double> got(y.flat().begin(), y.flat().end()), want = sl.rows(y_all);
        rep.outputs = std::max(rep.outputs, normwise(got, want));

        const auto& dx_all = whole->backward(dy_all);
        const auto& dx = part->backward(dy);
        got.assign(dx.flat().begin(), dx.flat().end());
        want = sl.rows(dx_all);
        rep.input_gradients = std::max(rep.input_gradients, normwise(got, want));

        got.clear(), want.clear();
        part->for_each_parameter([&](const tn::parameter_view<T>& p) { got.insert(got.end(), p.gradient.begin(), p.gradient.end()); });
        whole->for_each_parameter([&](const tn::parameter_view<T>& p) { want.insert(want.end(), p.gradient.begin(), p.gradient.end()); });
        comm.sum(std::span<double>(got));
        rep.parameter_gradients = std::max(rep.parameter_gradients, normwise(got, want));

        got.clear(), want.clear();
        part->for_each_state([&](const tn::state_view<T>& s) { got.insert(got.end(), s.value.begin(), s.value.end()); });
        whole->for_each_state([&](const tn::state_view<T>& s) { want.insert(want.end(), s.value.begin(), s.value.end()); });
        rep.running_statistics = std::max(rep.running_statistics, normwise(got, want));
    }
    return rep;
}

// Without the sync (each rank its own slice's statistics) the same network differs from the
// reference: the coupling of a batch's samples through its statistics. Returns the outputs'
// normwise difference.
template <class T>
double unsynced_difference(tn::dist::communicator& comm, const std::vector<std::size_t>& slices) {
    using net_t = sync_net<T>;
    const slice sl(comm, slices);
    auto whole = std::make_unique<net_t>(11), part = std::make_unique<net_t>(11);
    whole->train(), part->train();
    typename net_t::input_tensor x_all(sl.total), x(sl.mine);
    tn::rng g(5);
    for (auto& v : x_all.flat()) v = T(g.normal() * 2.0 + 0.5);
    sl.copy_rows(x_all, x);
    const auto& y_all = whole->forward(x_all);
    const auto& y = part->forward(x);
    return normwise(std::vector<double>(y.flat().begin(), y.flat().end()), sl.rows(y_all));
}

}  // namespace typenet_test
