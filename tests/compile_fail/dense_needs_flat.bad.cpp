// compile_fail case (must NOT compile): a dense layer directly on the 8 x 32 x 32 feature map, without flatten.
// Twin: dense_needs_flat.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 8, 3, 1, same, relu>,
                    dense<8192, 10, identity>>;

network model;
