// examples/own_data.cpp - your own network type on your own data: 1x8x8 images of three kinds
// of bars (horizontal, vertical, diagonal) with noise, held in a data::memory_source and split
// into training and held-out images by data::split_per_class; the
// network is checked against the source while it compiles (data::fits); a few epochs of SGD
// written out by hand, then typenet::evaluate on held-out images. docs/library.md quotes the
// parts between the [name] markers. Exit code 0 when the held-out accuracy reaches 90%.
#include <cstdio>
#include <numeric>
#include <vector>

#include "typenet/typenet.hpp"

using namespace typenet;

// [types]
using bars = data::memory_source<shape<1, 8, 8>, 3>;  // 1x8x8 samples, 3 classes
using bar_net = net<input<1, 8, 8>, conv_bn<1, 8, 3, 1, same>, max_pool<2, 2>, flatten, dense<128, 3>>;
static_assert(data::fits<bar_net, bars>);  // the same check evaluate() makes
// [/types]

bars make_bars(std::size_t count, std::uint64_t seed) {
    rng g(seed);
    std::vector<float> pixels(count * 64);
    std::vector<std::int32_t> labels(count);
    for (std::size_t i = 0; i < count; ++i) {
        const int kind = int(g.below(3)), at = int(g.below(8));
        labels[i] = kind;
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x) {
                const bool on = kind == 0 ? y == at : kind == 1 ? x == at : (x + y) % 8 == at;
                pixels[i * 64 + std::size_t(y * 8 + x)] = (on ? 1.0f : 0.0f) + 0.3f * float(g.normal());
            }
    }
    return bars(std::move(pixels), std::move(labels), {"horizontal", "vertical", "diagonal"});
}

int main() {
    // [train]
    const bars all = make_bars(900, 1);
    const auto [train, test] = data::split_per_class(all, 300, /*seed=*/2);  // 600 + 300, each class its share
    const data::normalization norm = data::compute_normalization(train);  // from the training set only
    bar_net model(/*seed=*/3);
    optimizer<float> sgd(collect_parameters(model), {.momentum = 0.9});
    const softmax_cross_entropy loss;
    constexpr std::size_t batch = 32;
    bar_net::input_tensor x(batch);
    tensor<float, shape<3>> dlogits;
    std::vector<std::size_t> order(train.size());
    std::vector<std::int32_t> labels(batch);
    std::iota(order.begin(), order.end(), 0);
    for (int epoch = 0; epoch < 3; ++epoch) {
        model.train();
        for (std::size_t first = 0; first + batch <= order.size(); first += batch) {
            data::fill_batch(train, std::span(order).subspan(first, batch), norm, x.data(), labels.data());
            model.zero_grad();
            loss.loss_and_gradient(model.forward(x), labels, dlogits);
            model.backward(dlogits);
            sgd.step(/*lr=*/0.05);
        }
        const evaluation e = evaluate(model, test, norm);  // eval mode, restored afterwards
        std::printf("epoch %d: held-out loss %.4f, accuracy %.1f%% of %zu\n", epoch + 1, e.loss, 100 * e.accuracy,
                    e.samples);
    }
    // [/train]
    const evaluation e = evaluate(model, test, norm);
    return e.accuracy >= 0.9 ? 0 : 1;
}
