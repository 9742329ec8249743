// compile_fail case (must NOT compile): the second convolution is written for 8 input channels; the first produces 16.
// Twin: channel_mismatch.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    conv2d<8, 32, 3, 1, same, relu>>;

network model;
