// src/train/csv_cells.hpp - internal, not installed: the cells of one row of the numeric CSV
// files typenet-train writes (metrics.csv, steps.csv, landscape.csv), read back as input from
// outside: a resumed run reads what is in its folder, typenet-plot any file a user names. One
// rule for all of them, so a file one reader refuses the other does not take.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace typenet::train::detail {

// Every cell of LINE as a number, an empty cell at either end too (so "1,2," is three cells,
// the last no number). A cell must be wholly a number: no leading space, no trailing text.
// strtod, not stod: a value that underflows to a denormal is still a number, and one that
// overflows reads as the infinity it is. WHERE ("file: line N") starts the error message.
inline std::vector<double> number_cells(const std::string& line, const std::string& where) {
    std::vector<double> v;
    for (std::size_t from = 0;;) {
        const std::size_t comma = line.find(',', from);
        const std::string cell = line.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        char* end = nullptr;
        const double d = std::strtod(cell.c_str(), &end);
        if (cell.empty() || std::isspace(static_cast<unsigned char>(cell[0])) || end != cell.c_str() + cell.size())
            throw std::runtime_error(where + ": '" + cell + "' is not a number");
        v.push_back(d);
        if (comma == std::string::npos) return v;
        from = comma + 1;
    }
}

// An epoch or step count goes into an integer: NaN, a fraction, 0, a negative or a value past
// 2^53 would make that conversion undefined or a chart's x axis meaningless.
inline bool whole_from_1(double x) { return x >= 1 && x <= 9007199254740992.0 && x == std::floor(x); }

}  // namespace typenet::train::detail
