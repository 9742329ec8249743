// The per-step chart (typenet-plot --steps) on a long run: a few points per pixel column, the
// extremes kept; and the loss oscillation it prints.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

#include "typenet/train/report.hpp"

using namespace typenet::train;

namespace {
// A steps.csv of n rows, 10 epochs; loss 1 + 0.5 sin(i), one spike of 9 at row `spike`.
step_table long_run(std::size_t n, std::size_t spike) {
    step_table t;
    t.columns = {"step", "epoch", "epoch_step", "loss", "accuracy", "grad_norm", "lr"};
    for (std::size_t i = 0; i < n; ++i) {
        const double loss = i == spike ? 9.0 : 1.0 + 0.5 * std::sin(double(i));
        t.rows.push_back({double(i + 1), double(i * 10 / n + 1), double(i % (n / 10) + 1), loss, 0.5, 1.0, 0.1});
    }
    return t;
}
// The (x, y) pairs of every polyline of an SVG, in order.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
    std::vector<std::vector<std::pair<double, double>>> all;
    for (std::size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) {
        const std::size_t b = svg.find("points='", at) + 8, e = svg.find('\'', b);
        std::istringstream in(svg.substr(b, e - b));
        std::vector<std::pair<double, double>> pts;
        double x, y;
        char comma;
        while (in >> x >> comma >> y) pts.emplace_back(x, y);
        all.push_back(std::move(pts));
    }
    return all;
}
// The first panel's frame, the first <rect> with an x (the picture's background has none), which
// must be unfilled: its top y and its width, so that the checks below follow the chart's layout
// instead of repeating its numbers.
std::pair<double, double> first_frame(const std::string& svg) {
    const std::size_t at = svg.find("<rect x='");
    REQUIRE(at != std::string::npos);
    auto attr = [&](const std::string& name) {
        const std::size_t b = svg.find(" " + name + "='", at) + name.size() + 3;
        return std::stod(svg.substr(b, svg.find('\'', b) - b));
    };
    REQUIRE(svg.substr(at, svg.find('>', at) - at).find("fill='none'") != std::string::npos);
    return {attr("y"), attr("width")};
}
}  // namespace

TEST_CASE("thinning a line to pixel columns keeps each column's first, lowest, highest and last point, in order") {
    // A random walk, 0.07 pixels a point, with runs of equal y and a column of one point.
    std::vector<std::pair<double, double>> line;
    std::uint64_t s = 12345;
    double y = 200;
    for (std::size_t i = 0; i < 3000; ++i) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        if (i % 50 >= 5) y += double(s >> 40) / double(1ull << 24) - 0.5;  // five equal values in every 50
        line.emplace_back(10 + 0.07 * double(i) + (i == 1500 ? 0.5 : 0.0), y);
    }
    line.emplace_back(400.5, 3.0);  // alone in its column
    const auto kept = thin_to_pixel_columns(line);
    // Brute force: per run of one column, the indices of the first, a lowest, a highest and the last.
    std::size_t at = 0;  // the next kept point
    for (std::size_t begin = 0, end; begin < line.size(); begin = end) {
        for (end = begin; end < line.size() && std::floor(line[end].first) == std::floor(line[begin].first); ++end) {}
        double lo = line[begin].second, hi = lo;
        for (std::size_t i = begin; i < end; ++i) lo = std::min(lo, line[i].second), hi = std::max(hi, line[i].second);
        std::vector<std::pair<double, double>> column;
        while (at < kept.size() && std::floor(kept[at].first) == std::floor(line[begin].first)) column.push_back(kept[at++]);
        REQUIRE(!column.empty());
        CHECK(column.size() <= 4);
        CHECK(column.front() == line[begin]);
        CHECK(column.back() == line[end - 1]);
        double klo = column[0].second, khi = klo;
        for (const auto& p : column) klo = std::min(klo, p.second), khi = std::max(khi, p.second);
        CHECK(klo == lo);
        CHECK(khi == hi);
        // in their order: each kept point is a point of the run, after the one before it
        std::size_t from = begin;
        for (const auto& p : column) {
            while (from < end && line[from] != p) ++from;
            CHECK(from < end);
            ++from;
        }
    }
    CHECK(at == kept.size());
    CHECK(kept.size() < line.size() / 3);
    CHECK(thin_to_pixel_columns({}).empty());
    CHECK(thin_to_pixel_columns({{5.5, 1.0}}) == std::vector<std::pair<double, double>>{{5.5, 1.0}});
}

TEST_CASE("the per-step chart keeps at most four points per pixel column of a long run, its spike among them") {
    const std::string svg = steps_svg({{"run", long_run(4000, 2345)}}, "t", 25);
    const auto lines = polylines(svg);
    const auto [frame_top, width] = first_frame(svg);
    REQUIRE(width > 100);
    REQUIRE(width < 1000);  // far fewer columns than the run's 4,000 rows
    REQUIRE(lines.size() == 4);  // raw loss, smoothed loss, accuracy, gradient norm
    for (const auto& pts : lines) {
        REQUIRE(double(pts.size()) >= width);        // every pixel column of the plot has a point
        CHECK(double(pts.size()) <= 4 * (width + 2));  // and at most four: not 4,000
        for (std::size_t i = 1; i < pts.size(); ++i) CHECK(pts[i].first >= pts[i - 1].first);
    }
    // The raw loss's spike is off scale (above 3x the median): drawn on the panel's top edge.
    double top = 1e9;
    for (const auto& [x, y] : lines[0]) top = std::min(top, y);
    CHECK(top == frame_top);
    // Ten rows of a sine a column: its lowest and highest are kept beside the first and last,
    // where one point a column would draw a flat line.
    CHECK(double(lines[0].size()) > 3 * width);
}

TEST_CASE("the loss oscillation is the spread of the last epoch's loss around its moving average") {
    step_table t = long_run(400, 1000);  // no spike; 40 rows an epoch
    for (auto& r : t.rows) r[3] = 1.0;
    CHECK(loss_oscillation(t, 25) == 0.0);
    for (std::size_t i = 360; i < 400; ++i) t.rows[i][3] = i % 2 ? 1.2 : 0.8;  // +-0.2 around 1 in epoch 10
    const double last = loss_oscillation(t, 25);
    CHECK(last == Approx(0.2).margin(0.02));
    // earlier epochs do not count (rows out of reach of the last epoch's averages: 12 a side)
    for (std::size_t i = 0; i < 340; ++i) t.rows[i][3] = i % 2 ? 5.0 : -3.0;
    CHECK(loss_oscillation(t, 25) == last);
}
