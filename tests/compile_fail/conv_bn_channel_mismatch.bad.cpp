// compile_fail case (must NOT compile): the second conv_bn block is written for 16 input channels; the first produces 32.
// Twin: conv_bn_channel_mismatch.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv_bn<3, 32, 3, 1, same>,
                    conv_bn<16, 64, 3, 1, same>>;

network model;
