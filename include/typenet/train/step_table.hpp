// typenet/train/step_table.hpp - the per-step files of a run: steps.csv (steps_logger) and
// landscape.csv (landscape_logger), read back by the loggers when a run resumes and by
// typenet-plot. Both are CSV with a fixed header whose first column is the optimizer step
// (1-based over the whole run, strictly increasing) and whose second is the epoch.
#pragma once

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace typenet::train {

// step: optimizer steps taken after this one; epoch_step: its step within the epoch (1-based);
// loss and accuracy: the batch's, before the update; grad_norm: the gradient's L2 norm (before
// clipping); lr: the step's learning rate.
inline const std::string steps_csv_header = "step,epoch,epoch_step,loss,accuracy,grad_norm,lr";
// One probe per row (landscape.hpp's landscape_log): loss and grad_norm at theta, then the
// ranges over the probed step sizes.
inline const std::string landscape_csv_header =
    "step,epoch,lr,loss,grad_norm,loss_min,loss_max,loss_variation,grad_change_min,grad_change_max,beta_min,beta_max";

struct step_table {
    std::vector<std::string> columns;  // the header's names
    std::vector<std::vector<double>> rows;
    std::vector<std::string> lines;    // each row's line as it was read (without its newline)
    // The index of a column; std::out_of_range naming it when there is none.
    std::size_t column(const std::string& name) const;
};

// Reads a file whose first line is `header` exactly. Throws std::runtime_error naming the source,
// the line and what is wrong: another header, a cell that is not wholly a number (nan and inf are
// numbers: a diverged step), a row without the header's fields, a step or epoch that is not a
// whole number from 1 to 2^53, a step not above the row before. The istream form names `source`
// in its messages (fuzzed by tests/fuzz/fuzz_step_table.cpp).
step_table read_step_table(std::istream& in, const std::string& source, const std::string& header);
step_table read_step_table(const std::filesystem::path& file, const std::string& header);

}  // namespace typenet::train
