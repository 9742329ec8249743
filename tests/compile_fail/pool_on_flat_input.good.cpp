// compile_fail twin (must compile): pool_on_flat_input.bad.cpp with one change: max_pool before flatten.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 8, 3, 1, same, relu>,
                    max_pool<2, 2>,
                    flatten,
                    dense<2048, 10, identity>>;

network model;
