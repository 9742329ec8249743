// compile_fail twin (must compile): conv_fractional_output.bad.cpp with one change: the same convolution with 'same' padding (output 16 x 16).
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 2, same, relu>>;

network model;
