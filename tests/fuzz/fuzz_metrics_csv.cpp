// libFuzzer target: train::read_metrics_csv, which typenet-plot runs on any file a user names.
// Only its documented std::runtime_error may come out, naming the input; rows that load have
// epochs that are whole numbers >= 1.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "typenet/train/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try {
        const auto rows = typenet::train::read_metrics_csv(in, "fuzz.csv");
        for (const auto& r : rows)
            if (r.epoch < 1) std::abort();
    } catch (const std::runtime_error& e) {
        if (std::strstr(e.what(), "fuzz.csv") == nullptr) std::abort();
    }
    return 0;
}
