// compile_fail case (must NOT compile): one shape error gives ONE typenet error.
// The network has TWO broken layers (layer 1: 8 input channels instead of 16; layer 4:
// dense<1000, ...> after a flatten that produces 16 * 16 * 16 = 4096), and the program then
// uses the network as a correct one would. Checking stops at layer 1: the compiler output
// must contain exactly one static assertion (channel_mismatch) and nothing about layer 4.
// Whatever else it reports (no forward() on the invalid network) follows from that error.
// Twin: cascade.good.cpp.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    conv2d<8, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,
                    flatten,
                    dense<1000, 10, identity>>;

int main() {
    network model;
    tensor<float, shape<3, 32, 32>> x(2);
    const auto& y = model.forward(x);
    return int(y.batch());
}
