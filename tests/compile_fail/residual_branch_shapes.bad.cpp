// compile_fail case (must NOT compile): a residual block whose main branch halves the map and
// doubles the channels (16x32x32 -> 32x16x16) keeps the identity shortcut (16x32x32).
// Twin: residual_branch_shapes.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv_bn<3, 16, 3, 1, same>,
                    residual<branch<conv_bn<16, 32, 3, 2, same>, conv_bn<32, 32, 3, 1, same, identity>>>,
                    global_avg_pool,
                    dense<32, 10>>;

network model;
