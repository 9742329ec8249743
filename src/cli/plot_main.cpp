// typenet-plot: overlays several runs' metrics.csv on one SVG chart.
//   typenet-plot --out ablation.svg --title "BN vs no BN" cnn-bn=runs/bn/metrics.csv cnn-nobn=runs/nobn/metrics.csv
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "typenet/train/report.hpp"

int main(int argc, char** argv) {
    using namespace typenet::train;
    std::string out, title = "runs";
    std::vector<labelled_run> runs;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--help" || a == "-h") {
                std::printf("usage: typenet-plot --out FILE.svg [--title TEXT] LABEL=path/to/metrics.csv ...\n"
                            "Overlays the loss and test-accuracy curves of several typenet-train runs.\n");
                return 0;
            }
            if (a == "--out" || a == "--title") {
                if (i + 1 >= argc) throw std::runtime_error(a + ": missing value");
                (a == "--out" ? out : title) = argv[++i];
                continue;
            }
            if (a.rfind("--", 0) == 0) throw std::runtime_error("unknown flag '" + a + "' (see --help)");
            const auto eq = a.find('=');
            if (eq == std::string::npos || eq == 0)
                throw std::runtime_error("'" + a + "': expected LABEL=path/to/metrics.csv");
            runs.push_back({a.substr(0, eq), read_metrics_csv(a.substr(eq + 1))});
        }
        if (out.empty()) throw std::runtime_error("--out FILE.svg is required");
        if (runs.empty()) throw std::runtime_error("no runs given (LABEL=path/to/metrics.csv ...)");
        write_file_atomic(out, overlay_svg(runs, title));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-plot: %s\n", e.what());
        return 2;
    }
}
