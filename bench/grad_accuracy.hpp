// bench/grad_accuracy.hpp - one training step of a network in float32 on the fast kernels
// against the same step in double on the reference kernels, on identical weights and inputs.
//
// Used by typenet-grad-accuracy (bench/grad_accuracy.cpp): the measurements of docs/numerics.md,
// the checks of the CTest cases float_vs_double.* (--check, the bounds at the end of this file),
// and the dumps bench/torch_oracle.py runs in PyTorch (--dump). Relative error everywhere =
// ||a - b||_2 / ||b||_2, b the double result (the oracle's figure too, with PyTorch float64 as b).
//
// Kinks. A ReLU or max-pool network's gradient is only piecewise continuous in the weights and
// inputs: a forward error that moves a pre-activation across 0, or reorders a max-pool window,
// switches a unit's whole gradient on or off. At the sizes of the CIFAR models (10^6 - 10^7
// ReLU units per batch) a forward error of 1e-6 (float32, Winograd) crosses a few such kinks
// in most batches and moves the gradients by 1e-4 - 1e-2 relative, with no arithmetic error in
// the backward pass at all. Two tools separate that from the arithmetic:
//   - perturb > 0 (the kink control): the "float" side is the double network itself, its
//     weights multiplied by (1 + perturb N(0, 1)): what a forward error of that size does to
//     the gradient with no float32 arithmetic anywhere;
//   - smooth<Net>: the same network with every ReLU replaced by the identity and every max pool
//     by an average pool of the same window. The same shapes, the same convolution, batch-norm,
//     pooling and dense kernels, chunks, tiles and reductions (all but the ReLU mask, which does
//     no arithmetic and is checked bit for bit by test_kernels), and no kink anywhere: float32
//     against double on it measures the arithmetic alone, and can be held to a tight bound.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/kernels.hpp"
#include "typenet/loss.hpp"
#include "typenet/models.hpp"
#include "typenet/net.hpp"
#include "typenet/rng.hpp"

#include "rel_error.hpp"

