// src/train/text_numbers.hpp - internal, not installed: numbers read back from the text typenet
// writes, as input from outside (a resumed run reads what is in its folder and its checkpoint,
// typenet-plot any file a user names): the cells of metrics.csv, steps.csv and landscape.csv,
// and the numbers and counts of a checkpoint's fit.* entries; and the numbers of the tools'
// flags (src/cli/, bench/). One rule each for all of their readers, so a file or a flag one
// reader refuses another does not take.
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

// TEXT as one number in strtod's grammar (nan and inf included) into OUT, with nothing before or
// after it: "", " 1", "1x" and "1," are no number (stod skipped the space and ignored the rest).
// A finite-looking value past double's range (1e400) is past_range: typenet never writes one. A
// value too small for a double's full precision (1e-310, a denormal; 1e-400, 0) is underflow:
// the file readers take it as strtod gives it, the flags refuse it (as stod did).
enum class number_text { ok, not_a_number, past_range, underflow };
inline number_text read_number(const std::string& text, double& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtod(text.c_str(), &end);
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || end != text.c_str() + text.size())
        return number_text::not_a_number;
    if (errno == ERANGE) return std::isinf(out) ? number_text::past_range : number_text::underflow;
    return number_text::ok;
}

// TEXT as read_number reads it (nan and inf, as typenet writes a diverged loss, are numbers);
// otherwise the reader's own error, Error(WHERE + "'TEXT' is not a number") or
// Error(WHERE + "'TEXT' is past the range of a double"). WHERE ends in ": " or is empty.
template <class Error>
double number_or_throw(const std::string& text, const std::string& where) {
    double d = 0;
    switch (read_number(text, d)) {
    case number_text::ok:
    case number_text::underflow: return d;
    case number_text::not_a_number: throw Error(where + "'" + text + "' is not a number");
    case number_text::past_range: break;
    }
    throw Error(where + "'" + text + "' is past the range of a double");
}

// Every cell of LINE as a number (read_number; nan and inf included), an empty cell at either
// end too (so "1,2," is three cells, the last no number). WHERE ("file: line N") starts the
// message.
inline std::vector<double> number_cells(const std::string& line, const std::string& where) {
    std::vector<double> v;
    for (std::size_t from = 0;;) {
        const std::size_t comma = line.find(',', from);
        const std::string cell = line.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        v.push_back(number_or_throw<std::runtime_error>(cell, where + ": "));
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

// The finite number a tool's FLAG takes, read from TEXT by read_number (no underflow: 1e-400
// is not 0), above ABOVE when given; otherwise Error("FLAG: expected WHAT, got 'TEXT'").
template <class Error>
double number_flag(const std::string& flag, const std::string& text, const std::string& what = "a number",
                   std::optional<double> above = std::nullopt) {
    double d = 0;
    if (read_number(text, d) == number_text::ok && std::isfinite(d) && (!above || d > *above)) return d;
    throw Error(flag + ": expected " + what + ", got '" + text + "'");
}

}  // namespace typenet::train::detail
