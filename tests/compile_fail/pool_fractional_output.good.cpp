// compile_fail twin (must compile): pool_fractional_output.bad.cpp with one change: max_pool<3, 3> there: (15 - 3) / 3 = 4, output 5 x 5.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 30, 30>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,                     // -> 16 x 15 x 15
                    conv2d<16, 32, 3, 1, same, relu>,
                    max_pool<3, 3>>;

network model;
