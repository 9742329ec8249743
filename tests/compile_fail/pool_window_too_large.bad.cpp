// compile_fail case (must NOT compile): a 3 x 3 pooling window on a 2 x 2 feature map.
// Twin: pool_window_too_large.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 8, 8>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,                     // -> 16 x 4 x 4
                    conv2d<16, 16, 3, 1, same, relu>,
                    max_pool<2, 2>,                     // -> 16 x 2 x 2
                    max_pool<3, 3>>;

network model;
