// typenet/callbacks.hpp - the callbacks that come with typenet::fit (fit.hpp), in the style of
// Keras and Lightning: give fit any of them, in the order they should be told of each event.
//
//   progress_bar(out)           a one-line bar per epoch on `out` while it trains ("\r" updates),
//                               then one summary line per epoch. The caller decides whether the
//                               stream is a terminal; fit and the callbacks never look.
//   csv_logger(file)            every epoch so far as CSV, header first, the whole file replaced
//                               atomically after each epoch (so a resumed run's file holds exactly
//                               its epochs); jsonl_logger(file) the same as JSON lines (non-finite
//                               numbers as null, which JSON has no other way to say).
//   steps_logger(file, every)   a CSV row for every `every`-th optimizer step (steps.csv: the step,
//                               the batch's loss and accuracy, the gradient norm, the learning rate;
//                               train/step_table.hpp), appended as the run goes; landscape_logger(file)
//                               a row for every loss-landscape probe (landscape.csv, landscape.hpp).
//                               When a resumed fit begins, both cut their file back to the checkpoint's
//                               step, so the file holds each step once, as an uninterrupted run's
//                               would. Give them to fit before checkpoint_saver: a step's row is then
//                               on disk before any checkpoint that holds the step.
//   checkpoint_saver(dir)       dir/last.ckpt after every finished epoch (atomically), every N
//                               seconds mid-epoch if asked, and when the run stops mid-epoch;
//                               dir/best.ckpt whenever the monitored value improves.
//   early_stopping(patience)    stops when the monitored value has not improved for `patience`
//                               epochs in a row (by more than min_delta).
//   divergence_stop()           stops before the update of the first step whose loss or gradient
//                               norm is not finite: the parameters stay the last finite ones.
//   stop_flag(flag)             stops after the step in which an std::atomic<bool> became true
//                               (set by the caller's SIGINT handler, say).
//
// Monitored values: validation accuracy (higher is better) and validation loss, or the training
// loss when fit has no validation source. Files are written with the library's atomic write
// (temporary file, then rename); an error writing them propagates out of fit as
// std::filesystem::filesystem_error or std::runtime_error naming the file.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <limits>
#include <string>

#include "typenet/fit.hpp"

