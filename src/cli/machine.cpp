// src/cli/machine.cpp - see machine.hpp.
#include "machine.hpp"

#include <fstream>

namespace typenet::train {

std::string cpu_model_name() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) {
            const auto p = line.find(':');
            if (p != std::string::npos) {
                auto s = line.substr(p + 1);
                s.erase(0, s.find_first_not_of(' '));
                return s.empty() ? "unknown" : s;
            }
        }
    return "unknown";
}

}  // namespace typenet::train
