// compile_fail twin (must compile): group_norm_groups.bad.cpp with one change: group_norm<4>,
// which divides 12. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 12, 3, 1, same, identity, no_bias>,
                    group_norm<4>>;

network model;
