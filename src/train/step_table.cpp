// read_step_table: steps.csv and landscape.csv back into rows. The files are input from outside
// (a resumed run reads what is in its folder; typenet-plot any file a user names), so every
// cell is checked (text_numbers.hpp, the rule metrics.csv is read by too).
#include "typenet/train/step_table.hpp"

#include <fstream>
#include <istream>
#include <sstream>
#include <stdexcept>

#include "text_numbers.hpp"

namespace typenet::train {

std::size_t step_table::column(const std::string& name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == name) return i;
    throw std::out_of_range("no column '" + name + "'");
}

step_table read_step_table(const std::filesystem::path& file, const std::string& header) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file.string() + ": cannot open");
    return read_step_table(in, file.string(), header);
}

step_table read_step_table(std::istream& in, const std::string& source, const std::string& header) {
    step_table t;
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line != header)
        throw std::runtime_error(source + ": line 1 is not the header '" + header + "'");
    std::stringstream names(header);
    for (std::string c; std::getline(names, c, ',');) t.columns.push_back(c);
    std::size_t lineno = 1;
    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const std::string where = source + ": line " + std::to_string(lineno);
        std::vector<double> v = detail::number_cells(line, where);
        if (v.size() != t.columns.size())
            throw std::runtime_error(where + " has " + std::to_string(v.size()) + " fields, expected " +
                                     std::to_string(t.columns.size()));
        for (std::size_t i = 0; i < 2 && i < v.size(); ++i)
            if (!detail::whole_from_1(v[i]))
                throw std::runtime_error(where + ": " + t.columns[i] + " is not a whole number from 1 to 2^53");
        if (!t.rows.empty() && !(v[0] > t.rows.back()[0]))
            throw std::runtime_error(where + ": step " + line.substr(0, line.find(',')) + " does not follow step " +
                                     t.lines.back().substr(0, t.lines.back().find(',')));
        t.rows.push_back(std::move(v));
        t.lines.push_back(line);
    }
    return t;
}

}  // namespace typenet::train
