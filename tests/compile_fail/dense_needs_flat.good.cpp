// compile_fail twin (must compile): dense_needs_flat.bad.cpp with one change: flatten before the dense layer.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 8, 3, 1, same, relu>,
                    flatten,
                    dense<8192, 10, identity>>;

network model;
