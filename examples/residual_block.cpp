// examples/residual_block.cpp - a residual block of your own, as a type.
//
// Defines the bottleneck block of the deeper ResNets (1x1 reduce, 3x3, 1x1 expand, then the sum
// with an identity or projection shortcut and a ReLU) as a type alias of typenet::residual,
// stacks it with repeat<>, prints the network's summary (shapes, parameters and FLOPs are
// compile-time facts) and trains it for 30 SGD steps on one fixed random batch. No backward
// code is written: the blocks' VJPs compose through the chain rule (docs/residual.md).
// Exit code 0 when the loss fell to less than half.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <type_traits>
#include <vector>

#include "typenet/optim.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

// The bottleneck block: InC -> MidC (1x1) -> MidC (3x3, stride S) -> OutC (1x1, no ReLU), plus
// the shortcut: x itself when the shape is kept, else a 1x1 projection with stride S.
template <std::size_t InC, std::size_t MidC, std::size_t OutC, std::size_t S>
using bottleneck = tn::residual<
    tn::branch<tn::conv_bn<InC, MidC, 1, 1, tn::same>,
               tn::conv_bn<MidC, MidC, 3, S, tn::same>,
               tn::conv_bn<MidC, OutC, 1, 1, tn::same, tn::identity>>,
    std::conditional_t<InC == OutC && S == 1, tn::identity_shortcut, tn::projection<InC, OutC, S>>>;

using network = tn::net<
    tn::input<3, 16, 16>,
    tn::conv_bn<3, 32, 3, 1, tn::same>,
    tn::repeat<2, bottleneck<32, 8, 32, 1>>,
    bottleneck<32, 16, 64, 2>,
    tn::global_avg_pool,
    tn::dense<64, 10>>;

int main() {
    std::printf("%s", network::summary().c_str());
    auto model = std::make_unique<network>(/*seed=*/1);
    model->set_input_gradient(false);  // nothing reads dLoss/d(images)

    constexpr std::size_t batch = 32;
    network::input_tensor x(batch);
    tn::rng g(7);
    for (auto& v : x.flat()) v = float(g.normal());
    std::vector<std::int32_t> labels(batch);
    for (std::size_t b = 0; b < batch; ++b) labels[b] = std::int32_t(g.below(10));

    tn::optimizer_config oc;
    oc.kind = tn::optimizer_kind::sgd;
    oc.momentum = 0.9;
    tn::optimizer<float> opt(tn::collect_parameters(*model), oc);
    const tn::softmax_cross_entropy loss;
    network::output_tensor dlogits;
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
        const auto& y = model->forward(x);
        last = loss.loss_and_gradient(y, labels, dlogits);
        if (step == 0) first = last;
        opt.zero_grad();
        model->backward(dlogits);
        opt.step(0.1);
    }
    std::printf("loss on a fixed batch of %zu: %.4f -> %.4f after 30 SGD steps\n", batch, first, last);
    return last < 0.5 * first ? 0 : 1;
}
