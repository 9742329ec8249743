// src/cli/trainer.hpp (private to typenet-train) - typenet-train's driver: CIFAR-10, the command
// line's settings and a run folder around typenet::fit.
//
// Per epoch fit trains (train mode, batch statistics) over the shuffled training set, then
// evaluates the test set in eval mode (running statistics); with --val-split, the held-out
// validation set instead, and the test set after the last epoch. Writes into config.out:
//   config.json      the full configuration
//   metrics.csv      one row per epoch (header first); metrics.jsonl the same as JSON lines
//   curves.svg       loss and accuracy per epoch, train and test
//   invocations.jsonl one line per start or resume: the binary's commit, compiler and build
//                    type, the time, the first epoch it ran, the kernels, threads and processor
//   last.ckpt        parameters, running statistics, optimizer state, the run's progress and
//                    settings, and what inference needs (io::inference_info), after every epoch,
//                    every --checkpoint-every minutes mid-epoch, and when SIGINT or SIGTERM stops
//                    the run (atomically); final.ckpt at the end; best.ckpt (--val-split) at the
//                    epoch of the best validation accuracy
// A non-finite loss stops the run (exit code 3) unless on_divergence = continue; SIGINT/SIGTERM
// finish the step, write last.ckpt and exit 128 + the signal (130, 143).
//
// Under mpirun (a communicator of more than one rank; docs/distributed.md) every rank runs this
// with the same command line and trains its slice of every batch (fit_options::comm, bn_sync,
// check_replicas_every); the test set is evaluated sharded. Rank 0 alone locks and writes
// config.out and prints; the other ranks read a checkpoint to resume and write nothing. A stop
// (a signal, divergence, early stopping) is agreed by all ranks at the same step.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
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
#include "typenet/callbacks.hpp"
#include "typenet/data/source.hpp"
#include "typenet/data/split.hpp"
#include "typenet/dist/communicator.hpp"
#include "typenet/fit.hpp"
#include "typenet/train/checkpoint_io.hpp"
#include "config.hpp"
#include "interrupt.hpp"
#include "out_lock.hpp"
#include "typenet/train/report.hpp"
#include "invocation.hpp"
#include "legacy_metrics.hpp"

namespace typenet::train {


namespace detail {
// Hands memory freed by the process back to the operating system. glibc keeps freed blocks
// smaller than its mmap threshold in its heaps, and that threshold grows to the size of the
// largest block freed so far (about 30 MB once a CIFAR-10 file has been read), so the network's
// freed buffers would otherwise stay resident and what is allocated next would come on top.
inline void return_free_memory() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}
}  // namespace detail

struct eval_result {
    double loss = 0, accuracy = 0;
    std::uint32_t logits_crc = 0;  // CRC-32 of every logit's bytes, in test-set order
};

