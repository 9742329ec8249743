// typenet/train/report.hpp - per-epoch metrics (metrics.csv, metrics.jsonl) and SVG charts.
#pragma once

#include <cstddef>
#include <cmath>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "typenet/train/step_table.hpp"

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

// Per-step curves of several runs (steps.csv, step_table.hpp) against the step: the training loss
// of every logged step (thin, faint) under its moving average over `smooth` rows (thick), the
// batch accuracy and the gradient norm as moving averages; one colour per run.
struct step_run {
    std::string label;
    step_table table;
};
std::string steps_svg(const std::vector<step_run>& runs, const std::string& title, std::size_t smooth);

// Loss-landscape probes of several runs (landscape.csv) against the step, one quantity per chart:
// loss (the range of the loss over the probed step sizes shaded, the loss at theta drawn), gradient
// (the range of ||g' - g|| shaded, its maximum drawn: "gradient predictiveness") or beta (the
// range of ||g' - g|| / ||eta g|| shaded, its maximum drawn: "effective beta-smoothness").
enum class landscape_quantity { loss, gradient, beta };  // report.cpp's table of charts keeps this order
std::string landscape_svg(const std::vector<step_run>& runs, const std::string& title, landscape_quantity what);

// A long line as the charts draw it: of the points (in pixel coordinates) of each run of points
// in one pixel column (the same floor of x), the first, the lowest, the highest and the last, in
// their order; the same picture as all of them, at a few points a column (why-cnn-steps.svg:
// 3,900 steps a line on 380 columns, 746 KB of SVG before, 186 KB after).
std::vector<std::pair<double, double>> thin_to_pixel_columns(const std::vector<std::pair<double, double>>& pixels);

// The centred moving average of v over `window` values (window / 2 on each side, fewer at the
// ends), non-finite values left out (a position with none in reach is NaN).
std::vector<double> moving_average(const std::vector<double>& v, std::size_t window);
// The per-step loss oscillation of a steps.csv over its last epoch: the standard deviation of
// the loss around its moving average over `window` rows (the average taken over all rows, so it
// reaches back into the epoch before), over the finite rows of that epoch; NaN without such rows.
double loss_oscillation(const step_table& steps, std::size_t window);

// Writes text to a file atomically (temp file + rename).
void write_file_atomic(const std::filesystem::path& file, const std::string& text);

// Appends one line to a file (created if missing); the line is written with one write call.
void append_line(const std::filesystem::path& file, const std::string& line);

}  // namespace typenet::train
