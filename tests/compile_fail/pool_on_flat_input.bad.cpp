// compile_fail case (must NOT compile): max_pool after flatten.
// Twin: pool_on_flat_input.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 8, 3, 1, same, relu>,
                    flatten,
                    max_pool<2, 2>,
                    dense<2048, 10, identity>>;

network model;
