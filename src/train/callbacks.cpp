// The callbacks of callbacks.hpp and fit's history text (fit.hpp).
#include "typenet/callbacks.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "typenet/train/report.hpp"  // write_file_atomic, append_line
#include "typenet/train/step_table.hpp"

#include "text_numbers.hpp"

namespace typenet {

// ---- history as text -------------------------------------------------------------------------
std::string history_to_text(const std::vector<epoch_log>& rows) {
    std::ostringstream s;
    s.precision(17);
    for (const auto& r : rows) {
        s << r.epoch << ' ' << r.steps << ' ' << r.train_loss << ' ' << r.train_accuracy << ' ' << r.grad_norm << ' '
          << r.lr << ' ' << r.seconds << ' ' << r.images_per_second << ' ' << r.wait_seconds << ' ' << r.diverged << ' '
          << r.complete << ' ' << r.validation.has_value();
        if (r.validation)
            s << ' ' << r.validation->loss << ' ' << r.validation->accuracy << ' ' << r.validation->correct << ' '
              << r.validation->samples;
        s << '\n';
    }
    return s.str();
}

namespace {
// The whitespace-separated numbers of one line of fit's checkpoint text; `where` starts every
// error message.
class field_reader {
public:
    field_reader(const std::string& line, std::string where) : s_(line), where_(std::move(where)) {}
    io::checkpoint_error bad(const std::string& what) const { return io::checkpoint_error(where_ + what); }
    double num() {
        return train::detail::number_or_throw<io::checkpoint_error>(word(), where_);
    }
    std::size_t whole() {
        const std::string t = word();
        const auto n = train::detail::whole_count(t);
        if (!n) throw bad("'" + t + "' is not a whole number from 0 to 2^53");
        return std::size_t(*n);
    }
    bool flag() {
        const std::size_t d = whole();
        if (d > 1) throw bad("a flag is not 0 or 1");
        return d == 1;
    }
    void end() {
        std::string extra;
        if (s_ >> extra) throw bad("unexpected '" + extra + "' at the end of the row");
    }

private:
    std::string word() {
        std::string t;
        if (!(s_ >> t)) throw bad("the row ends early");
        return t;
    }
    std::istringstream s_;
    std::string where_;
};
}  // namespace

std::vector<epoch_log> history_from_text(const std::string& text) {
    std::vector<epoch_log> rows;
    std::istringstream lines(text);
    std::string line;
    std::size_t number = 0;
    while (std::getline(lines, line)) {
        field_reader f(line, "fit history, line " + std::to_string(++number) + ": ");
        epoch_log r;
        r.epoch = f.whole(), r.steps = f.whole();
        r.train_loss = f.num(), r.train_accuracy = f.num(), r.grad_norm = f.num(), r.lr = f.num(), r.seconds = f.num();
        r.images_per_second = f.num(), r.wait_seconds = f.num();
        r.diverged = f.flag(), r.complete = f.flag();
        if (f.flag()) {
            evaluation e;
            e.loss = f.num(), e.accuracy = f.num(), e.correct = f.whole(), e.samples = f.whole();
            r.validation = e;
        }
        f.end();
        rows.push_back(r);
    }
    return rows;
}

std::size_t count_from_text(const std::string& text, const std::string& file, const std::string& key) {
    const auto n = train::detail::whole_count(text);
    if (!n) throw io::checkpoint_error(file + ": " + key + " '" + text + "' is not a whole number from 0 to 2^53");
    return std::size_t(*n);
}

// ---- the epoch in progress -------------------------------------------------------------------
std::string fit_progress::to_text() const {
    std::ostringstream s;
    s.precision(17);
    s << epoch << ' ' << batches << ' ' << steps << ' ' << correct << ' ' << seen << ' ' << lr << ' ' << loss_sum << ' '
      << norm_sum << ' ' << seconds << ' ' << wait << ' ' << diverged;
    return s.str();
}

fit_progress fit_progress::from_text(const std::string& text, const std::string& file) {
    field_reader f(text, file + ": fit.partial '" + text + "': ");
    fit_progress p;
    p.active = true;
    p.epoch = f.whole(), p.batches = f.whole(), p.steps = f.whole(), p.correct = f.whole(), p.seen = f.whole();
    p.lr = f.num(), p.loss_sum = f.num(), p.norm_sum = f.num(), p.seconds = f.num(), p.wait = f.num();
    p.diverged = f.flag();
    f.end();
    if (p.steps != p.batches || p.correct > p.seen) throw f.bad("its counts disagree");
    return p;
}

// ---- monitoring ------------------------------------------------------------------------------
double monitored_value(const epoch_log& e, monitor m) {
    if (!e.validation) return e.train_loss;
    switch (m) {
        case monitor::val_accuracy: return e.validation->accuracy;
        case monitor::val_loss: return e.validation->loss;
        case monitor::train_loss: return e.train_loss;
    }
    return e.train_loss;
}


bool improves(double value, double best, monitor m, double min_delta) {
    if (!std::isfinite(value)) return false;
    if (std::isnan(best)) return true;
    return m == monitor::val_accuracy ? value > best + min_delta : value < best - min_delta;
}

const char* monitor_name(monitor m) {
    switch (m) {
        case monitor::val_accuracy: return "validation accuracy";
        case monitor::val_loss: return "validation loss";
        case monitor::train_loss: return "training loss";
    }
    return "?";
}

// With no validation source every monitor falls back to the training loss (lower is better).
static monitor effective(const epoch_log& e, monitor m) { return e.validation ? m : monitor::train_loss; }

// ---- progress_bar ----------------------------------------------------------------------------
namespace {
std::string duration_text(double s) {
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
    else std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
    return buf;
}
}  // namespace

void progress_bar::on_step_end(fit_context& ctx, const step_log& s) {
    const double ips = s.seconds > 0 ? double(s.seen) / s.seconds : 0;
    const double eta = double(s.steps - s.step) * s.seconds / double(s.step);
    const std::size_t filled = width_ * s.step / s.steps;
    char buf[160];
    std::snprintf(buf, sizeof buf, "] %zu/%zu loss %.4f %.0f img/s ETA %s   ", s.step, s.steps, s.mean_loss, ips,
                  duration_text(eta).c_str());
    out_ << "\repoch " << s.epoch << '/' << ctx.options.epochs << " [" << std::string(filled, '#')
         << std::string(width_ - filled, '.') << buf << std::flush;
    drawn_ = true;
}

void progress_bar::on_epoch_end(fit_context& ctx, const epoch_log& e) {
    if (drawn_) out_ << '\r' << std::string(width_ + 76, ' ') << '\r';
    drawn_ = false;
    if (!summary_) return;
    char buf[320];
    int n = std::snprintf(buf, sizeof buf, "epoch %zu/%zu: train loss %.4f acc %.2f%%", e.epoch, ctx.options.epochs,
                          e.train_loss, 100 * e.train_accuracy);
    if (e.validation)
        n += std::snprintf(buf + n, sizeof buf - std::size_t(n), " | val loss %.4f acc %.2f%%", e.validation->loss,
                           100 * e.validation->accuracy);
    std::snprintf(buf + n, sizeof buf - std::size_t(n), " | grad norm %.3g | lr %.4g | %.1f s, %.0f img/s%s%s",
                  e.grad_norm, e.lr, e.seconds, e.images_per_second, e.diverged ? " (diverged)" : "",
                  e.complete ? "" : " (stopped early)");
    out_ << buf << '\n' << std::flush;
}

// ---- loggers ---------------------------------------------------------------------------------
namespace {
std::string number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}
}  // namespace