namespace typenet {

enum class monitor { val_accuracy, val_loss, train_loss };
// The monitored value of an epoch; the training loss when the epoch has no validation.
double monitored_value(const epoch_log& e, monitor m);
// Whether `value` is better than `best` by more than min_delta (accuracy up, losses down). A
// non-finite value is never better.
bool improves(double value, double best, monitor m, double min_delta = 0);
const char* monitor_name(monitor m);

class progress_bar : public callback {
public:
    // summary: also one line per epoch when it ends (else the bar is only cleared)
    explicit progress_bar(std::ostream& out, bool summary = true, std::size_t width = 24)
        : out_(out), width_(width), summary_(summary) {}
    void on_step_end(fit_context& ctx, const step_log& s) override;
    void on_epoch_end(fit_context& ctx, const epoch_log& e) override;

private:
    std::ostream& out_;
    std::size_t width_;
    bool summary_;
    bool drawn_ = false;
};

class csv_logger : public callback {
public:
    explicit csv_logger(std::filesystem::path file) : file_(std::move(file)) {}
    void on_epoch_end(fit_context& ctx, const epoch_log& e) override;
    static std::string header();
    static std::string row(const epoch_log& e);

private:
    std::filesystem::path file_;
};

class jsonl_logger : public callback {
public:
    explicit jsonl_logger(std::filesystem::path file) : file_(std::move(file)) {}
    void on_epoch_end(fit_context& ctx, const epoch_log& e) override;
    static std::string line(const epoch_log& e);

private:
    std::filesystem::path file_;
};

// The per-step files: a header, then rows appended one write at a time (see the top).
class step_file_logger : public callback {
public:
    void on_train_begin(fit_context& ctx) override;
    const std::filesystem::path& file() const { return file_; }

protected:
    step_file_logger(std::filesystem::path file, const std::string& header) : file_(std::move(file)), header_(header) {}
    void append(const std::string& row) const;

private:
    std::filesystem::path file_;
    std::string header_;
};

class steps_logger : public step_file_logger {
public:
    // every >= 1 (std::invalid_argument otherwise): the rows of steps every, 2 every, ...
    steps_logger(std::filesystem::path file, std::size_t every);
    void on_step_end(fit_context& ctx, const step_log& s) override;
    static std::string row(const step_log& s);

private:
    std::size_t every_;
};

class landscape_logger : public step_file_logger {
public:
    explicit landscape_logger(std::filesystem::path file);
    void on_landscape(fit_context& ctx, const landscape_log& p) override;
    static std::string row(const landscape_log& p);
};

struct checkpoint_saver_options {
    bool last = true;                 // dir/last.ckpt after every finished epoch
    bool best = true;                 // dir/best.ckpt when the monitored value improves
    monitor watch = monitor::val_accuracy;
    double every_seconds = 0;         // also dir/last.ckpt mid-epoch, after the first step this long
                                      // after the last save; 0: at epoch ends only
};

// last.ckpt is also written when the run stops in the middle of an epoch (a stop requested by
// a callback, e.g. stop_flag after Ctrl-C), unless that epoch diverged: resuming from it
// continues with the next batch, exactly as the uninterrupted run would have.
class checkpoint_saver : public callback {
public:
    explicit checkpoint_saver(std::filesystem::path dir, checkpoint_saver_options o = {}) : dir_(std::move(dir)), o_(o) {}
    void on_train_begin(fit_context& ctx) override;
    void on_step_end(fit_context& ctx, const step_log& s) override;
    void on_epoch_end(fit_context& ctx, const epoch_log& e) override;
    void on_train_end(fit_context& ctx) override;
    const std::filesystem::path& dir() const { return dir_; }

private:
    void save_last(fit_context& ctx);
    std::filesystem::path dir_;
    checkpoint_saver_options o_;
    double best_ = std::numeric_limits<double>::quiet_NaN();
    std::chrono::steady_clock::time_point last_save_{};
};

// Requests a stop after the current step once `flag` is set: the way to stop fit from a signal
// handler (which may only set a lock-free atomic), a watchdog thread or a user interface.
//   static std::atomic<bool> interrupted{false};
//   std::signal(SIGINT, [](int) { interrupted = true; });
//   typenet::stop_flag on_ctrl_c(interrupted);   // with a checkpoint_saver: last.ckpt mid-epoch
class stop_flag : public callback {
public:
    explicit stop_flag(const std::atomic<bool>& flag, std::string reason = "interrupted")
        : flag_(flag), reason_(std::move(reason)) {}
    void on_step_end(fit_context& ctx, const step_log&) override { check(ctx); }
    void on_epoch_end(fit_context& ctx, const epoch_log&) override { check(ctx); }

private:
    void check(fit_context& ctx) const {
        if (flag_.load()) ctx.request_stop(reason_);
    }
    const std::atomic<bool>& flag_;
    std::string reason_;
};

class early_stopping : public callback {
public:
    explicit early_stopping(std::size_t patience, monitor watch = monitor::val_accuracy, double min_delta = 0)
        : patience_(patience), watch_(watch), min_delta_(min_delta) {}
    void on_train_begin(fit_context& ctx) override;
    void on_epoch_end(fit_context& ctx, const epoch_log& e) override;
    bool stopped() const { return stopped_; }  // it requested the stop

private:
    bool stopped_ = false;
    std::size_t patience_, waited_ = 0;
    monitor watch_;
    double min_delta_;
    double best_ = std::numeric_limits<double>::quiet_NaN();
};

class divergence_stop : public callback {
public:
    void on_before_update(fit_context& ctx, const step_log& s) override;
};

}  // namespace typenet
