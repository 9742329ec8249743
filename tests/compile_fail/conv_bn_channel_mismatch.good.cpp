// compile_fail twin (must compile): conv_bn_channel_mismatch.bad.cpp with one change: the channels chain (32 -> 32).
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<3, 32, 32>,
                    conv_bn<3, 32, 3, 1, same>,
                    conv_bn<32, 64, 3, 1, same>>;

network model;
