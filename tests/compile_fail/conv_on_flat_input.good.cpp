// compile_fail twin (must compile): conv_on_flat_input.bad.cpp with one change: the input is the 1 x 28 x 28 image.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<1, 28, 28>,
                    conv2d<1, 8, 3, 1, same, relu>>;

network model;
