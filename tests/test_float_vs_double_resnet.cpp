// The float32 fast path against the double reference path on the residual networks of the
// registry (tests/float_vs_double.hpp says what is compared, on which network, and why these
// bounds). ResNet-20 runs every batch size of the CNNs; the deeper and wider ones, whose double
// reference steps take 0.75-3.5 GFLOP per image on the naive reference kernels, run fewer: they
// use the same kernels at other channel counts (ResNet-56: 16-64 like ResNet-20, 27 blocks
// deep; ResNet-18/34: 64-512 channels, many vectors of output channels per tile) and the batch
// sizes below still cross a chunk (9: a partial last chunk of 8-image Winograd and
// backward-params groups; 2: the smallest batch). About 5 CPU-minutes in all.
#include "float_vs_double.hpp"

#include "typenet/models.hpp"

namespace tn = typenet;

namespace {
const fvd::bounds resnet_bounds{3e-5, 3e-5, 3e-5};
}

TEST_CASE("resnet20: float32 against double: gradients (kink-free twin)", "[numerics][resnet]") {
    fvd::check_gradients<tn::models::resnet20>("resnet20", {16, 32, 33, 64, 128}, resnet_bounds);
}
TEST_CASE("resnet20: float32 against double: forward", "[numerics][resnet]") {
    fvd::check_forward<tn::models::resnet20>("resnet20", {33}, resnet_bounds);
}
TEST_CASE("resnet56: float32 against double: gradients (kink-free twin) and forward", "[numerics][resnet]") {
    fvd::check_gradients<tn::models::resnet56>("resnet56", {9}, resnet_bounds);
    fvd::check_forward<tn::models::resnet56>("resnet56", {9}, resnet_bounds);
}
TEST_CASE("resnet18: float32 against double: gradients (kink-free twin) and forward", "[numerics][resnet]") {
    fvd::check_gradients<tn::models::resnet18>("resnet18", {2}, resnet_bounds);
    fvd::check_forward<tn::models::resnet18>("resnet18", {2}, resnet_bounds);
}
TEST_CASE("resnet34: float32 against double: gradients (kink-free twin) and forward", "[numerics][resnet]") {
    fvd::check_gradients<tn::models::resnet34>("resnet34", {2}, resnet_bounds);
    fvd::check_forward<tn::models::resnet34>("resnet34", {2}, resnet_bounds);
}
