// compile_fail case (must NOT compile): inside the residual block at position 2, the second
// layer of the main branch is written for 32 input channels; the first produces 16.
// Twin: residual_inner_channels.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv_bn<3, 16, 3, 1, same>,
                    basic_block<16, 16, 1>,
                    residual<branch<conv_bn<16, 16, 3, 1, same>, conv_bn<32, 16, 3, 1, same, identity>>>,
                    global_avg_pool,
                    dense<16, 10>>;

network model;