// Mean loss and accuracy of `net` over `set`, in batches of `batch`: in eval mode (running
// statistics), or with batch_stats in train mode (each test batch's own batch-norm statistics,
// and batch renorm's corrections from the running statistics as they were: the running
// statistics are put back after every batch, so every test batch sees the checkpoint's).
template <class Net>
eval_result evaluate(Net& net, const data::cifar10_set& set, const data::channel_stats& stats, std::size_t batch,
                     const softmax_cross_entropy& loss, bool batch_stats = false) {
    using T = typename Net::value_type;
    const auto was = net.current_mode();
    if (batch_stats) net.train();
    else net.eval();
    std::vector<T> running;  // with batch_stats: the running statistics, put back after every batch
    if (batch_stats)
        net.for_each_state([&](const state_view<T>& v) { running.insert(running.end(), v.value.begin(), v.value.end()); });
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
        if (batch_stats) {
            std::size_t at = 0;
            net.for_each_state([&](const state_view<T>& v) {
                std::copy_n(running.begin() + std::ptrdiff_t(at), v.value.size(), v.value.begin());
                at += v.value.size();
            });
        }
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
    using part = data::subset_source<data::cifar10_source>;  // the training, validation and test sets

    // comm: the ranks of a data-parallel run (null or one rank: this process alone).
    trainer(train_config cfg, std::string network_name, dist::communicator* comm = nullptr)
        : cfg_(std::move(cfg)), name_(std::move(network_name)), comm_(comm && comm->size() > 1 ? comm : nullptr) {}

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
        const auto bn_sync = bn_sync_mode::parse(cfg_.bn_sync);  // checked when the command line was read
        try {
            if (comm_) bn_sync.check_ranks(std::size_t(comm_->size()));
        } catch (const std::invalid_argument& e) {
            throw config_error(std::string("--bn-sync ") + e.what());
        }
        try {  // before any data is read
            if (comm_) landscape_options{.every = cfg_.landscape_every}.check_processes(std::size_t(comm_->size()));
        } catch (const std::invalid_argument& e) {
            throw config_error(std::string("--landscape-every: ") + e.what());
        }
        const auto limit = [](std::size_t l) { return l ? l : data::no_limit; };
        auto net = std::make_unique<Net>(cfg_.seed);
        initialize(*net, cfg_.seed, parse_init_scheme(cfg_.init));
        net->set_bn_momentum(cfg_.bn_momentum);
        net->set_bn_group(cfg_.bn_group);
        net->set_renorm_schedule(cfg_.renorm);
        if (cfg_.eval_only) return eval_only(*net);

        const auto dir = data::find_cifar10_dir(cfg_.data_dir);
        const data::cifar10_source train_file(data::load_cifar10_train(dir, limit(cfg_.limit_train)));
        const data::cifar10_source test_file(data::load_cifar10_test(dir, limit(cfg_.limit_test)));
        // One source type for all three sets (one instantiation of fit per network): parts of the files.
        std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split{every_index(train_file.size()), {}};
        if (cfg_.val_split > 0) {
            try {
                split = data::split_indices_per_class(train_file, cfg_.val_split, cfg_.seed);
            } catch (const std::invalid_argument& e) {
                throw config_error(std::string("--val-split: ") + e.what());
            }
        }
        const part train(train_file, std::move(split.first)), held_out(train_file, std::move(split.second));
        const part test(test_file, every_index(test_file.size()));
        const part& validation = cfg_.val_split > 0 ? held_out : test;
        const data::normalization norm = data::compute_normalization(train);

        const auto last = cfg_.out / "last.ckpt";
        std::optional<out_dir_lock> lock;
        if (writer()) {
            std::filesystem::create_directories(cfg_.out);
            lock.emplace(cfg_.out);  // one writer per run directory, until this run ends
            // A run killed in the middle of a save leaves its temporary file (name.tmp-PID): with the
            // folder locked, every one there is such a leftover.
            for (const auto& f : std::filesystem::directory_iterator(cfg_.out))
                if (f.path().filename().string().find(".tmp-") != std::string::npos) std::filesystem::remove(f.path());
        }
        if (writer() && !cfg_.resume && !cfg_.overwrite && std::filesystem::exists(last))
            throw config_error("--out " + cfg_.out.string() + " holds a run already (" + last.string() +
                               "): --resume continues it, --overwrite starts over in its place (replacing its "
                               "checkpoints and metrics), or choose another --out");
        if (writer() && cfg_.overwrite)  // the old run's files go now: none of them may outlive this run's first epoch
            for (const char* f : {"last.ckpt", "best.ckpt", "final.ckpt", "metrics.csv", "metrics.jsonl", "curves.svg", "invocations.jsonl",
                                  "steps.csv", "landscape.csv"})
                std::filesystem::remove(cfg_.out / f);

        fit_options o;
        o.epochs = cfg_.epochs;
        o.data = {.batch = cfg_.batch,
                  .drop_last = cfg_.drop_last,
                  .augment = {.pad_crop = cfg_.augment ? 4u : 0u, .flip = cfg_.augment, .cutout = cfg_.cutout},
                  .seed = cfg_.seed};
        o.optimizer = cfg_.optimizer;
        o.schedule = cfg_.schedule;
        o.clip_grad_norm = cfg_.clip_grad_norm;
        o.label_smoothing = cfg_.label_smoothing;
        o.eval_batch = cfg_.eval_batch ? cfg_.eval_batch : cfg_.batch;
        o.model_name = name_;
        o.normalization = norm;
        o.checkpoint_metadata = cfg_.to_pairs();
        o.comm = comm_;
        o.bn_sync = bn_sync;
        o.check_replicas_every = cfg_.check_replicas;
        o.grad_bucket_bytes = cfg_.grad_bucket_kib << 10;
        o.landscape.every = cfg_.landscape_every;
        if (data::batches_per_epoch(train.size(), o.data) == 0)
            throw config_error("--batch/--limit-train: " + std::to_string(train.size()) +
                               " training images make no batch of " + std::to_string(cfg_.batch));

        std::size_t first_epoch = 1;
        if (cfg_.resume) {
            io::checkpoint ck = io::read_checkpoint(last);
            check_resume_config(ck, last);
            if (!ck.find_meta("fit.epoch")) {
                if (comm_)  // every rank would rewrite it, and a rank could read it half-upgraded
                    throw config_error("--resume: " + last.string() + " is in the form of typenet-train before "
                                       "typenet::fit; resume it once with one process (that upgrades it in place), "
                                       "then under mpirun");
                upgrade_checkpoint(ck, last, train, validation, norm, o);
            }
            first_epoch = count_from_text(*ck.find_meta("fit.epoch"), last.string(), "fit.epoch") + 1;
            o.resume = last;
            recover_test_rows(first_epoch);
        }
        // Which binary writes the epochs from here (first, so that a failure changes nothing); a
        // resume of a finished run writes none and records nothing.
        if (writer() && first_epoch <= cfg_.epochs)
            append_line(cfg_.out / "invocations.jsonl",
                        invocation_json({first_epoch, cfg_.epochs, kernels::threads(), kernels::isa_name(), kernels::winograd()}));
        if (writer()) write_file_atomic(cfg_.out / "config.json", cfg_.to_json());
        const std::size_t steps = data::batches_per_epoch(train.size(), o.data);
        log("model " + cfg_.model + " (" + std::to_string(Net::parameter_count) + " parameters), " +
            std::to_string(train.size()) + " training, " +
            (cfg_.val_split ? std::to_string(validation.size()) + " validation (held out of the training files) and " : "") +
            std::to_string(test.size()) + " test images from " +
            dir.string() + ", " + std::to_string(cfg_.epochs) + " epochs of " + std::to_string(steps) +
            " steps; kernels: " + kernels::isa_name() + (kernels::winograd() ? " + Winograd" : "") + ", " +
            std::to_string(kernels::threads()) + (kernels::threads() == 1 ? " thread" : " threads") +
            (comm_ ? " on each of " + std::to_string(comm_->size()) + " ranks (--bn-sync " + o.bn_sync.to_string() + ")"
                   : std::string()));
        if (o.resume.empty() == false) log("resuming " + last.string() + " after epoch " + std::to_string(first_epoch - 1));

        run_files files(*this);
        progress_bar bar(std::cerr, /*summary=*/false);
        checkpoint_saver saver(cfg_.out, {.best = cfg_.val_split > 0, .every_seconds = cfg_.checkpoint_every * 60});
        early_stopping early(cfg_.early_stop);
        test_evaluation test_eval(*this, *net, test, norm, o.eval_batch, cfg_.early_stop ? &early : nullptr, comm_);
        divergence_stop guard;
        divergence_note note(*this);
        stop_flag on_signal(interrupted());
        std::vector<callback*> cbs;
        if (show_bar()) cbs.push_back(&bar);
        cbs.push_back(&on_signal);
        if (cfg_.on_divergence == divergence_policy::stop) cbs.push_back(&guard);
        else cbs.push_back(&note);
        if (cfg_.early_stop) cbs.push_back(&early);
        if (cfg_.val_split) cbs.push_back(&test_eval);
        std::optional<steps_logger> steps_csv;
        std::optional<landscape_logger> landscape_csv;
        if (writer()) {  // the run's files: rank 0's; the per-step rows before any checkpoint that holds their step
            if (cfg_.log_every) cbs.push_back(&steps_csv.emplace(cfg_.out / "steps.csv", cfg_.log_every));
            if (cfg_.landscape_every) cbs.push_back(&landscape_csv.emplace(cfg_.out / "landscape.csv"));
            cbs.push_back(&saver);
            cbs.push_back(&files);
        }
        files.early = cfg_.early_stop ? &early : nullptr;
        const fit_result r = fit(*net, train, validation, o, std::span<callback* const>(cbs));
        net->release_buffers();
        detail::return_free_memory();
        if (interrupt_signal() != 0 && r.stop_reason == "interrupted") {
            log("interrupted: " + last.string() + " holds the run so far; --resume continues it");
            return 128 + interrupt_signal();
        }
        if (!r.stop_reason.empty() && !early.stopped() && !r.history.empty() && r.history.back().diverged) {
            error(r.stop_reason + ". Use --on-divergence=continue to record it and go on, or lower --lr.");
            return exit_diverged;
        }
        if (early.stopped()) log(r.stop_reason);
        if (cfg_.val_split > 0 && !r.history.empty()) {
            std::size_t best = 0;
            for (std::size_t i = 0; i < r.history.size(); ++i)
                if (r.history[i].complete && r.history[i].validation &&
                    (best == 0 || r.history[i].validation->accuracy > r.history[best - 1].validation->accuracy))
                    best = i + 1;
            if (best)
                log("best.ckpt: epoch " + std::to_string(best) + ", validation accuracy " +
                    fixed(100 * r.history[best - 1].validation->accuracy, 2) + "% (typenet-train --eval-only --checkpoint " +
                    (cfg_.out / "best.ckpt").string() + " gives its test accuracy)");
        }
        return exit_ok;
    }

    const std::vector<epoch_metrics>& rows() const { return rows_; }

