// compile_fail twin (must compile): dense_fan_in.bad.cpp with one change: the reference CNN as in models.hpp: dense<4096, 512, relu>.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<
    input<3, 32, 32>,
    conv_bn<3, 32, 3, 1, same>,
    conv_bn<32, 32, 3, 1, same>,
    max_pool<2, 2>,
    conv_bn<32, 64, 3, 1, same>,
    conv_bn<64, 64, 3, 1, same>,
    max_pool<2, 2>,
    flatten,
    dense<4096, 512, relu>,
    dense<512, 512, relu>,
    dense<512, 10, identity>>;

network model;
