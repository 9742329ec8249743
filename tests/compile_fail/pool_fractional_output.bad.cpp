// compile_fail case (must NOT compile): max_pool<2, 2> on a 15 x 15 feature map: (15 - 2) / 2 is not whole.
// Twin: pool_fractional_output.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 30, 30>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,                     // -> 16 x 15 x 15
                    conv2d<16, 32, 3, 1, same, relu>,
                    max_pool<2, 2>>;

network model;