std::string csv_logger::header() {
    return "epoch,steps,train_loss,train_accuracy,val_loss,val_accuracy,grad_norm,lr,seconds,images_per_second,"
           "wait_seconds,diverged,complete";
}

std::string csv_logger::row(const epoch_log& e) {
    std::string r = std::to_string(e.epoch) + ',' + std::to_string(e.steps) + ',' + number(e.train_loss) + ',' +
                    number(e.train_accuracy) + ',';
    r += e.validation ? number(e.validation->loss) + ',' + number(e.validation->accuracy) : std::string(",");
    r += ',' + number(e.grad_norm) + ',' + number(e.lr) + ',' + number(e.seconds) + ',' + number(e.images_per_second) +
         ',' + number(e.wait_seconds) + ',' + (e.diverged ? '1' : '0') + ',' + (e.complete ? '1' : '0');
    return r;
}

void csv_logger::on_epoch_end(fit_context& ctx, const epoch_log&) {
    std::string text = header() + '\n';
    for (const auto& e : ctx.history) text += row(e) + '\n';
    train::write_file_atomic(file_, text);
}

// ---- per-step files ----------------------------------------------------------------------------
void step_file_logger::on_train_begin(fit_context& ctx) {
    namespace fs = std::filesystem;
    if (ctx.global_step == 0 || !fs::exists(file_)) {  // a new run (or one that had no such file)
        train::write_file_atomic(file_, header_ + '\n');
        return;
    }
    // A resumed run: the rows of the steps its checkpoint holds stay, the rest go (they are
    // trained again from here). A file that is not ours stops the run before anything changes.
    const train::step_table t = train::read_step_table(file_, header_);
    std::string text = header_ + '\n';
    for (std::size_t i = 0; i < t.rows.size() && t.rows[i][0] <= double(ctx.global_step); ++i) text += t.lines[i] + '\n';
    train::write_file_atomic(file_, text);
}

