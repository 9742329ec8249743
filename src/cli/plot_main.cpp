// typenet-plot: overlays several runs' metrics.csv on one SVG chart.
//   typenet-plot --out ablation.svg --title "BN vs no BN" cnn-bn=runs/bn/metrics.csv cnn-nobn=runs/nobn/metrics.csv
// or, with --sweep, plots each run's final test accuracy against a value given per run:
//   typenet-plot --sweep lr --out lr.svg cnn-bn@0.01=runs/lr-bn-0.01/metrics.csv cnn-bn@0.1=... cnn-nobn@0.01=...
// --epoch N uses each run's first N epochs only (a 10-epoch point read from a longer run).
// --steps overlays runs' per-step curves (steps.csv of typenet-train --log-every) and prints each
// run's loss oscillation over its last epoch:
//   typenet-plot --steps --smooth 25 --out steps.svg cnn-bn=runs/bn/steps.csv cnn-nobn=runs/nobn/steps.csv
// --landscape loss|gradient|beta draws one quantity of the loss-landscape probes (landscape.csv
// of typenet-train --landscape-every), the range over the step sizes shaded:
//   typenet-plot --landscape beta --out beta.svg cnn-bn=runs/bn/landscape.csv cnn-nobn=runs/nobn/landscape.csv
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "../train/text_numbers.hpp"
#include "typenet/train/report.hpp"

namespace {
// The rows up to epoch n (all of them for n = 0); a run that has not reached epoch n is an error.
std::vector<typenet::train::epoch_metrics> first_epochs(std::vector<typenet::train::epoch_metrics> rows,
                                                        const std::string& file, std::size_t n) {
    if (n == 0) return rows;
    std::size_t keep = 0;
    while (keep < rows.size() && rows[keep].epoch <= n) ++keep;
    if (keep == 0 || rows[keep - 1].epoch != n)
        throw std::runtime_error(file + ": has no epoch " + std::to_string(n) + " (--epoch " + std::to_string(n) + "); its last is " +
                                 (rows.empty() ? std::string("none") : std::to_string(rows.back().epoch)));
    rows.resize(keep);
    return rows;
}
using typenet::train::detail::max_count, typenet::train::detail::number_text, typenet::train::detail::read_number,
    typenet::train::detail::whole_flag;
}  // namespace

