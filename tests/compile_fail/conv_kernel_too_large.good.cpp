// compile_fail twin (must compile): conv_kernel_too_large.bad.cpp with one change: the third convolution uses a 3 x 3 kernel.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<1, 28, 28>,
                    conv2d<1, 8, 5, 1, valid, relu>,    // -> 8 x 24 x 24
                    max_pool<2, 2>,                     // -> 8 x 12 x 12
                    conv2d<8, 16, 5, 1, valid, relu>,   // -> 16 x 8 x 8
                    max_pool<2, 2>,                     // -> 16 x 4 x 4
                    conv2d<16, 32, 3, 1, valid, relu>>;

network model;
