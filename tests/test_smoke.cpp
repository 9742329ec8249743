#include <catch2/catch.hpp>

#include "typenet/typenet.hpp"

TEST_CASE("the reference CNN runs forward and backward") {
    typenet::models::cifar_cnn_bn model(1);
    typenet::tensor<float, typenet::shape<3, 32, 32>> x(2);
    typenet::rng g(7);
    for (auto& v : x.flat()) v = float(g.normal());
    const auto& y = model.forward(x);
    REQUIRE(y.batch() == 2);
    typenet::tensor<float, typenet::shape<10>> dy(2);
    dy.fill(1.0f);
    const auto& dx = model.backward(dy);
    REQUIRE(dx.batch() == 2);
}
