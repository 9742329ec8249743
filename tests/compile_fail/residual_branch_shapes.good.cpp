// compile_fail twin (must compile): residual_branch_shapes.bad.cpp with one change: a projection
// shortcut, projection<16, 32, 2>, gives the shortcut the main branch's shape.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv_bn<3, 16, 3, 1, same>,
                    residual<branch<conv_bn<16, 32, 3, 2, same>, conv_bn<32, 32, 3, 1, same, identity>>,
                             projection<16, 32, 2>>,
                    global_avg_pool,
                    dense<32, 10>>;

network model;
