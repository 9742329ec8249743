#include "typenet/train/report.hpp"

#include "typenet/train/escape.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace typenet::train {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& file, const std::string& text) {
    const fs::path tmp = file.string() + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(tmp.string() + ": cannot create");
        out << text;
        out.flush();
        if (!out) throw std::runtime_error(tmp.string() + ": write failed");
    }
    std::error_code ec;
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw std::runtime_error(file.string() + ": cannot replace: " + ec.message());
    }
}

void append_line(const fs::path& file, const std::string& line) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(file.string() + ": cannot open for appending: " + std::strerror(errno));
    const std::string text = line + "\n";
    const ssize_t n = ::write(fd, text.data(), text.size());  // one write call for the whole line
    const int write_errno = errno;
    if (::close(fd) != 0 || n != ssize_t(text.size()))
        throw std::runtime_error(file.string() + ": write failed: " +
                                 (n < 0 ? std::strerror(write_errno) : "short write (disk full?)"));
}

namespace {
std::string num(double v, const char* f = "%.6g") {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}
}  // namespace

void write_metrics(const fs::path& dir, const std::vector<epoch_metrics>& rows) {
    std::string csv = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged,val_loss,val_accuracy\n";
    std::string jsonl;
    for (const auto& r : rows) {
        csv += std::to_string(r.epoch) + "," + num(r.train_loss, "%.9g") + "," + num(r.train_accuracy, "%.9g") + "," +
               num(r.test_loss, "%.9g") + "," + num(r.test_accuracy, "%.9g") + "," + num(r.grad_norm, "%.9g") + "," +
               num(r.lr, "%.9g") + "," + num(r.seconds, "%.3f") + "," + num(r.images_per_second, "%.1f") + "," +
               (r.diverged ? "1" : "0") + "," + num(r.val_loss, "%.9g") + "," + num(r.val_accuracy, "%.9g") + "\n";
        nlohmann::ordered_json j;  // non-finite numbers become null, which JSON has no other way to say
        j["epoch"] = r.epoch;
        for (const auto& [key, v] : {std::pair{"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
                                      {"test_loss", r.test_loss}, {"test_accuracy", r.test_accuracy},
                                      {"grad_norm", r.grad_norm}, {"lr", r.lr}, {"seconds", r.seconds},
                                      {"images_per_second", r.images_per_second}})
            j[key] = v;
        j["diverged"] = r.diverged;
        j["val_loss"] = r.val_loss;
        j["val_accuracy"] = r.val_accuracy;
        jsonl += j.dump() + "\n";
    }
    write_file_atomic(dir / "metrics.csv", csv);
    write_file_atomic(dir / "metrics.jsonl", jsonl);
}

namespace {

const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

struct series {
    std::string label, colour;
    bool dashed;
    std::vector<std::pair<double, double>> points;  // (epoch, value); non-finite values are skipped
    bool markers = true;   // a dot at every point (not for per-step curves of thousands)
    double width = 2, opacity = 1;
    bool legend = true;    // an entry in the legend
    std::vector<std::array<double, 3>> band{};  // (x, low, high): a shaded range drawn under the line
};

// A tick step of 1, 2 or 5 times a power of ten giving about `target` intervals over [lo, hi]
// (whole numbers at least when `whole`: epochs), so the labels read 0, 0.5, 1 ... not 0.458.
double tick_step(double lo, double hi, int target, bool whole) {
    const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * mag;
    for (double m : {1.0, 2.0, 5.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    return whole ? std::max(1.0, std::round(step)) : step;
}

// A diverged run's values (NaN, inf) cannot be drawn: its legend entry says where they begin.
std::string note(const series& se, const std::string& xlabel, bool log_x) {
    for (auto [x, y] : se.points)
        if (!std::isfinite(y))  // log_x: x holds log10 of the value
            return " (not finite from " + xlabel + " " + num(log_x ? std::pow(10.0, x) : x, "%.6g") + ")";
    return std::string();
}

// The legend's columns under a panel of width w: each entry a 25-pixel line and its text (about
// 6.2 pixels a character at font size 11).
struct legend_layout {
    std::size_t columns, rows;
    double column_width;
};
// The series with a legend entry, in order.
std::vector<const series*> listed(const std::vector<series>& all) {
    std::vector<const series*> l;
    for (const auto& se : all)
        if (se.legend) l.push_back(&se);
    return l;
}
legend_layout layout(const std::vector<const series*>& entries, const std::string& xlabel, bool log_x, double w) {
    std::size_t widest = 0;
    for (const series* se : entries) widest = std::max(widest, se->label.size() + note(*se, xlabel, log_x).size());
    const double cw = 45 + 6.2 * double(widest);
    const std::size_t cols = std::max<std::size_t>(1, std::min<std::size_t>(entries.size(), std::size_t((w - 20) / cw)));
    return {cols, (entries.size() + cols - 1) / cols, cw};
}

// The height the legend adds below a panel.
double legend_height(const std::vector<series>& all, double w, const std::string& xlabel = "epoch", bool log_x = false) {
    const auto entries = listed(all);
    return entries.empty() ? 0.0 : 15.0 * double(layout(entries, xlabel, log_x, w).rows) + 10;
}

// One panel of height h with axes, ticks and the series as polylines, and its legend below
// (legend_height more).
// clip_outliers: a diverging run can log a loss of 1e13 in one epoch; the axis then stops at
// 3x the median of the values and points above it are drawn on the top edge as open circles.
std::string panel(double x0, double y0, double w, double h, const std::string& title, const std::string& ylabel,
                  const std::vector<series>& all, bool from_zero, bool clip_outliers = false,
                  const std::string& xlabel = "epoch", bool log_x = false) {
    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
    std::vector<double> values;
    bool whole_x = true;  // epochs, batch sizes: ticks at whole numbers only
    for (const auto& s : all) {
        for (auto [x, y] : s.points) {
            xmin = std::min(xmin, x), xmax = std::max(xmax, x);  // the x axis spans the points not drawn too
            whole_x = whole_x && x == std::floor(x);
            if (!std::isfinite(y)) continue;
            values.push_back(y);
            ymin = std::min(ymin, y), ymax = std::max(ymax, y);
        }
        for (const auto& [x, lo, hi] : s.band) {
            xmin = std::min(xmin, x), xmax = std::max(xmax, x);
            for (const double y : {lo, hi})
                if (std::isfinite(y)) ymin = std::min(ymin, y), ymax = std::max(ymax, y), values.push_back(y);
        }
    }
    bool clipped = false;
    if (clip_outliers && !values.empty()) {
        // the lower median: with two values (one epoch's train and test loss) a blow-up cannot set its own cap
        const std::size_t mid = (values.size() - 1) / 2;
        std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(mid), values.end());
        const double cap = 3.0 * std::abs(values[mid]);
        if (cap > 0 && ymax > cap) {
            ymax = cap;
            clipped = true;
        }
    }
    if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
    if (!std::isfinite(ymin)) ymin = 0, ymax = 1;  // no finite value at all
    if (from_zero) ymin = std::min(ymin, 0.0);
    // a single x (one epoch, one swept value) in the middle of the axis; a flat series in the
    // lower half (the width relative to the value: 1e17 + 1 is 1e17 in doubles)
    if (xmax - xmin < 1e-9 * std::max(1.0, std::abs(xmin))) {
        const double half = std::max(0.5, 1e-6 * std::abs(xmin));
        xmin -= half, xmax += half;
    }
    if (ymax - ymin < 1e-9 * std::max(1.0, std::abs(ymin))) ymax = ymin + std::max(1.0, 1e-6 * std::abs(ymin));
    // the y axis widened to whole ticks: the step chosen from the data's range, then the ends
    // moved out to the nearest ticks (a highest point on a tick sits on the top edge)
    const double ystep = tick_step(ymin, ymax, 5, false);
    ymax = std::ceil(ymax / ystep - 1e-9) * ystep;
    ymin = std::floor(ymin / ystep + 1e-9) * ystep;
    // x keeps the data's range (the first epoch at the left edge), ticks at its round values,
    // whole ones when every x is whole (a swept momentum is not)
    const double xstep = tick_step(xmin, xmax, 6, whole_x && !log_x);
    const double L = x0 + 60, R = x0 + w - 10, T = y0 + 30, B = y0 + h - 40;
    auto X = [&](double x) { return L + (x - xmin) / (xmax - xmin) * (R - L); };
    auto Y = [&](double y) { return B - (std::min(y, ymax) - ymin) / (ymax - ymin) * (B - T); };
    std::string s;
    s += "<text x='" + num(x0 + w / 2) + "' y='" + num(y0 + 18) + "' text-anchor='middle' font-size='14'>" + xml_escape(title) + "</text>\n";
    s += "<rect x='" + num(L) + "' y='" + num(T) + "' width='" + num(R - L) + "' height='" + num(B - T) +
         "' fill='none' stroke='#444'/>\n";
    for (long i = 0; i <= 20 && ymin + double(i) * ystep <= ymax + 1e-9 * ystep; ++i) {
        const double yv = ymin + double(i) * ystep;
        s += "<line x1='" + num(L) + "' x2='" + num(R) + "' y1='" + num(Y(yv)) + "' y2='" + num(Y(yv)) +
             "' stroke='#ddd'/>\n";
        s += "<text x='" + num(L - 5) + "' y='" + num(Y(yv) + 4) + "' text-anchor='end' font-size='11'>" +
             num(std::abs(yv) < 1e-9 * ystep ? 0.0 : yv, "%.4g") + "</text>\n";
    }
    if (!log_x) {
        const double first = std::ceil(xmin / xstep - 1e-9);
        for (long i = 0; i <= 20 && (first + double(i)) * xstep <= xmax + 1e-9 * xstep; ++i) {
            const double xv = (first + double(i)) * xstep;
            s += "<text x='" + num(X(xv)) + "' y='" + num(B + 15) + "' text-anchor='middle' font-size='11'>" +
                 num(std::abs(xv) < 1e-9 * xstep ? 0.0 : xv, "%.4g") + "</text>\n";
        }
    }
    if (log_x) {  // x holds log10 of the value: a tick at every point's x, labelled with the value
        std::vector<double> xs;
        for (const auto& se : all)
            for (auto [x, y] : se.points) xs.push_back(x);
        std::sort(xs.begin(), xs.end());
        xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
        for (double xv : xs)
            s += "<text x='" + num(X(xv)) + "' y='" + num(B + 15) + "' text-anchor='middle' font-size='11'>" +
                 num(std::pow(10.0, xv), "%.3g") + "</text>\n";
    }
    s += "<text x='" + num((L + R) / 2) + "' y='" + num(B + 32) + "' text-anchor='middle' font-size='12'>" +
         xml_escape(xlabel) + (log_x ? " (log scale)" : "") + "</text>\n";
    s += "<text x='" + num(x0 + 14) + "' y='" + num((T + B) / 2) + "' text-anchor='middle' font-size='12' transform='rotate(-90 " +
         num(x0 + 14) + " " + num((T + B) / 2) + ")'>" + xml_escape(ylabel) + "</text>\n";
    const bool circles = std::any_of(all.begin(), all.end(), [](const series& se) { return se.markers; });
    if (clipped)
        s += "<text x='" + num(L + 5) + "' y='" + num(T + 12) + "' font-size='10' fill='#555'>" +
             (circles ? "open circles: off scale (above " : "off scale above the top edge (above ") + num(ymax, "%.3g") +
             ")</text>\n";
    for (const auto& se : all) {  // the bands first, under every line
        std::string lo, hi;
        for (const auto& [x, l, h] : se.band)
            if (std::isfinite(l) && std::isfinite(h)) {
                lo += num(X(x)) + "," + num(Y(std::max(l, ymin))) + " ";
                hi = num(X(x)) + "," + num(Y(std::max(h, ymin))) + " " + hi;
            }
        if (!lo.empty())
            s += "<polygon fill='" + se.colour + "' fill-opacity='0.2' stroke='none' points='" + lo + hi + "'/>\n";
    }
    for (const auto& se : all) {
        std::vector<std::pair<double, double>> pixels;
        for (auto [x, y] : se.points)
            if (std::isfinite(y)) pixels.emplace_back(X(x), Y(y));
        std::string pts;
        for (auto [x, y] : thin_to_pixel_columns(pixels)) pts += num(x, "%.1f") + "," + num(y, "%.1f") + " ";  // a tenth of a pixel
        const std::string dash = se.dashed ? " stroke-dasharray='5,4'" : "";
        s += "<polyline fill='none' stroke='" + se.colour + "' stroke-width='" + num(se.width) + "'" +
             (se.opacity < 1 ? " stroke-opacity='" + num(se.opacity) + "'" : std::string()) + dash + " points='" + pts + "'/>\n";
        if (!se.markers) continue;
        for (auto [x, y] : se.points)
            if (std::isfinite(y))
                s += "<circle cx='" + num(X(x)) + "' cy='" + num(Y(y)) + "' r='" + (y > ymax ? "4' fill='white' stroke='" : "2.5' fill='") +
                     se.colour + "'/>\n";
    }
    // The legend below the panel, in as many columns as fit, so it never covers a curve.
    const auto entries = listed(all);
    const legend_layout lay = layout(entries, xlabel, log_x, w);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& se = *entries[i];
        const double lx = x0 + 20 + lay.column_width * double(i % lay.columns),
                     ly = y0 + h + 14 + 15 * double(i / lay.columns);
        s += "<line x1='" + num(lx) + "' x2='" + num(lx + 25) + "' y1='" + num(ly - 4) + "' y2='" + num(ly - 4) +
             "' stroke='" + se.colour + "' stroke-width='2'" + (se.dashed ? " stroke-dasharray='5,4'" : "") + "/>\n";
        s += "<text x='" + num(lx + 30) + "' y='" + num(ly) + "' font-size='11'>" + xml_escape(se.label + note(se, xlabel, log_x)) +
             "</text>\n";
    }
    return s;
}

std::string document(double w, double h, const std::string& title, const std::string& body) {
    return "<svg xmlns='http://www.w3.org/2000/svg' width='" + num(w) + "' height='" + num(h) + "' viewBox='0 0 " +
           num(w) + " " + num(h) + "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n" +
           "<title>" + xml_escape(title) + "</title>\n" + body + "</svg>\n";
}

series make(const std::string& label, const std::string& colour, bool dashed, const std::vector<epoch_metrics>& rows,
            double epoch_metrics::*field, double scale = 1.0) {
    series s{label, colour, dashed, {}};
    for (const auto& r : rows) s.points.emplace_back(double(r.epoch), r.*field * scale);
    return s;
}

}  // namespace

std::string curves_svg(const std::vector<epoch_metrics>& rows, const std::string& title) {
    std::vector<series> loss{make("train loss", palette[0], true, rows, &epoch_metrics::train_loss),
                             make("test loss", palette[1], false, rows, &epoch_metrics::test_loss)};
    std::vector<series> acc{make("train accuracy %", palette[0], true, rows, &epoch_metrics::train_accuracy, 100),
                            make("test accuracy %", palette[1], false, rows, &epoch_metrics::test_accuracy, 100)};
    if (std::any_of(rows.begin(), rows.end(), [](const epoch_metrics& r) { return std::isfinite(r.val_accuracy); })) {
        loss.push_back(make("validation loss", palette[2], false, rows, &epoch_metrics::val_loss));
        acc.push_back(make("validation accuracy %", palette[2], false, rows, &epoch_metrics::val_accuracy, 100));
    }
    const double lh = std::max(legend_height(loss, 450), legend_height(acc, 450));
    return document(900, 360 + lh, title,
                    panel(0, 0, 450, 360, title + ": loss", "loss", loss, true, true) +
                        panel(450, 0, 450, 360, title + ": accuracy", "accuracy %", acc, true));
}

std::string overlay_svg(const std::vector<labelled_run>& runs, const std::string& title) {
    std::vector<series> loss, acc;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const char* c = palette[i % (sizeof palette / sizeof *palette)];
        loss.push_back(make(runs[i].label + " train", c, true, runs[i].rows, &epoch_metrics::train_loss));
        loss.push_back(make(runs[i].label + " test", c, false, runs[i].rows, &epoch_metrics::test_loss));
        acc.push_back(make(runs[i].label + " test", c, false, runs[i].rows, &epoch_metrics::test_accuracy, 100));
    }
    const double lh = std::max(legend_height(loss, 500), legend_height(acc, 500));
    return document(1000, 400 + lh, title,
                    panel(0, 0, 500, 400, title + ": loss", "loss", loss, true, true) +
                        panel(500, 0, 500, 400, title + ": test accuracy", "accuracy %", acc, true));
}

