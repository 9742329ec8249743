// src/cli/trainer.hpp (private to typenet-train) - the training loop for any CIFAR-10 network type.
//
// Per epoch: train (train mode, batch statistics) over the shuffled training set, then
// evaluate the test set in eval mode (running statistics). Writes into config.out:
//   config.json      the full configuration
//   metrics.csv      one row per epoch (header first); metrics.jsonl the same as JSON lines
//   curves.svg       loss and accuracy per epoch, train and test
//   invocations.jsonl one line per start or resume: the binary's commit, compiler and build
//                    type, the time, the first epoch it ran, the kernels and threads
//   last.ckpt        parameters, running statistics, optimizer state, step, epoch, seed and
//                    the metrics so far, after every epoch (atomically); final.ckpt at the end
// A non-finite loss stops the run (exit code 3) unless on_divergence = continue.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>  // malloc_trim
#endif

#include "typenet/data/cifar10.hpp"
#include "typenet/data/pipeline.hpp"
#include "typenet/init.hpp"
#include "typenet/kernels.hpp"
#include "typenet/loss.hpp"
#include "typenet/net.hpp"
#include "typenet/optim.hpp"
#include "typenet/schedule.hpp"
#include "typenet/train/checkpoint_io.hpp"
#include "config.hpp"
#include "out_lock.hpp"
#include "typenet/train/report.hpp"
#include "invocation.hpp"

namespace typenet::train {

inline constexpr int exit_ok = 0, exit_bad_input = 2, exit_diverged = 3;

namespace detail {
inline std::string metrics_to_text(const std::vector<epoch_metrics>& rows) {
    std::ostringstream s;
    s.precision(17);
    for (const auto& r : rows)
        s << r.epoch << ' ' << r.train_loss << ' ' << r.train_accuracy << ' ' << r.test_loss << ' ' << r.test_accuracy
          << ' ' << r.grad_norm << ' ' << r.lr << ' ' << r.seconds << ' ' << r.images_per_second << ' ' << r.diverged
          << '\n';
    return s.str();
}
inline std::vector<epoch_metrics> metrics_from_text(const std::string& text) {
    std::vector<epoch_metrics> rows;
    std::istringstream s(text);
    epoch_metrics r;
    auto num = [&](double& v) {
        std::string t;
        s >> t;
        v = std::strtod(t.c_str(), nullptr);  // reads nan/inf too
    };
    while (s >> r.epoch) {
        num(r.train_loss), num(r.train_accuracy), num(r.test_loss), num(r.test_accuracy), num(r.grad_norm), num(r.lr),
            num(r.seconds), num(r.images_per_second);
        s >> r.diverged;
        rows.push_back(r);
    }
    return rows;
}
// Hands memory freed by the process back to the operating system. glibc keeps freed blocks
// smaller than its mmap threshold in its heaps, and that threshold grows to the size of the
// largest block freed so far (about 30 MB once a CIFAR-10 file has been read), so the network's
// freed buffers would otherwise stay resident and what is allocated next would come on top.
inline void return_free_memory() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}
inline std::string format_duration(double s) {
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
    else std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
    return buf;
}
}  // namespace detail

struct eval_result {
    double loss = 0, accuracy = 0;
    std::uint32_t logits_crc = 0;  // CRC-32 of every logit's bytes, in test-set order
};

// Mean loss and accuracy of `net` over `set`, in batches of `batch`: in eval mode (running
// statistics), or with batch_stats in train mode (each test batch's own batch-norm statistics;
// the running statistics move, so use it on a network that is not trained further).
template <class Net>
eval_result evaluate(Net& net, const data::cifar10_set& set, const data::channel_stats& stats, std::size_t batch,
                     const softmax_cross_entropy& loss, bool batch_stats = false) {
    using T = typename Net::value_type;
    const auto was = net.current_mode();
    if (batch_stats) net.train();
    else net.eval();
    std::uint32_t crc = 0;
    data::pipeline_config pc;
    pc.batch = batch;
    data::batch_plan plan(set, stats, pc, 0, false);
    typename Net::input_tensor x;
    std::vector<std::int32_t> labels(batch);
    double total_loss = 0;
    std::size_t correct = 0, seen = 0;
    for (std::size_t b = 0; b < plan.batches(); ++b) {
        const std::size_t n = plan.batch_size(b);
        x.resize(n);
        if constexpr (std::is_same_v<T, float>) {
            plan.fill(b, x.data(), labels.data());
        } else {
            std::vector<float> tmp(n * 3072);
            plan.fill(b, tmp.data(), labels.data());
            std::copy(tmp.begin(), tmp.end(), x.data());
        }
        const auto& y = net.forward(x);
        crc = io::crc32(reinterpret_cast<const unsigned char*>(y.data()), y.size() * sizeof(T), crc);
        const std::span<const std::int32_t> lab(labels.data(), n);
        total_loss += loss.loss(y, lab) * double(n);
        correct += count_correct(y, lab);
        seen += n;
    }
    if (was == mode::train) net.train();
    else net.eval();
    return {seen ? total_loss / double(seen) : 0.0, seen ? double(correct) / double(seen) : 0.0, crc};
}

