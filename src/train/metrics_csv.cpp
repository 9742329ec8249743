// read_metrics_csv: a run's metrics.csv back into rows (typenet-plot, results scripts). The file
// is input from outside (any file a user names), so every cell is checked (text_numbers.hpp, the
// rule steps.csv and landscape.csv are read by), and the epoch a whole number that fits the
// row's integer field.
#include "typenet/train/report.hpp"

#include <fstream>
#include <istream>
#include <stdexcept>

#include "text_numbers.hpp"

namespace typenet::train {

std::vector<epoch_metrics> read_metrics_csv(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file.string() + ": cannot open (expected a metrics.csv written by typenet-train)");
    return read_metrics_csv(in, file.string());
}

std::vector<epoch_metrics> read_metrics_csv(std::istream& in, const std::string& source) {
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("epoch,train_loss,", 0) != 0)
        throw std::runtime_error(source + ": line 1 is not the metrics.csv header");
    // 10 columns up to diverged; files written since --val-split have val_loss, val_accuracy after it
    const std::size_t fields = line.find(",val_loss,val_accuracy") != std::string::npos ? 12 : 10;
    std::vector<epoch_metrics> rows;
    std::size_t lineno = 1;
    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();  // written on Windows
        if (line.empty()) continue;
        const std::string where = source + ": line " + std::to_string(lineno);
        const std::vector<double> v = detail::number_cells(line, where);
        if (v.size() != fields)
            throw std::runtime_error(where + " has " + std::to_string(v.size()) + " fields, expected " +
                                     std::to_string(fields));
        if (!detail::whole_from_1(v[0]))
            throw std::runtime_error(where + ": epoch '" + line.substr(0, line.find(',')) +
                                     "' is not a whole number from 1 to 2^53");
        epoch_metrics m{std::size_t(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9] != 0};
        if (fields == 12) m.val_loss = v[10], m.val_accuracy = v[11];
        rows.push_back(m);
    }
    return rows;
}

}  // namespace typenet::train
