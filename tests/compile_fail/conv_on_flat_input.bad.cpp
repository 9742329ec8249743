// compile_fail case (must NOT compile): a convolution on a flat input<784>.
// Twin: conv_on_flat_input.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<784>,
                    conv2d<1, 8, 3, 1, same, relu>>;

network model;
