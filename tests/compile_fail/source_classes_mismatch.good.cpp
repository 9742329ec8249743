// compile_fail twin (must compile): source_classes_mismatch.bad.cpp with the last layer giving
// one logit per class of the source, dense<8, 100>.
#include "typenet/evaluate.hpp"
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>, conv2d<3, 8, 3, 1, same>, global_avg_pool, dense<8, 100>>;
using hundred = data::memory_source<shape<3, 32, 32>, 100>;

evaluation score(network& model, const hundred& test, const data::normalization& n) {
    return evaluate(model, test, n);
}