template <class Net>
class trainer {
public:
    using T = typename Net::value_type;

    trainer(train_config cfg, std::string network_name) : cfg_(std::move(cfg)), name_(std::move(network_name)) {}

    // Runs the whole job; returns the process exit code. Bad input throws (config_error,
    // data::data_error, io::checkpoint_error); the CLI turns those into exit code 2.
    int run() {
        try {
            kernels::set_isa(cfg_.simd);
        } catch (const std::invalid_argument& e) {
            throw config_error(std::string("--simd: ") + e.what());
        }
        kernels::set_threads(cfg_.threads);
        kernels::set_winograd(cfg_.winograd);
        const auto dir = data::find_cifar10_dir(cfg_.data_dir);
        const auto limit = [](std::size_t l) { return l ? l : data::no_limit; };
        train_set_ = data::load_cifar10_train(dir, limit(cfg_.limit_train));
        test_set_ = data::load_cifar10_test(dir, limit(cfg_.limit_test));
        stats_ = data::compute_channel_stats(train_set_);

        auto net = std::make_unique<Net>(cfg_.seed);
        initialize(*net, cfg_.seed, parse_init_scheme(cfg_.init));
        net->set_bn_momentum(cfg_.bn_momentum);
        net->set_input_gradient(false);  // nothing reads dLoss/d(images): the first layer skips it
        const softmax_cross_entropy loss(cfg_.label_smoothing);

        if (cfg_.eval_only) {
            const auto ck = io::read_checkpoint(*cfg_.checkpoint);
            restore_checkpoint(ck, cfg_.checkpoint->string(), *net, name_, nullptr);
            const std::size_t eb = cfg_.eval_batch ? cfg_.eval_batch : cfg_.batch;
            if (cfg_.eval_batch_stats && test_set_.size() % eb == 1)
                throw config_error("--eval-bn batch: the last test batch would hold 1 image (" +
                                   std::to_string(test_set_.size()) + " images in batches of " + std::to_string(eb) +
                                   "); choose another --eval-batch");
            const auto r = evaluate(*net, test_set_, stats_, eb, loss, cfg_.eval_batch_stats);
            std::printf("eval %s on %zu test images (batches of %zu, %s statistics): loss %.4f accuracy %.2f%% "
                        "(logits crc32 %08x)\n",
                        cfg_.checkpoint->string().c_str(), test_set_.size(), eb,
                        cfg_.eval_batch_stats ? "batch" : "running", r.loss, 100 * r.accuracy, unsigned(r.logits_crc));
            return exit_ok;
        }

        std::filesystem::create_directories(cfg_.out);
        const out_dir_lock lock(cfg_.out);  // one writer per run directory, until this run ends
        if (!cfg_.resume && !cfg_.overwrite && std::filesystem::exists(cfg_.out / "last.ckpt"))
            throw config_error("--out " + cfg_.out.string() + " holds a run already (" + (cfg_.out / "last.ckpt").string() +
                               "): --resume continues it, --overwrite starts over in its place (replacing its "
                               "checkpoints and metrics), or choose another --out");
        if (cfg_.overwrite)  // the old run's files go now: none of them may outlive this run's first epoch
            for (const char* f : {"last.ckpt", "final.ckpt", "metrics.csv", "metrics.jsonl", "curves.svg", "invocations.jsonl"})
                std::filesystem::remove(cfg_.out / f);
        optimizer<T> opt(collect_parameters(*net), cfg_.optimizer);
        data::pipeline_config pc{cfg_.batch, true, cfg_.drop_last, cfg_.augment, cfg_.seed, cfg_.cutout};
        const std::size_t steps_per_epoch = data::batch_plan(train_set_, stats_, pc, 0, true).batches();
        if (steps_per_epoch == 0)
            throw config_error("--batch/--limit-train: " + std::to_string(train_set_.size()) +
                               " training images make no batch of " + std::to_string(cfg_.batch));
        const lr_schedule schedule(cfg_.schedule, steps_per_epoch, cfg_.epochs);

        std::vector<epoch_metrics> rows;
        std::size_t first_epoch = 1, step = 0;
        const auto last = cfg_.out / "last.ckpt";
        if (cfg_.resume) {
            const auto ck = io::read_checkpoint(last);
            check_resume_config(ck, last);
            restore_checkpoint(ck, last.string(), *net, name_, &opt);
            step = std::stoull(*ck.find_meta("step"));
            first_epoch = std::stoull(*ck.find_meta("epoch")) + 1;
            rows = detail::metrics_from_text(*ck.find_meta("metrics"));
            opt.set_steps(step);
            log("resuming " + last.string() + " after epoch " + std::to_string(first_epoch - 1));
        }
        // Which binary writes the epochs from here (first, so that a failure changes nothing); a
        // resume of a finished run writes none and records nothing.
        if (first_epoch <= cfg_.epochs)
            append_line(cfg_.out / "invocations.jsonl",
                        invocation_json({first_epoch, cfg_.epochs, kernels::threads(), kernels::isa_name(), kernels::winograd()}));
        write_file_atomic(cfg_.out / "config.json", cfg_.to_json());
        log("model " + cfg_.model + " (" + std::to_string(Net::parameter_count) + " parameters), " +
            std::to_string(train_set_.size()) + " training and " + std::to_string(test_set_.size()) +
            " test images from " + dir.string() + ", " + std::to_string(cfg_.epochs) + " epochs of " +
            std::to_string(steps_per_epoch) + " steps; kernels: " + kernels::isa_name() +
                (kernels::winograd() ? " + Winograd" : "") + ", " +
            std::to_string(kernels::threads()) + " threads");

        typename Net::input_tensor x;
        tensor<T, typename Net::output_shape> dlogits;
        std::vector<std::int32_t> labels(cfg_.batch);
        std::vector<float> staging;
        int code = exit_ok;
        for (std::size_t epoch = first_epoch; epoch <= cfg_.epochs; ++epoch) {
            const auto t0 = std::chrono::steady_clock::now();
            net->train();
            net->reseed_layers(data::epoch_rng(cfg_.seed, epoch, 3).next());
            data::batch_plan plan(train_set_, stats_, pc, epoch, true);
            double loss_sum = 0, norm_sum = 0, lr = 0;
            std::size_t correct = 0, seen = 0;
            bool diverged = false;
            for (std::size_t b = 0; b < plan.batches(); ++b, ++step) {
                const std::size_t n = plan.batch_size(b);
                x.resize(n);
                if constexpr (std::is_same_v<T, float>) {
                    plan.fill(b, x.data(), labels.data());
                } else {
                    staging.resize(n * 3072);
                    plan.fill(b, staging.data(), labels.data());
                    std::copy(staging.begin(), staging.end(), x.data());
                }
                const std::span<const std::int32_t> lab(labels.data(), n);
                const auto& y = net->forward(x);
                const double l = loss.loss_and_gradient(y, lab, dlogits);
                correct += count_correct(y, lab);
                opt.zero_grad();
                net->backward(dlogits);
                const double norm =
                    cfg_.clip_grad_norm > 0 ? opt.clip_gradient_norm(cfg_.clip_grad_norm) : opt.gradient_norm();
                // Divergence: a non-finite loss, or a non-finite gradient. The second matters:
                // relu(NaN) = 0, so a network whose first weights went NaN can still produce
                // a finite loss (constant logits, loss ln 10) while it is dead.
                if ((!std::isfinite(l) || !std::isfinite(norm)) && !diverged) {
                    diverged = true;
                    const std::string what = !std::isfinite(l) ? std::string("the loss is ") + (std::isnan(l) ? "nan" : "inf")
                                                               : std::string("the gradient norm is ") +
                                                                     (std::isnan(norm) ? "nan" : "inf");
                    const std::string msg = "epoch " + std::to_string(epoch) + ", step " + std::to_string(b + 1) + ": " +
                                            what + " (the run diverged)";
                    if (cfg_.on_divergence == divergence_policy::stop) {
                        error(msg + "; stopping before this update. Use --on-divergence=continue to record it and "
                                    "go on, or lower --lr.");
                        loss_sum += l * double(n);
                        seen += n;
                        code = exit_diverged;
                        break;
                    }
                    log(msg + "; continuing as --on-divergence=continue asks");
                }
                norm_sum += norm;
                lr = schedule.at(step);
                opt.step(lr);
                loss_sum += l * double(n);
                seen += n;
                progress(epoch, b + 1, plan.batches(), loss_sum / double(seen), seen, t0);
            }
            const double train_seconds = seconds_since(t0);
            // Evaluation needs only the layer outputs and the checkpoint no activations: free
            // the training buffers before each, so that neither adds to the peak of training.
            net->release_buffers();
            detail::return_free_memory();
            epoch_metrics row;
            row.epoch = epoch;
            row.train_loss = seen ? loss_sum / double(seen) : 0;
            row.train_accuracy = seen ? double(correct) / double(seen) : 0;
            row.grad_norm = plan.batches() ? norm_sum / double(plan.batches()) : 0;
            row.lr = lr;
            row.diverged = diverged;
            row.images_per_second = train_seconds > 0 ? double(seen) / train_seconds : 0;
            const auto ev = evaluate(*net, test_set_, stats_, cfg_.eval_batch ? cfg_.eval_batch : cfg_.batch, loss);
            net->release_buffers();
            detail::return_free_memory();
            row.test_loss = ev.loss;
            row.test_accuracy = ev.accuracy;
            row.seconds = seconds_since(t0);
            rows.push_back(row);
            end_progress();
            log_epoch(row);

            if (code == exit_ok) {
                auto meta = cfg_.to_pairs();
                meta.emplace_back("epoch", std::to_string(epoch));
                meta.emplace_back("step", std::to_string(step));
                meta.emplace_back("rng", "derived from (seed, epoch): seed " + std::to_string(cfg_.seed) +
                                             ", next epoch " + std::to_string(epoch + 1));
                meta.emplace_back("metrics", detail::metrics_to_text(rows));
                io::write_checkpoint(last, make_checkpoint(*net, name_, &opt, meta));
                if (epoch == cfg_.epochs) io::write_checkpoint(cfg_.out / "final.ckpt", make_checkpoint(*net, name_, &opt, meta));
            }
            write_metrics(cfg_.out, rows);
            write_file_atomic(cfg_.out / "curves.svg", curves_svg(rows, cfg_.model + " (" + cfg_.recipe + ")"));
            if (code != exit_ok) break;
        }
        return code;
    }

