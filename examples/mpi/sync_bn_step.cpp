// examples/mpi/sync_bn_step.cpp - one data-parallel SGD step with synchronized batch norm, by
// hand over the public API (typenet::mpi): each of the ranks trains on its slice of a batch of
// 32 images, the batch statistics cover all 32 (net.set_bn_sync), the ranks sum their parameter
// gradients, and every rank takes the same step. Run it with
//
//   mpirun -np 2 build/examples/sync_bn_step
//
// (CTest does, when CMake found MPI; docs/distributed.md). Prints the loss of the whole batch
// before and after the step on rank 0; exit code 0 when the step lowered it.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "typenet/dist/mpi.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

using small_cnn = tn::net<tn::input<3, 16, 16>, tn::conv_bn<3, 8, 3, 1, tn::same>, tn::max_pool<2, 2>,
                          tn::conv_bn<8, 16, 3, 1, tn::same>, tn::max_pool<2, 2>, tn::flatten,
                          tn::dense<256, 10>>;

int main() {
    tn::dist::mpi_session mpi;
    tn::dist::communicator& world = mpi.world();
    constexpr std::size_t batch = 32;
    const std::size_t ranks = std::size_t(world.size()), rank = std::size_t(world.rank());
    // This rank's slice of the batch: the first batch % ranks ranks take one sample more.
    const std::size_t mine = batch / ranks + (rank < batch % ranks ? 1 : 0);
    const std::size_t first = rank * (batch / ranks) + std::min(rank, batch % ranks);

    auto model = std::make_unique<small_cnn>(1);  // the same seed on every rank: the same weights
    tn::dist::batch_stats_sync sync(world);
    model->set_bn_sync(&sync);
    model->set_input_gradient(false);
    model->train();

    small_cnn::input_tensor x(mine);  // the whole batch is drawn on every rank; each keeps its slice
    std::vector<std::int32_t> labels;
    tn::rng g(2);
    for (std::size_t s = 0; s < batch; ++s)
        for (std::size_t i = 0; i < small_cnn::input_shape::size; ++i) {
            const float v = float(g.normal()) + (i % 10 == s % 10 ? 1.0f : 0.0f);
            if (s >= first && s < first + mine) x.data()[(s - first) * small_cnn::input_shape::size + i] = v;
        }
    for (std::size_t s = first; s < first + mine; ++s) labels.push_back(std::int32_t(s % 10));

    const tn::softmax_cross_entropy loss;
    tn::tensor<float, tn::shape<10>> dlogits;
    // The mean loss over the whole batch: each rank's mean weighted by its share, summed.
    auto batch_loss = [&](double local_mean) {
        std::vector<double> v{local_mean * double(mine) / double(batch)};
        world.sum(std::span<double>(v));
        return v[0];
    };
    model->zero_grad();
    const double before = batch_loss(loss.loss_and_gradient(model->forward(x), labels, dlogits));
    for (auto& d : dlogits.flat()) d *= float(double(mine) / double(batch));  // d(whole batch's mean) / d(logits)
    model->backward(dlogits);
    model->for_each_parameter([&](const tn::parameter_view<float>& p) {
        world.sum(p.gradient);  // the whole batch's gradient, the same on every rank
        for (std::size_t i = 0; i < p.value.size(); ++i) p.value[i] -= 0.05f * p.gradient[i];
    });
    const double after = batch_loss(loss.loss_and_gradient(model->forward(x), labels, dlogits));
    if (rank == 0)
        std::printf("one step on %zu ranks, batch %zu with synchronized batch norm: loss %.4f -> %.4f\n", ranks, batch,
                    before, after);
    return after < before ? 0 : 1;
}