void step_file_logger::append(const std::string& row) const { train::append_line(file_, row); }

steps_logger::steps_logger(std::filesystem::path file, std::size_t every)
    : step_file_logger(std::move(file), train::steps_csv_header), every_(every) {
    if (every == 0) throw std::invalid_argument("steps_logger: every must be at least 1 step");
}

std::string steps_logger::row(const step_log& s) {
    return std::to_string(s.global_step + 1) + ',' + std::to_string(s.epoch) + ',' + std::to_string(s.step) + ',' +
           number(s.loss) + ',' + number(s.accuracy) + ',' + number(s.grad_norm) + ',' + number(s.lr);
}

void steps_logger::on_step_end(fit_context&, const step_log& s) {
    if ((s.global_step + 1) % every_ == 0) append(row(s));
}

landscape_logger::landscape_logger(std::filesystem::path file)
    : step_file_logger(std::move(file), train::landscape_csv_header) {}

std::string landscape_logger::row(const landscape_log& p) {
    std::string r = std::to_string(p.step) + ',' + std::to_string(p.epoch);
    for (const double v : {p.lr, p.loss, p.grad_norm, p.loss_min, p.loss_max, p.loss_variation, p.grad_change_min,
                           p.grad_change_max, p.beta_min, p.beta_max})
        r += ',' + number(v);
    return r;
}

void landscape_logger::on_landscape(fit_context&, const landscape_log& p) { append(row(p)); }

std::string jsonl_logger::line(const epoch_log& e) {
    const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::ordered_json j;
    j["epoch"] = e.epoch;
    j["steps"] = e.steps;
    j["train_loss"] = num(e.train_loss);
    j["train_accuracy"] = num(e.train_accuracy);
    if (e.validation) {
        j["val_loss"] = num(e.validation->loss);
        j["val_accuracy"] = num(e.validation->accuracy);
        j["val_samples"] = e.validation->samples;
    }
    j["grad_norm"] = num(e.grad_norm);
    j["lr"] = num(e.lr);
    j["seconds"] = num(e.seconds);
    j["images_per_second"] = num(e.images_per_second);
    j["wait_seconds"] = num(e.wait_seconds);
    j["diverged"] = e.diverged;
    j["complete"] = e.complete;
    return j.dump();
}

