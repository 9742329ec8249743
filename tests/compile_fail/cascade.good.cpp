// compile_fail twin (must compile): cascade.bad.cpp with both broken layers fixed
// (conv2d<16, ...>, dense<4096, ...>). Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    conv2d<16, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,
                    flatten,
                    dense<4096, 10, identity>>;

int main() {
    network model;
    tensor<float, shape<3, 32, 32>> x(2);
    const auto& y = model.forward(x);
    return int(y.batch());
}
