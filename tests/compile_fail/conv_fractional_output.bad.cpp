// compile_fail case (must NOT compile): a 3 x 3 valid convolution with stride 2 on 32 x 32: (32 - 3) / 2 is not whole.
// Twin: conv_fractional_output.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 2, valid, relu>>;

network model;