namespace typenet::numerics {

// ---- smooth<Net>: the kink-free twin ------------------------------------------------------------
template <class Spec> struct smooth_spec { using type = Spec; };  // flatten, global_avg_pool, input
template <class Spec> using smooth_t = typename smooth_spec<Spec>::type;
template <std::size_t I, std::size_t O, std::size_t K, std::size_t S, class P, class A, class E>
struct smooth_spec<conv_bn<I, O, K, S, P, A, E>> { using type = conv_bn<I, O, K, S, P, identity, E>; };
template <std::size_t I, std::size_t O, std::size_t K, std::size_t S, class P, class A, class B>
struct smooth_spec<conv2d<I, O, K, S, P, A, B>> { using type = conv2d<I, O, K, S, P, identity, B>; };
template <std::size_t I, std::size_t O, class A> struct smooth_spec<dense<I, O, A>> { using type = dense<I, O, identity>; };
template <std::size_t I, std::size_t O, std::size_t K, std::size_t S, class P, class N, class A>
struct smooth_spec<conv_norm<I, O, K, S, P, N, A>> { using type = conv_norm<I, O, K, S, P, N, identity>; };
template <std::size_t W, std::size_t S> struct smooth_spec<max_pool<W, S>> { using type = avg_pool<W, S>; };
template <std::size_t N, class S> struct smooth_spec<repeat<N, S>> { using type = repeat<N, smooth_t<S>>; };
template <class... S> struct smooth_spec<branch<S...>> { using type = branch<smooth_t<S>...>; };
template <class M, class Sh, class A> struct smooth_spec<residual<M, Sh, A>> {
    using type = residual<smooth_t<M>, smooth_t<Sh>, identity>;
};
template <class Net> struct smooth_net;
template <class T, class In, class... S> struct smooth_net<basic_net<T, In, S...>> {
    using type = basic_net<T, In, smooth_t<S>...>;
};
template <class Net> using smooth = typename smooth_net<Net>::type;

// ---- one training step --------------------------------------------------------------------------
struct step_setup {
    std::size_t batch = 32;
    std::uint64_t seed = 1;      // weights (typenet's initialisation), images, labels
    bool random_affine = true;   // batch-norm gamma in [0.5, 1.5], beta in [-0.5, 0.5] (not 1, 0)
    double perturb = 0;          // > 0: weights multiplied by (1 + perturb N(0, 1)) (kink control)
};

// Everything a step produces, in double: train-mode logits and loss, dL/d(input), every
// parameter gradient (concatenated, with each tensor's name and size), the running statistics
// after the step, and the eval-mode logits of the same images afterwards.
struct step_values {
    std::vector<double> logits, input_grad, grads, states, eval_logits;
    double loss = 0;
    std::vector<std::string> names, state_names;            // full names, the network's order
    std::vector<std::size_t> sizes;                          // elements per parameter tensor
    std::vector<std::vector<std::size_t>> dims, state_dims;  // each tensor's shape
};

// The images (normal(0, 1) float values, as doubles) and labels of a step.
struct step_inputs {
    std::vector<double> x;
    std::vector<std::int32_t> labels;
};
template <class Net>
step_inputs make_inputs(const step_setup& s) {
    step_inputs in{std::vector<double>(s.batch * Net::input_shape::size), std::vector<std::int32_t>(s.batch)};
    rng data(s.seed * 15485863 + 5);
    for (auto& v : in.x) v = double(float(data.normal()));
    for (auto& l : in.labels) l = std::int32_t(data.below(Net::output_shape::size));
    return in;
}

// The float32 network's initial weights for setup.seed (with the random affine parameters):
// float values, so every network of either scalar can take them exactly.
template <class FloatNet>
std::vector<double> initial_weights(const step_setup& s) {
    auto net = std::make_unique<FloatNet>(s.seed);
    using T = typename FloatNet::value_type;
    rng g(s.seed * 7919 + 17);
    std::vector<double> w;
    net->for_each_parameter([&](parameter_view<T> p) {
        const bool gamma = p.name.ends_with(".gamma"), beta = p.name.ends_with(".beta");
        for (auto& v : p.value) {
            if (s.random_affine && gamma) v = T(float(g.uniform(0.5, 1.5)));
            if (s.random_affine && beta) v = T(float(g.uniform(-0.5, 0.5)));
            w.push_back(double(v));
        }
    });
    return w;
}

template <class Net>
step_values run_step(const std::vector<double>& weights, const step_setup& s) {
    using T = typename Net::value_type;
    auto net = std::make_unique<Net>(s.seed);
    rng g(s.seed * 104729 + 3);
    std::size_t k = 0;
    net->for_each_parameter([&](parameter_view<T> p) {
        for (auto& v : p.value) {
            const double w = weights.at(k++);
            v = T(s.perturb > 0 ? w * (1 + s.perturb * g.normal()) : w);
        }
    });
    const auto in = make_inputs<Net>(s);
    const auto& labels = in.labels;
    typename Net::input_tensor x(s.batch);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = T(in.x[i]);

    step_values r;
    const softmax_cross_entropy ce;
    net->train();
    net->zero_grad();
    const auto& y = net->forward(x);
    r.logits.assign(y.data(), y.data() + y.size());
    tensor<T, typename Net::output_shape> dz(s.batch);
    r.loss = ce.loss_and_gradient(y, labels, dz);
    const auto& dx = net->backward(dz);
    r.input_grad.assign(dx.data(), dx.data() + dx.size());
    net->for_each_parameter([&](parameter_view<T> p) {
        r.grads.insert(r.grads.end(), p.gradient.begin(), p.gradient.end());
        r.names.emplace_back(p.name);
        r.sizes.push_back(p.gradient.size());
        r.dims.emplace_back(p.dims.begin(), p.dims.end());
    });
    net->for_each_state([&](state_view<T> st) {
        r.states.insert(r.states.end(), st.value.begin(), st.value.end());
        r.state_names.emplace_back(st.name);
        r.state_dims.emplace_back(st.dims.begin(), st.dims.end());
    });
    net->eval();
    const auto& e = net->forward(x);
    r.eval_logits.assign(e.data(), e.data() + e.size());
    return r;
}

// ---- errors: rel_error (rel_error.hpp) ------------------------------------------------------
struct tensor_error {
    std::string name;
    double rel;
};
struct step_error {
    double logits, loss, running_stats, eval_logits, input_grad, param_grads;
    std::vector<tensor_error> tensors;  // per parameter tensor, in the network's order
    const tensor_error* worst() const {
        const tensor_error* w = nullptr;
        for (const auto& t : tensors)
            if (!w || !(t.rel <= w->rel)) w = &t;
        return w;
    }
};

inline step_error compare(const step_values& a, const step_values& ref) {
    step_error e{rel_error(a.logits, ref.logits),
                 std::isfinite(a.loss) ? std::abs(a.loss - ref.loss) / std::abs(ref.loss) : INFINITY,
                 rel_error(a.states, ref.states),
                 rel_error(a.eval_logits, ref.eval_logits),
                 rel_error(a.input_grad, ref.input_grad),
                 rel_error(a.grads, ref.grads),
                 {}};
    std::size_t o = 0;
    for (std::size_t t = 0; t < ref.sizes.size(); ++t) {
        e.tensors.push_back({ref.names[t], a.grads.size() == ref.grads.size()
                                               ? rel_error(a.grads.data() + o, ref.grads.data() + o, ref.sizes[t])
                                               : INFINITY});
        o += ref.sizes[t];
    }
    return e;
}

// ---- the sweep -----------------------------------------------------------------------------------
// For each batch size: the double reference step once, then Net's step (float32 on the fast
// kernels) on every instruction set in `isas` (set_isa's names) and every algorithm in
// `winograd`, each handed to f(batch, isa_name(), winograd, step, reference step, the weights
// both started from: initial_weights). With
// s.perturb > 0 it is the kink control instead: one call per batch, f(batch, "double", false,
// ...), of the double network with perturbed weights. Afterwards the kernels are back on
// set_isa("auto") and Winograd on.
template <class Net, class F>
void sweep_steps(step_setup s, const std::vector<std::size_t>& batches, const std::vector<std::string>& isas,
                 const std::vector<bool>& winograd, F&& f) {
    using D = rebind_scalar<double, Net>;
    const double perturb = s.perturb;
    for (const std::size_t batch : batches) {
        s.batch = batch, s.perturb = 0;
        const auto weights = initial_weights<Net>(s);
        const auto ref = run_step<D>(weights, s);
        if (perturb > 0) {
            s.perturb = perturb;
            f(batch, std::string("double"), false, run_step<D>(weights, s), ref, weights);
            continue;
        }
        for (const auto& isa : isas) {
            kernels::set_isa(isa);
            for (const bool wino : winograd) {
                kernels::set_winograd(wino);
                f(batch, kernels::isa_name(), wino, run_step<Net>(weights, s), ref, weights);
            }
        }
    }
    kernels::set_isa("auto");
    kernels::set_winograd(true);
}
// The same, each step reduced to its errors against the reference: f(batch, isa, winograd, errors).
template <class Net, class F>
void sweep(const step_setup& s, const std::vector<std::size_t>& batches, const std::vector<std::string>& isas,
           const std::vector<bool>& winograd, F&& f) {
    sweep_steps<Net>(s, batches, isas, winograd,
                     [&](std::size_t batch, const std::string& isa, bool wino, const step_values& a,
                         const step_values& ref, const std::vector<double>&) { f(batch, isa, wino, compare(a, ref)); });
}

// ---- the checks (typenet-grad-accuracy --check) ---------------------------------------------------
// What is compared. One training step (train-mode forward, softmax cross-entropy, backward,
// the running statistics it leaves, then an eval-mode forward of the same images), in float32
// on the fast kernels and in double on the reference kernels, from the same float32 weights
// (batch-norm gamma and beta drawn at random, not 1 and 0) and images; relative error
// ||float - double|| / ||double||, per quantity and per parameter tensor. For every batch size
// (crossing the kernels' chunks: Winograd packs 1-8 images per chunk, backward-params sums
// fixed image groups, batch norm and the convolutions split the batch over the threads; 33 is
// odd and leaves a partial chunk), with Winograd on and off, on every instruction set this
// CPU has (AVX-512, AVX2, and the SSE2 baseline): typenet-grad-accuracy --check, run by the
// CTest cases float_vs_double.* (tests/CMakeLists.txt lists the models and batch sizes).
//
// Which network. The gradients are compared on each model's kink-free twin
// (numerics::smooth<Net>: ReLU -> identity, max pool -> average pool; the same shapes,
// kernels, chunks and reductions). On the ReLU network itself a float32 forward error of
// ~1e-6 flips a few of its 10^6 - 10^7 ReLU and max-pool decisions in most batches, and each
// flip moves the gradients by 1e-4 - 1e-2 relative with no arithmetic error at all: the same
// double network with its weights perturbed by 3e-7 relative moves its own input gradient by
// 1.8e-3 (cifar_cnn_bn, batch 32, on the Intel Xeon (avx512): docs/numerics.md,
// typenet-grad-accuracy --perturb). A bound on the real network's
// gradient would test luck, not arithmetic; on the twin every difference is arithmetic.
// The forward quantities (logits, loss, running statistics, eval logits) are continuous
// across kinks and are compared on the real networks too, at one batch size (33: partial
// chunks; their kernels are the twin's but for the ReLU and max-pool selections, which do no
// arithmetic), since every double reference step costs seconds to minutes.
//
// The bounds (relative errors), measured on this project's machines first, then set with room
// for the other instruction sets and orders (docs/numerics.md has the tables):
//   - forward (logits, running statistics, eval logits): 1e-5 for the CNNs, 3e-5 for the
//     ResNets. One 64-channel convolution in float32 rounds to 4.3e-7 relative (direct) or
//     1.9e-6 (Winograd F(4x4): its transforms amplify the rounding of the transformed-domain
//     sums; bench/winograd_error.py's simulation), and batch norm renormalises after each, so
//     the errors add over depth rather than compound (measured with Winograd on the Intel Xeon (avx512): 2.4e-6
//     for cifar_cnn_bn, 5.0e-6 for ResNet-56's 57 convolutions; docs/numerics.md);
//   - loss: 1e-5, as the logits: softmax cross-entropy moves by at most max |dL/dz| ||dz||_1
//     <= 2 max |dz| (mean over the batch), and at initialisation (L ~ ln 10, logits O(1)) that is
//     below the logits' relative error (measured: up to 2.2e-7, ResNet-18's twin at batch 16
//     with Winograd, on the Intel Xeon (avx512): bench/torch_oracle.py);
//   - gradients (input, all parameters together, the worst single weight tensor): 1e-5 for
//     the CNNs, 3e-5 for the ResNets (up to 57 convolutions, each VJP adding its rounding).
//     Batch-norm gamma and beta are not bounded one tensor at a time: their gradients are sums
//     over batch * height * width values that cancel (a batch norm's VJP returns a gradient
//     whose sum and whose correlation with xhat are exactly 0 per channel, and a convolution
//     of it nearly keeps that), so their relative error measures that cancellation more than
//     the kernels (docs/numerics.md). They are in the all-parameters figure.
// A defect that drops, repeats or misplaces a term (a chunk boundary, a partial sum merged
// twice, a stale buffer) changes a tensor by ~1/n of its terms, far above these bounds for the
// n <= 10^5 of these networks.
struct bounds {
    double forward = 1e-5, loss = 1e-5, gradient = 1e-5;
};

// The weight tensor (conv or dense ".weight") with the largest relative error; null if none.
inline const tensor_error* worst_weight(const step_error& e) {
    const tensor_error* w = nullptr;
    for (const auto& t : e.tensors)
        if (t.name.ends_with(".weight") && (!w || !(t.rel <= w->rel))) w = &t;
    return w;
}

// What of one step exceeds its bounds, a sentence each (empty: within them): the forward
// quantities always, the gradients too when `gradients` (the network is a kink-free twin).
inline std::vector<std::string> violations(const step_error& e, const bounds& b, bool gradients) {
    std::vector<std::string> v;
    auto check = [&](const std::string& what, double err, double bound) {
        if (!(err <= bound)) v.push_back(what + " error " + std::to_string(err) + " > " + std::to_string(bound));
    };
    check("logits", e.logits, b.forward);
    check("loss", e.loss, b.loss);
    check("running statistics", e.running_stats, b.forward);
    check("eval logits", e.eval_logits, b.forward);
    if (!gradients) return v;
    check("input gradient", e.input_grad, b.gradient);
    check("parameter gradients", e.param_grads, b.gradient);
    const tensor_error* w = worst_weight(e);
    if (!w) v.push_back("no weight tensor to check");
    else check("weight tensor " + w->name + " gradient", w->rel, b.gradient);
    return v;
}

}  // namespace typenet::numerics
