// Uses the installed typenet: a small network type, one forward/backward, the names of its
// tensors, and the summaries of that network and of the reference model cifar_cnn_bn.
#include <cstdint>
#include <iostream>
#include <type_traits>

#include <typenet/typenet.hpp>

using tiny = typenet::net<typenet::input<1, 8, 8>,
                          typenet::conv2d<1, 4, 3, 1, typenet::same, typenet::relu>,  // layer 0
                          typenet::max_pool<2, 2>,                                    // layer 1
                          typenet::flatten,                                           // layer 2
                          typenet::batch_norm<>,                                      // layer 3
                          typenet::dense<64, 3>>;                                     // layer 4
static_assert(typenet::shape<1, 8, 8>::size == 64 && typenet::shape<1, 8, 8>::rank == 3);
static_assert(std::is_same_v<tiny::layer_type<1>::output_shape, typenet::shape<4, 4, 4>>);  // after max_pool
static_assert(std::is_same_v<tiny::output_shape, typenet::shape<3>>);
static_assert(tiny::parameter_count == (4 * 9 + 4) + (2 * 64) + (64 * 3 + 3));
static_assert(tiny::state_count == 2 * 64);

int main() {
    tiny model(42);  // parameters drawn from seed 42; train mode
    typenet::tensor<float, typenet::shape<1, 8, 8>> x(4);  // a batch of 4 samples
    typenet::rng g(1);
    for (auto& v : x.flat()) v = float(g.normal());
    const std::int32_t labels[] = {0, 1, 2, 1};

    typenet::softmax_cross_entropy loss;
    typenet::tensor<float, typenet::shape<3>> dlogits;
    model.zero_grad();
    const double l = loss.loss_and_gradient(model.forward(x), labels, dlogits);
    const auto& dx = model.backward(dlogits);  // dLoss/dx; parameter gradients were added
    std::cout << "loss " << l << ", input gradient batch " << dx.batch() << '\n';

    model.for_each_parameter([](const typenet::parameter_view<float>& p) {
        std::cout << "parameter " << p.name << " (" << p.value.size() << ")\n";
    });
    model.for_each_state([](const typenet::state_view<float>& s) {
        std::cout << "state     " << s.name << " (" << s.value.size() << ")\n";
    });

    std::cout << '\n' << tiny::summary() << '\n' << typenet::models::cifar_cnn_bn::summary();
    return dx.batch() == 4 && l > 0 ? 0 : 1;
}
