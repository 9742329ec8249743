// compile_fail case (must NOT compile): the reference CNN (typenet::models::cifar_cnn_bn) with dense<4000, ...> after flatten;
// flatten produces 64 * 8 * 8 = 4096 features.
// Twin: dense_fan_in.good.cpp. Registered in CMakeLists.txt next to this file.
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
    dense<4000, 512, relu>,
    dense<512, 512, relu>,
    dense<512, 10, identity>>;

network model;
