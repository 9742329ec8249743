// compile_fail twin (must compile): channel_mismatch.bad.cpp with one change: the channels chain (16 -> 16).
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv2d<3, 16, 3, 1, same, relu>,
                    conv2d<16, 32, 3, 1, same, relu>>;

network model;