std::string sweep_svg(const std::vector<sweep_run>& runs, const std::string& title, const std::string& xlabel,
                      bool log_x) {
    std::vector<std::string> labels;
    for (const auto& r : runs)
        if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
    std::vector<series> acc, loss;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const char* c = palette[i % (sizeof palette / sizeof *palette)];
        std::vector<std::pair<double, double>> a, l;
        for (const auto& r : runs) {
            if (r.label != labels[i] || r.rows.empty()) continue;
            if (log_x && !(r.x > 0)) throw std::runtime_error("a log-scale sweep needs x > 0, got " + num(r.x, "%g"));
            const double x = log_x ? std::log10(r.x) : r.x;
            a.emplace_back(x, 100 * r.rows.back().test_accuracy);
            l.emplace_back(x, r.rows.back().train_loss);
        }
        std::sort(a.begin(), a.end());
        std::sort(l.begin(), l.end());
        acc.push_back({labels[i], c, false, a});
        loss.push_back({labels[i], c, true, l});
    }
    const double lh = std::max(legend_height(acc, 500, xlabel, log_x), legend_height(loss, 500, xlabel, log_x));
    return document(1000, 400 + lh, title,
                    panel(0, 0, 500, 400, title + ": final test accuracy", "accuracy %", acc, true, false, xlabel, log_x) +
                        panel(500, 0, 500, 400, title + ": final train loss", "loss", loss, true, true, xlabel, log_x));
}

