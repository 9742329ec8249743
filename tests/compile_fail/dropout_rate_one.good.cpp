// compile_fail twin (must compile): dropout_rate_one.bad.cpp with one change: dropout<std::ratio<1, 2>>.
// Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<784>,
                    dense<784, 128, relu>,
                    dropout<std::ratio<1, 2>>,
                    dense<128, 10, identity>>;

network model;
