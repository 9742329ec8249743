// compile_fail case (must NOT compile): dropout<std::ratio<1>>: every unit would be dropped.
// Twin: dropout_rate_one.good.cpp. Registered in CMakeLists.txt next to this file.
#include "typenet/typenet.hpp"

using namespace typenet;

using network = net<input<784>,
                    dense<784, 128, relu>,
                    dropout<std::ratio<1>>,
                    dense<128, 10, identity>>;

network model;
