// src/cli/convert_tool.cpp (private to the tools) - typenet-convert's helpers that do not depend on
// the network (convert_tool.hpp); here rather than in convert_main.cpp because the networks'
// code, which calls them, is linked into every tool.
#include "convert_tool.hpp"

#include <sstream>

namespace typenet::cli::convert_tool {

std::vector<std::string> split_names(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
}

}  // namespace typenet::cli::convert_tool
