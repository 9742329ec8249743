// compile_fail case (must NOT compile): group_norm<8> after a convolution with 12 output
// channels: 8 does not divide 12. Twin: group_norm_groups.good.cpp. Registered in CMakeLists.txt
// next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 12, 3, 1, same, identity, no_bias>,
                    group_norm<8>>;

network model;