int main(int argc, char** argv) {
    using namespace typenet::train;
    std::string out, title = "runs", sweep, landscape;
    bool linear = false, steps = false;
    std::size_t smooth = 25;  // --smooth W: rows in the moving average of --steps
    std::vector<step_run> step_runs;
    std::size_t epoch = 0;  // --epoch N: each run's first N epochs (0: all)
    std::vector<labelled_run> runs;
    std::vector<sweep_run> points;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--help" || a == "-h") {
                std::printf("usage: typenet-plot [--epoch N] --out FILE.svg [--title TEXT] LABEL=path/to/metrics.csv ...\n"
                            "       typenet-plot --sweep NAME [--linear] [--epoch N] --out FILE.svg [--title TEXT] LABEL@X=path/to/metrics.csv ...\n"
                            "       typenet-plot --steps [--smooth W] --out FILE.svg [--title TEXT] LABEL=path/to/steps.csv ...\n"
                            "       typenet-plot --landscape loss|gradient|beta --out FILE.svg [--title TEXT] LABEL=path/to/landscape.csv ...\n"
                            "Overlays the loss and test-accuracy curves of several typenet-train runs; with --sweep,\n"
                            "plots each run's final test accuracy and train loss against X (named NAME, log scale\n"
                            "unless --linear), one line per LABEL. --epoch N: each run's first N epochs only (a\n"
                            "run with fewer is an error), e.g. epoch 10 of a longer constant-rate run.\n"
                            "--steps: per-step curves (typenet-train --log-every): the batch loss of every row and its\n"
                            "moving average over W rows (default 25), the batch accuracy and the gradient norm; prints\n"
                            "each run's loss oscillation over its last epoch (the standard deviation of the loss around\n"
                            "that moving average). --landscape: the loss-landscape probes (typenet-train\n"
                            "--landscape-every), one quantity, its range over the probed step sizes shaded.\n");
                return 0;
            }
            if (a == "--out" || a == "--title" || a == "--sweep" || a == "--landscape") {
                if (i + 1 >= argc) throw std::runtime_error(a + ": missing value");
                (a == "--out" ? out : a == "--title" ? title : a == "--sweep" ? sweep : landscape) = argv[++i];
                if (a == "--landscape" && landscape != "loss" && landscape != "gradient" && landscape != "beta")
                    throw std::runtime_error("--landscape: expected loss, gradient or beta, got '" + landscape + "'");
                continue;
            }
            if (a == "--steps") {
                steps = true;
                continue;
            }
            if (a == "--linear") {
                linear = true;
                continue;
            }
            if (a == "--smooth") {
                smooth = whole_flag<std::runtime_error>(a, i + 1 < argc ? argv[++i] : "", 1, 1000000, "a number of rows from 1 to 1000000");
                continue;
            }
            if (a == "--epoch") {
                epoch = whole_flag<std::runtime_error>(a, i + 1 < argc ? argv[++i] : "", 1, max_count, "an epoch number >= 1");
                continue;
            }
            if (a.rfind("--", 0) == 0) throw std::runtime_error("unknown flag '" + a + "' (see --help)");
            const auto eq = a.find('=');
            if (eq == std::string::npos || eq == 0)
                throw std::runtime_error("'" + a + "': expected " +
                                         (sweep.empty() ? "LABEL=path/to/metrics.csv" : "LABEL@X=path/to/metrics.csv"));
            if (steps || !landscape.empty()) {
                const std::string file = a.substr(eq + 1);
                step_runs.push_back({a.substr(0, eq), read_step_table(file, steps ? steps_csv_header : landscape_csv_header)});
                continue;
            }
            if (sweep.empty()) {
                runs.push_back({a.substr(0, eq), first_epochs(read_metrics_csv(a.substr(eq + 1)), a.substr(eq + 1), epoch)});
                continue;
            }
            const auto at = a.rfind('@', eq);
            if (at == std::string::npos || at == 0 || at + 1 == eq)
                throw std::runtime_error("'" + a + "': --sweep expects LABEL@X=path/to/metrics.csv");
            const std::string xs = a.substr(at + 1, eq - at - 1);
            double x = 0;
            if (read_number(xs, x) != number_text::ok || !std::isfinite(x))  // as a flag: no underflow
                throw std::runtime_error("'" + a + "': '" + xs + "' is not a number");
            auto rows = first_epochs(read_metrics_csv(a.substr(eq + 1)), a.substr(eq + 1), epoch);
            if (rows.empty()) throw std::runtime_error(a.substr(eq + 1) + ": no epochs recorded");
            points.push_back({a.substr(0, at), x, std::move(rows)});
        }
        if (out.empty()) throw std::runtime_error("--out FILE.svg is required");
        if (int(steps) + int(!landscape.empty()) + int(!sweep.empty()) > 1)
            throw std::runtime_error("--steps, --landscape and --sweep are different charts: give one of them");
        if (steps || !landscape.empty()) {
            if (step_runs.empty())
                throw std::runtime_error(std::string("no runs given (LABEL=path/to/") + (steps ? "steps" : "landscape") + ".csv ...)");
            if (steps) {
                write_file_atomic(out, steps_svg(step_runs, title, smooth));
                for (const auto& r : step_runs) {
                    if (r.table.rows.empty()) {
                        std::printf("%s: no rows\n", r.label.c_str());
                        continue;
                    }
                    std::printf("%s: epoch %.0f, loss oscillation %.4f (standard deviation of the batch loss around its "
                                "moving average of %zu rows, over the epoch's logged rows)\n",
                                r.label.c_str(), r.table.rows.back()[1], loss_oscillation(r.table, smooth), smooth);
                }
            } else {
                write_file_atomic(out, landscape_svg(step_runs, title,
                                                     landscape == "loss"       ? landscape_quantity::loss
                                                     : landscape == "gradient" ? landscape_quantity::gradient
                                                                               : landscape_quantity::beta));
            }
            return 0;
        }
        if (sweep.empty()) {
            if (runs.empty()) throw std::runtime_error("no runs given (LABEL=path/to/metrics.csv ...)");
            write_file_atomic(out, overlay_svg(runs, title));
        } else {
            if (points.empty()) throw std::runtime_error("no runs given (LABEL@X=path/to/metrics.csv ...)");
            write_file_atomic(out, sweep_svg(points, title, sweep, !linear));
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-plot: %s\n", e.what());
        return 2;
    }
}