private:
    // Writes the run's files after every epoch (metrics, curves, the console line) and
    // final.ckpt at the end of a run that finished all its epochs.
    struct run_files : callback {
        trainer& t;
        bool ran = false;
        explicit run_files(trainer& tr) : t(tr) {}
        void on_epoch_end(fit_context& ctx, const epoch_log& e) override {
            ran = true;
            t.rows_.clear();
            for (const auto& h : ctx.history)
                if (h.complete || h.diverged) t.rows_.push_back(t.to_metrics(h));
            if (e.complete || e.diverged) t.log_epoch(t.to_metrics(e), e.wait_seconds, e.sync_seconds, e.steps);
            write_metrics(t.cfg_.out, t.rows_);
            write_file_atomic(t.cfg_.out / "curves.svg", curves_svg(t.rows_, t.cfg_.model + " (" + t.cfg_.recipe + ")"));
        }
        void on_train_end(fit_context& ctx) override {
            const bool early_end = early && early->stopped();
            if (ran && !ctx.mid_epoch() && ((!ctx.stop_requested() && ctx.epoch == t.cfg_.epochs) || early_end))
                ctx.save_checkpoint(t.cfg_.out / "final.ckpt");
        }
        const early_stopping* early = nullptr;
    };
    // --val-split: the test set, after the last epoch (the one early stopping ends with, too) or,
    // with --test-every-epoch, after every epoch. Its figures go to the test columns of metrics.csv.
    struct test_evaluation : callback {
        trainer& t;
        Net& net;
        const part& test;
        const data::normalization& norm;
        std::size_t batch;
        const early_stopping* early;
        dist::communicator* comm;  // sharded over the ranks: every rank calls it
        test_evaluation(trainer& tr, Net& n, const part& s, const data::normalization& nm, std::size_t b,
                        const early_stopping* e, dist::communicator* c)
            : t(tr), net(n), test(s), norm(nm), batch(b), early(e), comm(c) {}
        void on_epoch_end(fit_context&, const epoch_log& e) override {
            if (!e.complete) return;
            if (t.cfg_.test_every_epoch || e.epoch == t.cfg_.epochs || (early && early->stopped()))
                t.test_[e.epoch] =
                    typenet::evaluate(net, test, norm, batch, softmax_cross_entropy(t.cfg_.label_smoothing), comm);
        }
    };
    // --on-divergence=continue: say so once, and go on.
    struct divergence_note : callback {
        trainer& t;
        bool said = false;
        explicit divergence_note(trainer& tr) : t(tr) {}
        void on_before_update(fit_context&, const step_log& s) override {
            if (said || (std::isfinite(s.loss) && std::isfinite(s.grad_norm))) return;
            said = true;
            t.log("epoch " + std::to_string(s.epoch) + ", step " + std::to_string(s.step) + ": the " +
                  (std::isfinite(s.loss) ? "gradient norm" : "loss") + " is not finite (the run diverged); continuing "
                  "as --on-divergence=continue asks");
        }
    };

    static std::vector<std::size_t> every_index(std::size_t n) {
        std::vector<std::size_t> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = i;
        return v;
    }
    static std::string fixed(double v, int digits) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", digits, v);
        return buf;
    }

    // A resumed --val-split run: the test figures of the epochs before it, from its metrics.csv.
    void recover_test_rows(std::size_t first_epoch) {
        if (cfg_.val_split == 0 || !std::filesystem::exists(cfg_.out / "metrics.csv")) return;
        try {
            for (const auto& m : read_metrics_csv(cfg_.out / "metrics.csv"))
                if (m.epoch < first_epoch && std::isfinite(m.test_accuracy))
                    test_[m.epoch] = evaluation{m.test_loss, m.test_accuracy, 0, 0};
        } catch (const std::exception& e) {
            log(std::string("note: the test figures of earlier epochs are not kept: ") + e.what());
        }
    }

    epoch_metrics to_metrics(const epoch_log& e) const {
        epoch_metrics m;
        m.epoch = e.epoch;
        m.train_loss = e.train_loss;
        m.train_accuracy = e.train_accuracy;
        if (cfg_.val_split > 0) {
            m.val_loss = e.validation ? e.validation->loss : std::nan("");
            m.val_accuracy = e.validation ? e.validation->accuracy : std::nan("");
            const auto t = test_.find(e.epoch);
            m.test_loss = t != test_.end() ? t->second.loss : std::nan("");
            m.test_accuracy = t != test_.end() ? t->second.accuracy : std::nan("");
        } else {
            m.test_loss = e.validation ? e.validation->loss : std::nan("");
            m.test_accuracy = e.validation ? e.validation->accuracy : std::nan("");
        }
        m.grad_norm = e.grad_norm;
        m.lr = e.lr;
        m.seconds = e.seconds;
        m.images_per_second = e.images_per_second;
        m.diverged = e.diverged;
        return m;
    }

    int eval_only(Net& net) {
        const auto ck = io::read_checkpoint(*cfg_.checkpoint);
        const auto limit = [](std::size_t l) { return l ? l : data::no_limit; };
        const auto dir = data::find_cifar10_dir(cfg_.data_dir);
        data::channel_stats stats;
        if (io::has_inference_info(ck)) {  // the checkpoint says how it was normalised: no training data needed
            const auto info = io::read_inference_info(ck, cfg_.checkpoint->string());
            if (info.normalization.mean.size() != 3)
                throw io::checkpoint_error(cfg_.checkpoint->string() + ": its normalisation has " +
                                           std::to_string(info.normalization.mean.size()) + " channels, CIFAR-10 3");
            for (std::size_t c = 0; c < 3; ++c) stats.mean[c] = info.normalization.mean[c], stats.std[c] = info.normalization.std[c];
        } else {  // written before checkpoints carried it: recompute it from the training data, as then
            stats = data::compute_channel_stats(data::load_cifar10_train(dir, limit(cfg_.limit_train)));
        }
        const auto test_set = data::load_cifar10_test(dir, limit(cfg_.limit_test));
        restore_checkpoint(ck, cfg_.checkpoint->string(), net, name_, nullptr);
        if (cfg_.eval_batch_stats) {
            // Batch statistics as the run normalised at the checkpoint's step: batch renorm's
            // clipping limits from the run's own schedule (its recorded renorm_* settings, not
            // this command's) at the step it had reached (fit.step; 0 in a checkpoint without it).
            train_config run = cfg_;
            for (const char* key : {"renorm_start", "renorm_rmax_end", "renorm_dmax_end", "renorm_rmax", "renorm_dmax"})
                if (const std::string* v = ck.find_meta(key)) apply_recorded(run, key, *v, cfg_.checkpoint->string());
            net.set_renorm_schedule(run.renorm);
            const std::string* step = ck.find_meta("fit.step");
            net.set_train_step(step ? count_from_text(*step, cfg_.checkpoint->string(), "fit.step") : 0);
        }
        const std::size_t eb = cfg_.eval_batch ? cfg_.eval_batch : cfg_.batch;
        if (cfg_.eval_batch_stats && test_set.size() % eb == 1)
            throw config_error("--eval-bn batch: the last test batch would hold 1 image (" +
                               std::to_string(test_set.size()) + " images in batches of " + std::to_string(eb) +
                               "); choose another --eval-batch");
        const softmax_cross_entropy loss(cfg_.label_smoothing);
        const auto r = evaluate(net, test_set, stats, eb, loss, cfg_.eval_batch_stats);
        std::printf("eval %s on %zu test images (batches of %zu, %s statistics): loss %.4f accuracy %.2f%% "
                    "(logits crc32 %08x)\n",
                    cfg_.checkpoint->string().c_str(), test_set.size(), eb, cfg_.eval_batch_stats ? "batch" : "running",
                    r.loss, 100 * r.accuracy, unsigned(r.logits_crc));
        return exit_ok;
    }

    // A resumed run must continue the same job: the settings that shape the run must match.
    void check_resume_config(const io::checkpoint& ck, const std::filesystem::path& file) const {
        for (const auto& [key, value] : cfg_.to_pairs()) {
            if (key == "epochs" || key == "on_divergence" || key == "checkpoint_every" || key == "early_stop" ||
                key == "test_every_epoch")
                continue;  // may change
            const std::string* stored = ck.find_meta(key);
            if (stored && *stored != value)
                throw config_error("--resume: " + file.string() + " was written with " + key + " = " + *stored +
                                   " but this command asks for " + value + "; resume with the same settings");
        }
        if (!ck.find_meta("fit.epoch"))
            for (const char* key : {"epoch", "step", "metrics"})
                if (!ck.find_meta(key))
                    throw io::checkpoint_error(file.string() + ": no '" + key + "' entry: not a training checkpoint");
    }

    // A last.ckpt of typenet-train before it ran on typenet::fit (metadata epoch, step, metrics;
    // no inference information): rewritten in place in fit's form, tensors unchanged, so that the
    // run resumes. Its test-set rows become fit's validation entries.
    void upgrade_checkpoint(io::checkpoint& ck, const std::filesystem::path& file, const part& train,
                            const part& test, const data::normalization& norm, const fit_options& o) {
        std::vector<epoch_log> history;
        const std::size_t steps = data::batches_per_epoch(train.size(), o.data);
        for (const auto& m : detail::metrics_from_text(*ck.find_meta("metrics"), file.string())) {
            epoch_log e;
            e.epoch = m.epoch, e.steps = steps, e.train_loss = m.train_loss, e.train_accuracy = m.train_accuracy;
            e.grad_norm = m.grad_norm, e.lr = m.lr, e.seconds = m.seconds, e.images_per_second = m.images_per_second;
            e.diverged = m.diverged;
            const auto correct = std::size_t(std::llround(m.test_accuracy * double(test.size())));
            e.validation = evaluation{m.test_loss, m.test_accuracy, correct, test.size()};
            history.push_back(e);
        }
        ck.metadata.emplace_back("fit.epoch", *ck.find_meta("epoch"));
        ck.metadata.emplace_back("fit.step", *ck.find_meta("step"));
        ck.metadata.emplace_back("fit.batch", std::to_string(o.data.batch));
        ck.metadata.emplace_back("fit.seed", std::to_string(o.data.seed));
        ck.metadata.emplace_back("fit.history", history_to_text(history));
        io::store_inference_info(ck, {name_, Net::input_shape::to_string(), train.class_names(), norm});
        io::write_checkpoint(file, ck);
        log("upgraded " + file.string() + " to the current checkpoint form (same tensors)");
    }

    // Rank 0 writes the run's files and prints; the other ranks of an mpirun job do neither.
    bool writer() const { return !comm_ || comm_->rank() == 0; }
    void log(const std::string& s) const {
        if (!cfg_.quiet && writer()) std::cout << s << std::endl;
    }
    static void error(const std::string& s) { std::cerr << "typenet-train: " << s << std::endl; }
    bool show_bar() const { return !cfg_.quiet && cfg_.progress && writer() && ::isatty(2); }
    // wait: of the epoch's training time, the seconds spent waiting for the loader's next batch
    // sync, steps: under mpirun, the seconds rank 0 waited for the gradient sums after backward.
    void log_epoch(const epoch_metrics& r, double wait, double sync, std::size_t steps) const {
        char buf[400];
        std::string sets;
        if (std::isfinite(r.val_accuracy) || cfg_.val_split > 0) {
            std::snprintf(buf, sizeof buf, " | val loss %.4f acc %.2f%%", r.val_loss, 100 * r.val_accuracy);
            sets += buf;
        }
        if (std::isfinite(r.test_accuracy) || cfg_.val_split == 0) {
            std::snprintf(buf, sizeof buf, " | test loss %.4f acc %.2f%%", r.test_loss, 100 * r.test_accuracy);
            sets += buf;
        }
        std::snprintf(buf, sizeof buf,
                      "epoch %zu/%zu: train loss %.4f acc %.2f%%%s | grad norm %.3g | lr %.4g | "
                      "%.1f s, %.0f img/s, %.2f s waiting for batches%s",
                      r.epoch, cfg_.epochs, r.train_loss, 100 * r.train_accuracy, sets.c_str(),
                      r.grad_norm, r.lr, r.seconds, r.images_per_second, wait, r.diverged ? " (diverged)" : "");
        std::string line = buf;
        if (comm_ && steps > 0) {
            std::snprintf(buf, sizeof buf, ", %.2f ms a step waiting for the gradient sums", 1e3 * sync / double(steps));
            line += buf;
        }
        log(line);
    }

    train_config cfg_;
    std::string name_;
    dist::communicator* comm_;
    std::vector<epoch_metrics> rows_;
    std::map<std::size_t, evaluation> test_;  // --val-split: test-set figures by epoch
};

}  // namespace typenet::train
