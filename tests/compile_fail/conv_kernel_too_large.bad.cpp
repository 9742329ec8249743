// compile_fail case (must NOT compile): a LeNet-like stack whose third 5 x 5 valid convolution meets a 4 x 4 feature map.
// Twin: conv_kernel_too_large.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<1, 28, 28>,
                    conv2d<1, 8, 5, 1, valid, relu>,    // -> 8 x 24 x 24
                    max_pool<2, 2>,                     // -> 8 x 12 x 12
                    conv2d<8, 16, 5, 1, valid, relu>,   // -> 16 x 8 x 8
                    max_pool<2, 2>,                     // -> 16 x 4 x 4
                    conv2d<16, 32, 5, 1, valid, relu>>;

network model;
