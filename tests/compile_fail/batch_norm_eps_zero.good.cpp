// compile_fail twin (must compile): batch_norm_eps_zero.bad.cpp with one change: eps = 1/1000.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, identity, no_bias>,
                    batch_norm<std::ratio<1, 1000>>>;

network model;
