// src/cli/predict_tool.hpp (private to the tools) - what typenet-predict's main and its per-network
// code (predict_run.hpp, compiled once per network in the generated model_TYPE.cpp) share: the
// options, the exit codes and the parsing of test:I-J inputs (predict_tool.cpp, in typenet_cli,
// because every tool links every network's object).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace typenet::cli::predict_tool {

inline constexpr int exit_ok = 0, exit_bad_input = 2;

struct options {
    std::string checkpoint;
    std::size_t top = 3, batch = 256;
    bool logits = false, crc = false;
    std::optional<std::filesystem::path> data_dir;
    std::vector<std::string> inputs;
};

// "test:I" or "test:I-J" (also train:): the set and the inclusive range; nullopt for a file name.
struct record_range {
    bool test;
    std::size_t first, last;
};
std::optional<record_range> parse_records(const std::string& s);

// Predicts o.inputs by the checkpoint's network Net; exit_bad_input when an input could not be read.
// Defined in predict_run.hpp; instantiated in the generated model_TYPE.cpp.
template <class Net>
int run(const options& o);

}  // namespace typenet::cli::predict_tool
