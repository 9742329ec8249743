// compile_fail case (must NOT compile): a network with 10 outputs evaluated on a data source
// of 100 classes (CIFAR-100's fine labels).
// Twin: source_classes_mismatch.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/evaluate.hpp"
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>, conv2d<3, 8, 3, 1, same>, global_avg_pool, dense<8, 10>>;
using hundred = data::memory_source<shape<3, 32, 32>, 100>;

evaluation score(network& model, const hundred& test, const data::normalization& n) {
    return evaluate(model, test, n);
}