std::vector<std::pair<double, double>> thin_to_pixel_columns(const std::vector<std::pair<double, double>>& pixels) {
    std::vector<std::pair<double, double>> out;
    for (std::size_t begin = 0, end; begin < pixels.size(); begin = end) {
        std::size_t lo = begin, hi = begin;
        for (end = begin + 1; end < pixels.size() && std::floor(pixels[end].first) == std::floor(pixels[begin].first); ++end) {
            if (pixels[end].second < pixels[lo].second) lo = end;
            if (pixels[end].second > pixels[hi].second) hi = end;
        }
        std::size_t keep[] = {begin, lo, hi, end - 1};
        std::sort(std::begin(keep), std::end(keep));
        for (std::size_t k = 0; k < 4; ++k)
            if (k == 0 || keep[k] != keep[k - 1]) out.push_back(pixels[keep[k]]);
    }
    return out;
}

std::vector<double> moving_average(const std::vector<double>& v, std::size_t window) {
    const std::size_t half = window / 2;
    std::vector<double> out(v.size(), std::numeric_limits<double>::quiet_NaN());
    for (std::size_t i = 0; i < v.size(); ++i) {
        double sum = 0;
        std::size_t n = 0;
        for (std::size_t j = i > half ? i - half : 0; j < v.size() && j <= i + half; ++j)
            if (std::isfinite(v[j])) sum += v[j], ++n;
        if (n) out[i] = sum / double(n);
    }
    return out;
}

