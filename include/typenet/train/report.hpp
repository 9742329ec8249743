// typenet/train/report.hpp - per-epoch metrics (metrics.csv, metrics.jsonl) and SVG charts.
#pragma once

#include <cstddef>
#include <cmath>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace typenet::train {

struct epoch_metrics {
    std::size_t epoch = 0;      // 1-based
    double train_loss = 0, train_accuracy = 0;
    double test_loss = 0, test_accuracy = 0;
    double grad_norm = 0;       // global L2 norm of the gradient, mean over the epoch's steps
    double lr = 0;              // learning rate of the epoch's last step
    double seconds = 0;         // wall time of the epoch (training + evaluation)
    double images_per_second = 0;  // training images / training seconds
    bool diverged = false;      // a non-finite loss was seen in this epoch
    // the held-out validation set (typenet-train --val-split); NaN when there is none. The test
    // columns are then NaN except after the last epoch (or every epoch with --test-every-epoch).
    double val_loss = std::nan(""), val_accuracy = std::nan("");
};

// Writes all rows (header first) to metrics.csv and metrics.jsonl in `dir`, replacing the
// files atomically, so a resumed run's files hold exactly the epochs it has.
void write_metrics(const std::filesystem::path& dir, const std::vector<epoch_metrics>& rows);
// Reads a metrics.csv written by write_metrics (src/train/metrics_csv.cpp); throws
// std::runtime_error naming the file, the line and what is wrong: a missing header, a cell that
// is not wholly a number, a row without the header's 10 or 12 fields (the last two, val_loss and
// val_accuracy, came with --val-split: files without them read as NaN), an epoch that is not a
// whole number from 1 to 2^53. The istream form names `source` in its messages (fuzzed by tests/fuzz/).
std::vector<epoch_metrics> read_metrics_csv(const std::filesystem::path& file);
std::vector<epoch_metrics> read_metrics_csv(std::istream& in, const std::string& source);

// The charts are SVG documents. Their titles, labels and the swept value's name may be any
// text: each goes in through xml_escape (escape.hpp), so the document stays well-formed XML.

// A run's curves: loss (train, test) and accuracy (train, test) against epoch.
std::string curves_svg(const std::vector<epoch_metrics>& rows, const std::string& title);

struct labelled_run {
    std::string label;
    std::vector<epoch_metrics> rows;
};
// Several runs on one chart: loss and test accuracy panels, one colour per run (test solid,
// train dashed).
std::string overlay_svg(const std::vector<labelled_run>& runs, const std::string& title);

// A sweep: one run per (label, x), e.g. the learning-rate headroom of a network. The chart
// shows each run's final test accuracy against x (log scale when log_x), one line per label
// (points sorted by x), and the final train loss likewise.
struct sweep_run {
    std::string label;
    double x = 0;
    std::vector<epoch_metrics> rows;
};
std::string sweep_svg(const std::vector<sweep_run>& runs, const std::string& title, const std::string& xlabel, bool log_x);

// Writes text to a file atomically (temp file + rename).
void write_file_atomic(const std::filesystem::path& file, const std::string& text);

// Appends one line to a file (created if missing); the line is written with one write call.
void append_line(const std::filesystem::path& file, const std::string& line);

}  // namespace typenet::train