void jsonl_logger::on_epoch_end(fit_context& ctx, const epoch_log&) {
    std::string text;
    for (const auto& e : ctx.history) text += line(e) + '\n';
    train::write_file_atomic(file_, text);
}

// ---- checkpoint_saver ------------------------------------------------------------------------
void checkpoint_saver::on_train_begin(fit_context& ctx) {
    std::filesystem::create_directories(dir_);
    last_save_ = std::chrono::steady_clock::now();
    best_ = std::numeric_limits<double>::quiet_NaN();  // a resumed run: the best so far, from its history
    for (const auto& e : ctx.history)
        if (e.complete && improves(monitored_value(e, o_.watch), best_, effective(e, o_.watch))) best_ = monitored_value(e, o_.watch);
}

void checkpoint_saver::save_last(fit_context& ctx) {
    ctx.save_checkpoint(dir_ / "last.ckpt");
    last_save_ = std::chrono::steady_clock::now();
}

void checkpoint_saver::on_step_end(fit_context& ctx, const step_log&) {
    if (!o_.last || !(o_.every_seconds > 0) || !ctx.mid_epoch() || ctx.progress().diverged) return;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save_).count() >= o_.every_seconds)
        save_last(ctx);
}

void checkpoint_saver::on_train_end(fit_context& ctx) {
    // Stopped in the middle of an epoch: save where it stopped, unless the epoch diverged (then
    // last.ckpt stays the last finished epoch, the state to resume from with other settings).
    if (o_.last && ctx.mid_epoch() && !ctx.progress().diverged) save_last(ctx);
}

void checkpoint_saver::on_epoch_end(fit_context& ctx, const epoch_log& e) {
    if (!e.complete) return;  // a stop in mid-epoch: on_train_end saves it
    if (o_.last) save_last(ctx);
    const double v = monitored_value(e, o_.watch);
    if (o_.best && improves(v, best_, effective(e, o_.watch))) {
        best_ = v;
        ctx.save_checkpoint(dir_ / "best.ckpt");
    }
}

// ---- early_stopping --------------------------------------------------------------------------
void early_stopping::on_train_begin(fit_context& ctx) {
    stopped_ = false;
    best_ = std::numeric_limits<double>::quiet_NaN();
    waited_ = 0;
    for (const auto& e : ctx.history) {
        const double v = monitored_value(e, watch_);
        if (improves(v, best_, effective(e, watch_), min_delta_)) best_ = v, waited_ = 0;
        else ++waited_;
    }
}

void early_stopping::on_epoch_end(fit_context& ctx, const epoch_log& e) {
    const double v = monitored_value(e, watch_);
    if (improves(v, best_, effective(e, watch_), min_delta_)) {
        best_ = v;
        waited_ = 0;
        return;
    }
    if (++waited_ >= patience_) {
        stopped_ = true;
        ctx.request_stop("early stopping: the " + std::string(monitor_name(effective(e, watch_))) + " has not improved for " +
                         std::to_string(waited_) + " epochs (best " + number(best_) + ")");
    }
}

// ---- divergence_stop -------------------------------------------------------------------------
void divergence_stop::on_before_update(fit_context& ctx, const step_log& s) {
    if (std::isfinite(s.loss) && std::isfinite(s.grad_norm)) return;
    const std::string what = !std::isfinite(s.loss) ? "the loss is " + number(s.loss) : "the gradient norm is " + number(s.grad_norm);
    ctx.skip_update();
    ctx.request_stop("epoch " + std::to_string(s.epoch) + ", step " + std::to_string(s.step) + ": " + what +
                     " (the run diverged); stopping before this update");
}

}  // namespace typenet