namespace {
std::vector<double> column_of(const step_table& t, const std::string& name) {
    const std::size_t c = t.column(name);
    std::vector<double> v;
    for (const auto& r : t.rows) v.push_back(r[c]);
    return v;
}
std::vector<std::pair<double, double>> against_step(const step_table& t, const std::vector<double>& y, double scale = 1) {
    std::vector<std::pair<double, double>> p;
    for (std::size_t i = 0; i < t.rows.size(); ++i) p.emplace_back(t.rows[i][0], y[i] * scale);
    return p;
}
}  // namespace

double loss_oscillation(const step_table& steps, std::size_t window) {
    if (steps.rows.empty()) return std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> loss = column_of(steps, "loss"), avg = moving_average(loss, window);
    const std::size_t e = steps.column("epoch");
    const double last = steps.rows.back()[e];
    double sum = 0, sum2 = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < loss.size(); ++i)
        if (steps.rows[i][e] == last && std::isfinite(loss[i]) && std::isfinite(avg[i])) {
            const double d = loss[i] - avg[i];
            sum += d, sum2 += d * d, ++n;
        }
    if (n == 0) return std::numeric_limits<double>::quiet_NaN();
    const double mean = sum / double(n);
    return std::sqrt(std::max(0.0, sum2 / double(n) - mean * mean));
}

