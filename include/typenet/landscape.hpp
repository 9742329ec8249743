// typenet/landscape.hpp - loss-landscape probes along the gradient (Santurkar et al. 2018, "How
// Does Batch Normalization Help Optimization?", section 3.1 and figure 4), taken by typenet::fit
// during training (fit_options::landscape) and handed to callbacks (callback::on_landscape;
// landscape_logger in callbacks.hpp writes them to landscape.csv).
//
// A probe at optimizer step t (every `every` steps: t = 1, every + 1, 2 every + 1, ...) uses the
// step's own batch, in train mode, after its backward pass and before its update: theta the
// parameters, g = dL/dtheta the batch loss's gradient (before clipping, without weight decay: the
// loss's own gradient, as the paper probes it; the optimizer's actual update adds momentum and
// weight decay), lr the step's learning rate. For every multiple m of `multiples` (default 0.1,
// 0.25, 0.5, 1, 2 and 4: from a tenth of the step to four of them) it takes eta = m lr and
// computes, at theta' = theta - eta g, the loss L(theta') and its gradient g' (a forward and a
// backward pass on the same batch: the same samples, the same dropout draws, the batch
// statistics of theta'). Then, over the probed points:
//   loss variation           max - min of the loss over theta and the probed points ("variation
//                            of the loss": the width of the shaded band of the paper's 4a)
//   gradient change          max over eta of ||g' - g||_2 ("gradient predictiveness", 4b: small
//                            is predictive)
//   effective beta-smoothness max over eta of ||g' - g|| / ||eta g|| (4c)
// and the minima of the last two (the band's lower edge). A step whose loss is not finite, or
// whose learning rate is 0 (no direction to probe along), is not probed.
//
// The probes do not change the run: the parameters, their gradients, the running statistics and
// the random generators are put back exactly, bit for bit, before the step goes on (tests/test_fit.cpp
// compares a run with probes at every step with one without). A probe costs one forward and
// backward pass per multiple. Not for data-parallel fit (fit throws std::invalid_argument): each
// rank's probe would see its slice only.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/layer.hpp"
#include "typenet/rng.hpp"

namespace typenet {

struct landscape_options {
    std::size_t every = 0;  // a probe every this many optimizer steps (the first at step 1); 0: none
    std::vector<double> multiples{0.1, 0.25, 0.5, 1, 2, 4};  // eta = m * the step's learning rate

