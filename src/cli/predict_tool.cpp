// src/cli/predict_tool.cpp (private to the tools) - typenet-predict's helpers that do not depend on
// the network (predict_tool.hpp); here rather than in predict_main.cpp because the networks'
// code, which calls them, is linked into every tool.
#include "predict_tool.hpp"

#include <limits>
#include <string_view>

#include "../train/text_numbers.hpp"
#include "typenet/data/error.hpp"

namespace typenet::cli::predict_tool {

std::optional<record_range> parse_records(const std::string& s) {
    bool test;
    std::string_view rest;
    if (s.rfind("test:", 0) == 0) test = true, rest = std::string_view(s).substr(5);
    else if (s.rfind("train:", 0) == 0) test = false, rest = std::string_view(s).substr(6);
    else return std::nullopt;
    const auto number = [&](std::string_view t) {
        const auto v = typenet::train::detail::decimal_whole(t, std::numeric_limits<std::size_t>::max());
        if (!v)
            throw typenet::data::data_error(s + ": expected test:I or test:I-J with whole numbers (a file of that name: ./" + s + ")");
        return std::size_t(*v);
    };
    const auto dash = rest.find('-');
    const std::size_t first = number(rest.substr(0, dash));
    const std::size_t last = dash == std::string_view::npos ? first : number(rest.substr(dash + 1));
    if (last < first) throw typenet::data::data_error(s + ": the range ends before it starts");
    return record_range{test, first, last};
}

}  // namespace typenet::cli::predict_tool
