// src/train/text_numbers.hpp - internal, not installed: numbers read back from the text typenet
// writes, as input from outside (a resumed run reads what is in its folder and its checkpoint,
// typenet-plot any file a user names): the cells of metrics.csv, steps.csv and landscape.csv,
// and the counts of a checkpoint's fit.* entries; and the whole numbers of the tools' flags
// (src/cli/, bench/). One rule each for all of their readers, so a file or a flag one reader
// refuses another does not take.
#pragma once

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace typenet::train::detail {

// Every cell of LINE as a number, an empty cell at either end too (so "1,2," is three cells,
// the last no number). A cell must be wholly a number: no leading space, no trailing text; nan
// and inf (as typenet writes a diverged loss) are numbers, and a value that underflows to a
// denormal is one (strtod, not stod, which refuses it), but a finite-looking value past double's
// range (1e400) is refused: typenet never writes one. WHERE ("file: line N") starts the message.
inline std::vector<double> number_cells(const std::string& line, const std::string& where) {
    std::vector<double> v;
    for (std::size_t from = 0;;) {
        const std::size_t comma = line.find(',', from);
        const std::string cell = line.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        char* end = nullptr;
        errno = 0;
        const double d = std::strtod(cell.c_str(), &end);
        if (cell.empty() || std::isspace(static_cast<unsigned char>(cell[0])) || end != cell.c_str() + cell.size())
            throw std::runtime_error(where + ": '" + cell + "' is not a number");
        if (errno == ERANGE && std::isinf(d))
            throw std::runtime_error(where + ": '" + cell + "' is past the range of a double");
        v.push_back(d);
        if (comma == std::string::npos) return v;
        from = comma + 1;
    }
}

// The largest count these readers take: every whole number up to it is exact in a double.
inline constexpr std::uint64_t max_count = std::uint64_t(1) << 53;

// An epoch or step cell of a CSV row goes into an integer: NaN, a fraction, 0, a negative or a
// value past 2^53 would make that conversion undefined or a chart's x axis meaningless.
inline bool whole_from_1(double x) { return x >= 1 && x <= double(max_count) && x == std::floor(x); }

// Decimal digits and nothing else, at most MOST: "-1", "+1", " 3", "1e3", "0x10", "3.0" and ""
// are none (stoull took " 3" and made " -3" 2^64 - 3).
inline std::optional<std::uint64_t> decimal_whole(std::string_view t,
                                                  std::uint64_t most = std::numeric_limits<std::uint64_t>::max()) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || n > most) return std::nullopt;
    return n;
}

// A count typenet wrote as decimal digits (a checkpoint's fit.step, its history's counts): from
// 0 to 2^53.
inline std::optional<std::uint64_t> whole_count(std::string_view t) { return decimal_whole(t, max_count); }

// The whole number a tool's FLAG takes, from MIN to MOST, read from TEXT; otherwise the tool's
// own usage error, Error("FLAG: expected WHAT, got 'TEXT'"), where WHAT is "a whole number >= MIN"
// (or "from MIN to MOST") unless the tool names the value itself.
template <class Error>
std::uint64_t whole_flag(const std::string& flag, const std::string& text, std::uint64_t min,
                         std::uint64_t most = std::numeric_limits<std::uint64_t>::max(), std::string what = {}) {
    if (const auto n = decimal_whole(text, most); n && *n >= min) return *n;
    if (what.empty())
        what = "a whole number " + (most == std::numeric_limits<std::uint64_t>::max()
                                        ? ">= " + std::to_string(min)
                                        : "from " + std::to_string(min) + " to " + std::to_string(most));
    throw Error(flag + ": expected " + what + ", got '" + text + "'");
}

}  // namespace typenet::train::detail