std::string steps_svg(const std::vector<step_run>& runs, const std::string& title, std::size_t smooth) {
    std::vector<series> loss, acc, norm;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const char* c = palette[i % (sizeof palette / sizeof *palette)];
        const step_table& t = runs[i].table;
        const std::vector<double> l = column_of(t, "loss");
        series raw{runs[i].label, c, false, against_step(t, l), false, 1, 0.3, false};
        loss.push_back(raw);
        loss.push_back({runs[i].label, c, false, against_step(t, moving_average(l, smooth)), false, 2});
        acc.push_back({runs[i].label, c, false, against_step(t, moving_average(column_of(t, "accuracy"), smooth), 100), false, 2});
        norm.push_back({runs[i].label, c, false, against_step(t, moving_average(column_of(t, "grad_norm"), smooth)), false, 2});
    }
    const std::string avg = "moving average of " + std::to_string(smooth) + " rows";
    const double lh = std::max(legend_height(loss, 450, "step"), legend_height(acc, 450, "step"));
    return document(1350, 400 + lh, title,
                    panel(0, 0, 450, 400, title + ": batch loss", "loss (faint: each row; bold: " + avg + ")", loss,
                          true, true, "step") +
                        panel(450, 0, 450, 400, title + ": batch accuracy", "accuracy % (" + avg + ")", acc, true, false, "step") +
                        panel(900, 0, 450, 400, title + ": gradient norm", "||g|| (" + avg + ")", norm, true, true, "step"));
}

