// examples/one_step.cpp - the whole cost of using typenet in one translation unit: it defines
// the reference CIFAR CNN with batch norm (the same type as typenet::models::cifar_cnn_bn),
// and runs ONE training step on random images: train-mode forward, softmax cross-entropy,
// backward, an SGD update. It prints the loss before and after the step.
//
// It is the compile-time benchmark of the library (docs/performance.md): compare its build time
// with the one of the dlib peer program (/work/shared/peers/dlib_cifar_cnn.cpp) at the same
// flags, e.g. -O3 -march=native. Exit code 0 when the step lowered the loss on its own batch.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "typenet/typenet.hpp"

using cifar_cnn_bn = typenet::net<
    typenet::input<3, 32, 32>,
    typenet::conv_bn<3, 32, 3, 1, typenet::same>,
    typenet::conv_bn<32, 32, 3, 1, typenet::same>,
    typenet::max_pool<2, 2>,
    typenet::conv_bn<32, 64, 3, 1, typenet::same>,
    typenet::conv_bn<64, 64, 3, 1, typenet::same>,
    typenet::max_pool<2, 2>,
    typenet::flatten,
    typenet::dense<4096, 512, typenet::relu>,
    typenet::dense<512, 512, typenet::relu>,
    typenet::dense<512, 10>>;

int main() {
    constexpr std::size_t batch = 16;
    auto model = std::make_unique<cifar_cnn_bn>(1);  // about 10 MB of parameters: on the heap
    model->set_input_gradient(false);                 // nothing reads dLoss/d(images)

    cifar_cnn_bn::input_tensor x(batch);
    typenet::rng g(2);
    for (auto& v : x.flat()) v = float(g.normal());
    std::vector<std::int32_t> labels(batch);
    for (std::size_t i = 0; i < batch; ++i) labels[i] = std::int32_t(i % 10);

    const typenet::softmax_cross_entropy loss;
    typenet::tensor<float, typenet::shape<10>> dlogits;
    model->train();
    model->zero_grad();
    const double before = loss.loss_and_gradient(model->forward(x), labels, dlogits);
    model->backward(dlogits);
    model->for_each_parameter([](const typenet::parameter_view<float>& p) {  // plain SGD, lr 0.01
        for (std::size_t i = 0; i < p.value.size(); ++i) p.value[i] -= 0.01f * p.gradient[i];
    });
    const double after = loss.loss_and_gradient(model->forward(x), labels, dlogits);

    std::printf("one training step of cifar_cnn_bn at batch %zu: loss %.4f -> %.4f\n", batch, before, after);
    return after < before ? 0 : 1;
}