    // Throws std::invalid_argument when probes are asked for over more than one process: each
    // rank's probe would see its slice of the batch only.
    void check_processes(std::size_t processes) const {
        if (every > 0 && processes > 1)
            throw std::invalid_argument("landscape probes are for one process (each rank's probe would see its slice of the batch only)");
    }
    // Throws std::invalid_argument unless every multiple is finite and > 0 (and there is one
    // when probes are asked for).
    void validate() const {
        if (every > 0 && multiples.empty()) throw std::invalid_argument("landscape: probes need at least one step-size multiple");
        for (const double m : multiples)
            if (!(m > 0 && std::isfinite(m)))
                throw std::invalid_argument("landscape: step-size multiples must be finite and > 0, got " + std::to_string(m));
    }
};

// One probe, as callbacks see it (see the top of this file).
struct landscape_log {
    std::size_t epoch = 0, step = 0;  // step: the optimizer step probed, 1-based over the whole run
    double lr = 0;                    // that step's learning rate
    double loss = 0, grad_norm = 0;   // L(theta), ||g||
    std::vector<double> eta;          // the step sizes probed, ascending
    std::vector<double> losses;       // L(theta - eta g), per eta
    std::vector<double> grad_changes; // ||g(theta - eta g) - g||, per eta
    // over the probed points (the loss's range also over theta itself); beta = change / ||eta g||
    double loss_min = 0, loss_max = 0, loss_variation = 0;
    double grad_change_min = 0, grad_change_max = 0, beta_min = 0, beta_max = 0;
};

namespace detail {

// A network's running statistics and, when asked, the states of its random generators: what
// fit keeps before a step's forward pass, to put back when a callback skips the step's update
// (the statistics) and before every probe's forward pass (both), and what a probe keeps of the
// step's own forward pass to put back after it.
template <class T>
struct network_snapshot {
    std::vector<T> state;
    std::vector<std::array<std::uint64_t, 4>> generators;  // one a generator, when taken with_generators
    bool took_generators = false;
    template <class Net>
    void take(Net& net, bool with_generators) {
        state.clear(), generators.clear();
        net.for_each_state([&](const state_view<T>& v) { state.insert(state.end(), v.value.begin(), v.value.end()); });
        if (with_generators) net.for_each_generator([&](rng& r) { generators.push_back(r.state()); });
        took_generators = with_generators;
    }
    // The statistics, and the generators when asked; asking for generators that were not taken is
    // a programming error (std::logic_error), not a silent skip.
    template <class Net>
    void put_back(Net& net, bool with_generators) const {
        if (with_generators && !took_generators)
            throw std::logic_error("network_snapshot::put_back: the generators were not taken");
        std::size_t at = 0, g = 0;
        net.for_each_state([&](const state_view<T>& v) {
            std::copy_n(state.begin() + std::ptrdiff_t(at), v.value.size(), v.value.begin());
            at += v.value.size();
        });
        if (with_generators) net.for_each_generator([&](rng& r) { r.set_state(generators.at(g++)); });
    }
};

// lo, hi extended to v; a NaN (a probe whose loss overflowed) makes both NaN and keeps them so:
// a non-finite landscape is the news, not a point to leave out.
inline void widen(double& lo, double& hi, double v) {
    if (std::isnan(lo) || std::isnan(v)) {
        lo = hi = std::numeric_limits<double>::quiet_NaN();
        return;
    }
    lo = std::min(lo, v), hi = std::max(hi, v);
}

// The probe (see the top of this file): `before` is the network as it was before the step's
// forward pass (taken with its generators), `loss_at` (x -> the loss of the step's batch at the current parameters, after
// a forward and a backward pass: the gradients then hold its gradient). Leaves the network as it
// found it.
template <class Net, class LossAt>
landscape_log probe_landscape(Net& net, const network_snapshot<typename Net::value_type>& before, double loss, double lr,
                              const landscape_options& o, LossAt&& loss_at) {
    using T = typename Net::value_type;
    landscape_log r;
    r.lr = lr, r.loss = loss;
    std::vector<T> theta, g;
    net.for_each_parameter([&](const parameter_view<T>& p) {
        theta.insert(theta.end(), p.value.begin(), p.value.end());
        g.insert(g.end(), p.gradient.begin(), p.gradient.end());
    });
    network_snapshot<T> after;  // what the step's forward pass left: the update goes on from it
    after.take(net, true);
    double g2 = 0;
    for (const T v : g) g2 += double(v) * double(v);
    r.grad_norm = std::sqrt(g2);
    r.eta = o.multiples;
    std::sort(r.eta.begin(), r.eta.end());
    for (auto& e : r.eta) e *= lr;
    r.loss_min = r.loss_max = loss;
    r.grad_change_min = r.beta_min = std::numeric_limits<double>::infinity();
    r.grad_change_max = r.beta_max = 0;
    for (const double eta : r.eta) {
        std::size_t at = 0;
        net.for_each_parameter([&](const parameter_view<T>& p) {
            for (auto& v : p.value) {
                v = T(double(theta[at]) - eta * double(g[at]));
                ++at;
            }
            std::fill(p.gradient.begin(), p.gradient.end(), T(0));
        });
        before.put_back(net, true);
        const double l = loss_at();
        double d2 = 0;
        at = 0;
        net.for_each_parameter([&](const parameter_view<T>& p) {
            for (const T v : p.gradient) {
                const double d = double(v) - double(g[at++]);
                d2 += d * d;
            }
        });
        const double change = std::sqrt(d2), beta = change / (eta * r.grad_norm);
        r.losses.push_back(l);
        r.grad_changes.push_back(change);
        widen(r.loss_min, r.loss_max, l);
        widen(r.grad_change_min, r.grad_change_max, change);
        widen(r.beta_min, r.beta_max, beta);
    }
    r.loss_variation = r.loss_max - r.loss_min;
    std::size_t at = 0;
    net.for_each_parameter([&](const parameter_view<T>& p) {
        for (std::size_t i = 0; i < p.value.size(); ++i, ++at) p.value[i] = theta[at], p.gradient[i] = g[at];
    });
    after.put_back(net, true);
    return r;
}

}  // namespace detail
}  // namespace typenet
