// compile_fail case (must NOT compile): batch_norm<std::ratio<0>>: eps = 0.
// Twin: batch_norm_eps_zero.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, identity, no_bias>,
                    batch_norm<std::ratio<0>>>;

network model;