std::string landscape_svg(const std::vector<step_run>& runs, const std::string& title, landscape_quantity what) {
    struct chart {
        const char *name, *line, *low, *high, *ylabel;
    };
    static const chart charts[] = {  // in the order of landscape_quantity
        {"variation of the loss", "loss", "loss_min", "loss_max", "loss along the gradient (line: at theta)"},
        {"gradient predictiveness", "grad_change_max", "grad_change_min", "grad_change_max",
         "||g(theta - eta g) - g|| (line: max)"},
        {"effective beta-smoothness", "beta_max", "beta_min", "beta_max", "||g(theta - eta g) - g|| / ||eta g|| (line: max)"}};
    const chart& c = charts[std::size_t(what)];
    std::vector<series> all;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const step_table& t = runs[i].table;
        series se{runs[i].label, palette[i % (sizeof palette / sizeof *palette)], false, against_step(t, column_of(t, c.line)),
                  false, 2};
        const std::vector<double> lo = column_of(t, c.low), hi = column_of(t, c.high);
        for (std::size_t r = 0; r < t.rows.size(); ++r) se.band.push_back({t.rows[r][0], lo[r], hi[r]});
        all.push_back(std::move(se));
    }
    return document(900, 450 + legend_height(all, 900, "step"), title,
                    panel(0, 0, 900, 450, title + ": " + c.name + " (shaded: range over the step sizes)", c.ylabel, all,
                          what != landscape_quantity::loss, true, "step"));
}

}  // namespace typenet::train
