// compile_fail twin (must compile): pool_window_too_large.bad.cpp with one change: a 2 x 2 window.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 8, 8>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,                     // -> 16 x 4 x 4
                    conv2d<16, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,                     // -> 16 x 2 x 2
                    max_pool<2, 2>>;

network model;
