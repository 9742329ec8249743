// The float32 fast path against the double reference path on the two reference CNNs
// (tests/float_vs_double.hpp says what is compared, on which network, and why these bounds).
// cifar_cnn_bn runs every batch size; cifar_cnn_nobn, the same kernels but for batch norm, the
// smallest, an odd one and the training batch.
#include "float_vs_double.hpp"

#include "typenet/models.hpp"

namespace tn = typenet;

namespace {
const std::vector<std::size_t> all_batches = {16, 32, 33, 64, 128};
}

TEST_CASE("cifar_cnn_bn: float32 against double: gradients (kink-free twin)", "[numerics][cnn]") {
    fvd::check_gradients<tn::models::cifar_cnn_bn>("cifar_cnn_bn", all_batches, {});
}
TEST_CASE("cifar_cnn_bn: float32 against double: forward", "[numerics][cnn]") {
    fvd::check_forward<tn::models::cifar_cnn_bn>("cifar_cnn_bn", {33}, {});
}
TEST_CASE("cifar_cnn_nobn: float32 against double: gradients (kink-free twin)", "[numerics][cnn]") {
    fvd::check_gradients<tn::models::cifar_cnn_nobn>("cifar_cnn_nobn", {16, 33, 128}, {});
}
TEST_CASE("cifar_cnn_nobn: float32 against double: forward", "[numerics][cnn]") {
    fvd::check_forward<tn::models::cifar_cnn_nobn>("cifar_cnn_nobn", {33}, {});
}
