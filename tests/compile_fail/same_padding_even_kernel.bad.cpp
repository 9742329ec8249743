// compile_fail case (must NOT compile): 'same' padding with a 4 x 4 kernel.
// Twin: same_padding_even_kernel.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 4, 1, same, relu>>;

network model;
