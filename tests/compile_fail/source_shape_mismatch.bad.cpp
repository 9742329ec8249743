// compile_fail case (must NOT compile): a network for 3x32x32 images evaluated on a data
// source of 1x28x28 images (MNIST's shape).
// Twin: source_shape_mismatch.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/evaluate.hpp"
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>, conv2d<3, 8, 3, 1, same>, global_avg_pool, dense<8, 10>>;
using digits = data::memory_source<shape<1, 28, 28>, 10>;

evaluation score(network& model, const digits& test, const data::normalization& n) {
    return evaluate(model, test, n);
}
