// libFuzzer target: train::read_step_table, which a resumed typenet-train runs on the steps.csv and
// landscape.csv in its folder, and typenet-plot on any file a user names. The first byte picks the
// header (even: steps.csv's, odd: landscape.csv's). Only its documented std::runtime_error may come
// out, naming the input; what loads has the header's width in every row, and whole steps >= 1 that
// increase.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "typenet/train/step_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string& header = data[0] % 2 ? typenet::train::landscape_csv_header : typenet::train::steps_csv_header;
    std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
    try {
        const auto t = typenet::train::read_step_table(in, "fuzz.csv", header);
        if (t.lines.size() != t.rows.size()) std::abort();
        for (std::size_t i = 0; i < t.rows.size(); ++i) {
            if (t.rows[i].size() != t.columns.size()) std::abort();
            if (!(t.rows[i][0] >= 1 && t.rows[i][0] == std::floor(t.rows[i][0]))) std::abort();
            if (i > 0 && !(t.rows[i][0] > t.rows[i - 1][0])) std::abort();
        }
    } catch (const std::runtime_error& e) {
        if (std::strstr(e.what(), "fuzz.csv") == nullptr) std::abort();
    }
    return 0;
}