    const std::vector<epoch_metrics>& rows() const { return rows_; }

private:
    // A resumed run must continue the same job: the settings that shape the run must match.
    void check_resume_config(const io::checkpoint& ck, const std::filesystem::path& file) const {
        for (const auto& [key, value] : cfg_.to_pairs()) {
            if (key == "epochs" || key == "on_divergence") continue;  // a run may be extended
            const std::string* stored = ck.find_meta(key);
            if (stored && *stored != value)
                throw config_error("--resume: " + file.string() + " was written with " + key + " = " + *stored +
                                   " but this command asks for " + value + "; resume with the same settings");
        }
        for (const char* key : {"epoch", "step", "metrics"})
            if (!ck.find_meta(key)) throw io::checkpoint_error(file.string() + ": no '" + key + "' entry: not a training checkpoint");
    }

    static double seconds_since(std::chrono::steady_clock::time_point t0) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    void log(const std::string& s) const {
        if (!cfg_.quiet) std::cout << s << std::endl;
    }
    static void error(const std::string& s) { std::cerr << "typenet-train: " << s << std::endl; }
    bool bar() const { return !cfg_.quiet && cfg_.progress && ::isatty(2); }
    void progress(std::size_t epoch, std::size_t step, std::size_t steps, double loss, std::size_t seen,
                  std::chrono::steady_clock::time_point t0) {
        if (!bar()) return;
        const double s = seconds_since(t0), ips = s > 0 ? double(seen) / s : 0;
        const double eta = double(steps - step) * s / double(step);
        const int width = 24, filled = int(double(width) * double(step) / double(steps));
        std::fprintf(stderr, "\repoch %zu/%zu [%s%s] %zu/%zu loss %.4f %.0f img/s ETA %s   ", epoch, cfg_.epochs,
                     std::string(std::size_t(filled), '#').c_str(), std::string(std::size_t(width - filled), '.').c_str(),
                     step, steps, loss, ips, detail::format_duration(eta).c_str());
    }
    void end_progress() {
        if (bar()) std::fprintf(stderr, "\r%s\r", std::string(100, ' ').c_str());
    }
    void log_epoch(const epoch_metrics& r) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "epoch %zu/%zu: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | grad norm %.3g | lr %.4g | "
                      "%.1f s, %.0f img/s%s",
                      r.epoch, cfg_.epochs, r.train_loss, 100 * r.train_accuracy, r.test_loss, 100 * r.test_accuracy,
                      r.grad_norm, r.lr, r.seconds, r.images_per_second, r.diverged ? " (diverged)" : "");
        log(buf);
        rows_.push_back(r);
    }

    train_config cfg_;
    std::string name_;
    data::cifar10_set train_set_, test_set_;
    data::channel_stats stats_;
    std::vector<epoch_metrics> rows_;
};

}  // namespace typenet::train
