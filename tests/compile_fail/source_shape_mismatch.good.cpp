// compile_fail twin (must compile): source_shape_mismatch.bad.cpp with the network's input
// written in the source's shape, input<1, 28, 28> (and its first convolution taking 1 channel).
#include "typenet/evaluate.hpp"
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<1, 28, 28>, conv2d<1, 8, 3, 1, same>, global_avg_pool, dense<8, 10>>;
using digits = data::memory_source<shape<1, 28, 28>, 10>;

evaluation score(network& model, const digits& test, const data::normalization& n) {
    return evaluate(model, test, n);
}
