// compile_fail twin (must compile): residual_inner_channels.bad.cpp with one change: the second
// layer of the block's main branch takes 16 channels, conv_bn<16, 16, 3, 1, same, identity>.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv_bn<3, 16, 3, 1, same>,
                    basic_block<16, 16, 1>,
                    residual<branch<conv_bn<16, 16, 3, 1, same>, conv_bn<16, 16, 3, 1, same, identity>>>,
                    global_avg_pool,
                    dense<16, 10>>;

network model;
