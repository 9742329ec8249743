// src/cli/bench_tool.cpp (private to the tools) - typenet-bench's helpers that do not depend on the
// network (bench_tool.hpp); here rather than in bench_main.cpp because the networks' code, which
// calls them, is linked into every tool.
#include "bench_tool.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "median.hpp"

namespace typenet::cli::bench_tool {

double median_ms(std::size_t reps, const std::function<void()>& f) {
    f();
    std::vector<double> t;
    for (std::size_t i = 0; i < reps; ++i) {
        const auto t0 = clock_type::now();
        f();
        t.push_back(1e3 * seconds_between(t0, clock_type::now()));
    }
    return median(t);
}

phase_result timed_loop(const options& o, const std::function<void()>& step) {
    std::vector<double> per_step;
    const auto start = clock_type::now();
    auto last = start;
    for (std::size_t i = 0;; ++i) {
        if (o.seconds > 0 ? seconds_between(start, last) >= o.seconds && i > 0 : i >= o.steps) break;
        step();
        const auto now = clock_type::now();
        per_step.push_back(seconds_between(last, now));
        last = now;
    }
    phase_result r;
    r.steps = per_step.size();
    r.seconds = seconds_between(start, last);
    r.images_per_second = double(o.batch * r.steps) / r.seconds;
    const double med = median(per_step);
    r.median_step_ms = 1e3 * med;
    r.median_images_per_second = double(o.batch) / med;
    return r;
}


std::size_t status_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    return 0;
}

}  // namespace typenet::cli::bench_tool
