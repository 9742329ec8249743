// tests/float_vs_double.hpp - the float32 fast path against the double reference path, whole
// networks (test_float_vs_double_*.cpp; the step itself: bench/grad_accuracy.hpp).
//
// What is compared. One training step (train-mode forward, softmax cross-entropy, backward,
// the running statistics it leaves, then an eval-mode forward of the same images), in float32
// on the fast kernels and in double on the reference kernels, from the same float32 weights
// (batch-norm gamma and beta drawn at random, not 1 and 0) and images; relative error
// ||float - double|| / ||double||, per quantity and per parameter tensor. For every batch size
// (crossing the kernels' chunks: Winograd packs 1-8 images per chunk, backward-params sums
// fixed image groups, batch norm and the convolutions split the batch over the threads; 33 is
// odd and leaves a partial chunk), with Winograd on and off, on every instruction set this
// CPU has (AVX-512, AVX2, and the SSE2 baseline).
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
//     sums; bench/winograd_error.py's simulation), and batch norm renormalises after each, so the errors add over
//     depth rather than compound (measured with Winograd on the Intel Xeon (avx512): 2.4e-6
//     for cifar_cnn_bn, 5.0e-6 for ResNet-56's 57 convolutions; docs/numerics.md);
//   - loss: 1e-5, as the logits: softmax cross-entropy moves by at most max |dL/dz| ||dz||_1
//     <= 2 max |dz| (mean over the batch), and at initialisation (L ~ ln 10, logits O(1)) that is
//     below the logits' relative error (measured: up to 1.4e-7, ResNet-56 with Winograd, on
//     the Intel Xeon (avx512));
//   - gradients (input, all parameters together, the worst single weight tensor): 1e-5 for
//     the CNNs, 3e-5 for the ResNets (up to 36 convolutions, each VJP adding its rounding).
//     Batch-norm gamma and beta are not bounded one tensor at a time: their gradients are sums
//     over batch * height * width values that cancel (a batch norm's VJP returns a gradient
//     whose sum and whose correlation with xhat are exactly 0 per channel, and a convolution
//     of it nearly keeps that), so their relative error measures that cancellation more than
//     the kernels (docs/numerics.md). They are in the all-parameters figure.
// A defect that drops, repeats or misplaces a term (a chunk boundary, a partial sum merged
// twice, a stale buffer) changes a tensor by ~1/n of its terms, far above these bounds for the
// n <= 10^5 of these networks.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../bench/grad_accuracy.hpp"
#include "typenet/kernels.hpp"

namespace fvd {

namespace tn = typenet;
namespace nm = typenet::numerics;

struct bounds {
    double forward = 1e-5, loss = 1e-5, gradient = 1e-5;
};

// The weight tensor (conv or dense ".weight") with the largest relative error.
inline const nm::tensor_error* worst_weight(const nm::step_error& e) {
    const nm::tensor_error* w = nullptr;
    for (const auto& t : e.tensors)
        if (t.name.ends_with(".weight") && (!w || !(t.rel <= w->rel))) w = &t;
    REQUIRE(w != nullptr);
    return w;
}

// Net on every instruction set this CPU supports (set_isa's names, best first) and with
// Winograd on and off, at each batch size, against its double twin: the forward quantities
// always, the gradients too when `gradients` (Net is then a kink-free twin).
template <class Net>
void check(const std::string& label, const std::vector<std::size_t>& batch_sizes, const bounds& b, bool gradients) {
    nm::sweep<Net>({}, batch_sizes, tn::kernels::supported_isas(), {true, false},
                   [&](std::size_t batch, const std::string& isa, bool wino, const nm::step_error& e) {
                       INFO(label << ", batch " << batch << ", " << isa << ", Winograd " << (wino ? "on" : "off")
                                  << ": logits " << e.logits << ", loss " << e.loss << ", running statistics "
                                  << e.running_stats << ", eval logits " << e.eval_logits << ", input gradient "
                                  << e.input_grad << ", parameter gradients " << e.param_grads);
                       CHECK(e.logits <= b.forward);
                       CHECK(e.loss <= b.loss);
                       CHECK(e.running_stats <= b.forward);
                       CHECK(e.eval_logits <= b.forward);
                       if (!gradients) return;
                       const auto* w = worst_weight(e);
                       INFO("worst weight tensor " << w->name << " " << w->rel);
                       CHECK(e.input_grad <= b.gradient);
                       CHECK(e.param_grads <= b.gradient);
                       CHECK(w->rel <= b.gradient);
                   });
}

// Every quantity, gradients included, on Net's kink-free twin.
template <class Net>
void check_gradients(const std::string& model, const std::vector<std::size_t>& batch_sizes, const bounds& b) {
    check<nm::smooth<Net>>(model + " (kink-free twin)", batch_sizes, b, true);
}
// The forward quantities of the real (ReLU, max-pool) network: continuous across kinks.
template <class Net>
void check_forward(const std::string& model, const std::vector<std::size_t>& batch_sizes, const bounds& b) {
    check<Net>(model, batch_sizes, b, false);
}

}  // namespace fvd
