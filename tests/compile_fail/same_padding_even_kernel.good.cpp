// compile_fail twin (must compile): same_padding_even_kernel.bad.cpp with one change: a 3 x 3 kernel.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, relu>>;

network model;
