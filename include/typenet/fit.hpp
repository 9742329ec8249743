// typenet/fit.hpp - training any network type on any data source, with callbacks.
//
//   typenet::fit_options o{.epochs = 20, .data = {.batch = 64, .augment = {.pad_crop = 4, .flip = true}},
//                          .optimizer = {.momentum = 0.9}, .schedule = {.base_lr = 0.05}};
//   typenet::progress_bar bar(std::cerr);
//   typenet::checkpoint_saver saver("run");           // run/last.ckpt each epoch, run/best.ckpt
//   typenet::early_stopping stop(5);                  // 5 epochs without a better validation accuracy
//   const typenet::fit_result r = typenet::fit(model, train, validation, o, {&bar, &saver, &stop});
//
// Per epoch e = 1, 2, ...: the network in train mode, its own randomness (dropout) reseeded from
// (seed, e); the loader's batches of the training source (data/loader.hpp: the order and the
// augmentation follow from (seed, e)); for each batch forward, softmax cross-entropy (with
// label smoothing), backward, the gradient's global L2 norm (clipped to clip_grad_norm when
// that is positive), then the optimizer's step at the schedule's learning rate of that step.
// After the epoch, when a validation source was given, typenet::evaluate on it (eval mode; the
// loss with the training's label smoothing, as typenet-train has always reported it); an epoch
// ended early by a stop is not validated.
//
// Callbacks (callbacks.hpp) are told, in the order given: on_train_begin, then per epoch
// on_epoch_begin, per step on_landscape (when a loss-landscape probe is due: options.landscape,
// landscape.hpp), on_before_update (after backward, before the optimizer; a callback
// may skip_update() there, as divergence_stop does) and on_step_end, on_epoch_end, and
// on_train_end. Any of them may request_stop(reason): fit finishes the current step (or, from
// on_before_update, skips its update: then the running statistics the step's forward pass moved
// are put back too, so the network is exactly as the previous step left it), ends the epoch
// there and returns. An epoch ended early
// reports complete = false, and checkpoint_saver does not save it as a finished epoch.
//
// Normalisation: options.normalization, or else computed from the training source
// (data::compute_normalization) and returned in fit_result.
//
// Checkpoints (fit_context::save_checkpoint, used by checkpoint_saver) hold the parameters, the
// running statistics, the optimizer's state, the epoch, step and history, and what inference
// needs without the training data: the model's name, input shape, class names and the
// normalisation (io::inference_info in io/checkpoint.hpp). A checkpoint written in the middle
// of an epoch (checkpoint_saver's every_seconds, or a stop mid-epoch) also holds the batches
// trained on so far, the epoch's running sums and the states of the network's random generators
// (dropout). options.resume names such a checkpoint: fit restores all of it and continues with
// the next batch, and the run is then the one an uninterrupted fit would have run, bit for bit
// (tests/test_fit.cpp).
//
// Data parallelism (options.comm, N ranks each running fit on the same network, source and
// options): the loader gives each rank its slice of every global batch (data::loader_options
// shards, the unsharded order and augmentation); each rank's loss gradient is scaled by its share
// of the batch, the parameter gradients are summed over the ranks after backward, and every rank
// takes the same optimizer step, so the parameters stay the same on every rank (as long as the
// communicator's sum gives every rank the same bits: the one-process and test communicators add in
// rank order; MPI_Allreduce does not promise it, which a replica check will watch). The loss, accuracy
// and gradient norm of a step are the whole batch's (summed over the ranks), validation is sharded
// (evaluate with comm). Batch statistics: options.bn_sync. Callbacks run on every rank with the same
// numbers; give the ones that write files (checkpoint_saver, loggers) to one rank only. A stop
// requested on one rank is agreed after every step and epoch: every rank stops at the same step
// (the others with the reason "stopped on another rank"). options.check_replicas_every
// watches the replicas.
//
// Errors: a network and a source that do not fit do not compile (data::fits); bad options
// throw std::invalid_argument; a checkpoint that does not belong to this network or run throws
// io::checkpoint_error naming the file and what differs. No process concerns: fit prints
// nothing itself, reads no terminal, and never exits.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/data/loader.hpp"
#include "typenet/data/source.hpp"
#include "typenet/dist/bn_sync.hpp"
#include "typenet/evaluate.hpp"
#include "typenet/landscape.hpp"
#include "typenet/loss.hpp"
#include "typenet/optim.hpp"
#include "typenet/schedule.hpp"
#include "typenet/train/checkpoint_io.hpp"

namespace typenet {

struct fit_options {
    std::size_t epochs = 10;
    data::loader_options data{};  // batch, shuffle, drop_last, augmentation, seed, prefetch
    optimizer_config optimizer{};
    schedule_config schedule{};
    double clip_grad_norm = 0;    // 0: no clipping
    double label_smoothing = 0;
    std::size_t eval_batch = 256;
    std::string model_name = "net";  // stored in checkpoints (inference_info::model)
    std::optional<data::normalization> normalization{};  // default: from the training source
    std::filesystem::path resume{};  // a checkpoint written during an earlier fit; empty: start afresh
    std::vector<std::pair<std::string, std::string>> checkpoint_metadata{};  // stored in every checkpoint as is
    // Data-parallel training over the processes of comm (docs/distributed.md); null: this process
    // alone. data.batch is then the global batch, of which each rank trains on its slice.
    dist::communicator* comm = nullptr;
    // With comm: which ranks' slices the batch statistics cover (above).
    bn_sync_mode bn_sync{};
    // With comm: the parameter gradients are summed over the ranks in buckets of about this many
    // bytes (a larger gradient in pieces of this size), each started while the backward pass goes
    // on below it (detail::gradient_buckets); 0: one blocking sum per parameter tensor after the
    // backward pass.
    std::size_t grad_bucket_bytes = std::size_t(256) << 10;
    // With comm: every this many optimizer steps, compare a hash of every rank's parameters and
    // running statistics; replicas that differ throw dist::comm_error naming the step and the
    // ranks. 0: never.
    std::size_t check_replicas_every = 0;
    // Loss-landscape probes along the gradient every landscape.every steps (landscape.hpp), handed
    // to callback::on_landscape; they leave the run as it would be without them. One process only.
    landscape_options landscape{};
};

// One step, as callbacks see it.
struct step_log {
    std::size_t epoch = 0, step = 0, steps = 0;  // step of the epoch, 1-based, of steps
    std::size_t global_step = 0;                 // optimizer steps before this one, over the whole run
    std::size_t samples = 0;                     // in this batch
    double loss = 0, grad_norm = 0, lr = 0;      // this batch's mean loss, its gradient's norm, this step's rate
    double accuracy = 0;                         // the share of this batch classified right (before the update)
    double mean_loss = 0;                        // over the epoch's steps so far
    std::size_t seen = 0;                        // samples of the epoch so far
    double seconds = 0;                          // since the epoch began
};

// One epoch, as callbacks see it and fit_result::history holds it.
struct epoch_log {
    std::size_t epoch = 0;         // 1-based
    std::size_t steps = 0;         // optimizer steps taken in the epoch
    double train_loss = 0, train_accuracy = 0;  // over the epoch's batches, as they were trained on
    double grad_norm = 0;          // mean over the steps
    double lr = 0;                 // of the last step
    std::optional<evaluation> validation;  // when fit was given a validation source
    double seconds = 0;            // the whole epoch, validation included
    double images_per_second = 0;  // training samples / training seconds
    double wait_seconds = 0;       // of the training seconds, spent waiting for a batch to be prepared
    double sync_seconds = 0;       // of the training seconds, from the end of backward until the gradients
                                   // summed over the ranks are in place (data-parallel fit; this
                                   // invocation's steps only: checkpoints do not keep it)
    bool diverged = false;         // a non-finite loss or gradient norm was seen
    bool complete = true;          // false when a stop ended the epoch before its last batch
};

// The history as text (one epoch per line) and back: what checkpoints store. Exact for every
// double (17 digits), nan and inf included.
std::string history_to_text(const std::vector<epoch_log>& rows);
std::vector<epoch_log> history_from_text(const std::string& text);
// A count fit stores in a checkpoint's metadata (fit.step, fit.epoch) read back: decimal digits
// only, from 0 to 2^53, else io::checkpoint_error "FILE: KEY 'TEXT' is not a whole number from 0
// to 2^53" (a crafted file's checksum holds; std::stoull took "-1" as 2^64 - 1).
std::size_t count_from_text(const std::string& text, const std::string& file, const std::string& key);

// The epoch in progress, as a checkpoint written in its middle stores it (fit.partial): the
// batches trained on so far and the sums the epoch's row is made of.
struct fit_progress {
    bool active = false;  // an epoch has begun and not finished
    std::size_t epoch = 0, batches = 0, steps = 0, correct = 0, seen = 0;
    double lr = 0, loss_sum = 0, norm_sum = 0, seconds = 0, wait = 0;
    bool diverged = false;
    std::string to_text() const;
    static fit_progress from_text(const std::string& text, const std::string& file);  // throws io::checkpoint_error
};

// What callbacks can see of the run and do to it.
class fit_context {
public:
    const fit_options& options;
    std::size_t epoch = 0, global_step = 0, steps_per_epoch = 0;
    const std::vector<epoch_log>& history;

    void request_stop(std::string reason) {
        if (!stop_) stop_reason_ = std::move(reason);
        stop_ = true;
    }
    bool stop_requested() const { return stop_; }
    const std::string& stop_reason() const { return stop_reason_; }
    void skip_update() { skip_ = true; }  // from on_before_update: this step changes no parameter
    // The whole training state, atomically (a temporary file, fsync'ed, then renamed: the file
    // is the old one or the new one, never a mixture): after the last finished epoch, and in the
    // middle of an epoch also the batches trained on so far (see mid_epoch()).
    void save_checkpoint(const std::filesystem::path& file) const { save_(file); }
    const data::normalization& normalization() const { return *norm_; }
    const std::vector<std::string>& class_names() const { return *names_; }

    // Whether an epoch has begun and not finished: from on_train_end, a run stopped in the
    // middle of an epoch; save_checkpoint then saves that point (fit.partial), and resuming from
    // it continues with the next batch.
    bool mid_epoch() const { return progress_->active && progress_->batches > 0; }
    const fit_progress& progress() const { return *progress_; }

    fit_context(const fit_options& o, const std::vector<epoch_log>& h, std::function<void(const std::filesystem::path&)> save,
                const data::normalization& norm, const std::vector<std::string>& names, const fit_progress& p)
        : options(o), history(h), save_(std::move(save)), norm_(&norm), names_(&names), progress_(&p) {}

private:
    bool stop_ = false, skip_ = false;
    std::string stop_reason_;
    std::function<void(const std::filesystem::path&)> save_;
    const data::normalization* norm_;
    const std::vector<std::string>* names_;
    const fit_progress* progress_;

public:
    bool take_skip() {  // for fit: whether the current step's update was skipped (and reset)
        const bool s = skip_;
        skip_ = false;
        return s;
    }
};

// The base of every callback: each event does nothing unless overridden.
class callback {
public:
    virtual ~callback() = default;
    virtual void on_train_begin(fit_context&) {}
    virtual void on_epoch_begin(fit_context&) {}
    virtual void on_before_update(fit_context&, const step_log&) {}
    virtual void on_step_end(fit_context&, const step_log&) {}
    // A loss-landscape probe (fit_options::landscape), after the step's backward pass and before
    // its on_before_update.
    virtual void on_landscape(fit_context&, const landscape_log&) {}
    virtual void on_epoch_end(fit_context&, const epoch_log&) {}
    virtual void on_train_end(fit_context&) {}
};

struct fit_result {
    std::vector<epoch_log> history;    // every epoch of the run, those before a resume included
    data::normalization normalization;  // what the network was trained with: use it to predict
    std::string stop_reason;            // empty when all epochs ran
};

namespace detail {
// The gradient sums of a data-parallel fit (fit_options::grad_bucket_bytes): the parameter
// gradients, last layer first, in buckets summed over the ranks (communicator::start_sum) as
// soon as backward() has finished the bucket's lowest layer (net::set_backward_hook), while the
// layers below it still compute; every later layer lets the sums in flight progress (test()).
// finish() waits for the rest. A gradient of bucket_bytes or more is cut into pieces of
// bucket_bytes, each a bucket summed where it lies; smaller ones are gathered, in order, into
// buckets of about bucket_bytes, copied into one buffer for the sum and back after it. (Pieces,
// not one large sum: Open MPI's non-blocking all-reduce moves a round a progress call, and a
// large one would wait for the end of backward; measured in docs/distributed.md.)
template <class T>
class gradient_buckets {
public:
    template <class Net>
    gradient_buckets(Net& net, dist::communicator& comm, std::size_t bucket_bytes) : comm_(&comm) {
        std::vector<std::pair<std::size_t, std::span<T>>> grads;  // (layer, gradient), in layer order
        net.for_each_parameter([&](const parameter_view<T>& p) {
            std::size_t layer = 0;
            for (const char c : p.name.substr(0, p.name.find('.'))) layer = layer * 10 + std::size_t(c - '0');
            grads.emplace_back(layer, p.gradient);
        });
        bucket cur;
        const auto close = [&] {
            if (cur.grads.empty()) return;
            if (cur.grads.size() > 1) cur.buffer.resize(cur.size);
            buckets_.push_back(std::move(cur));
            cur = bucket{};
        };
        const std::size_t piece = std::max<std::size_t>(1, bucket_bytes / sizeof(T));
        for (auto it = grads.rbegin(); it != grads.rend(); ++it) {  // the order backward finishes them in
            if (it->second.size_bytes() >= bucket_bytes) {  // a large gradient: pieces, summed in place
                close();
                for (std::size_t at = 0; at < it->second.size(); at += piece) {
                    cur.grads.push_back(it->second.subspan(at, std::min(piece, it->second.size() - at)));
                    cur.layer = it->first;
                    cur.size = cur.grads.back().size();
                    close();
                }
                continue;
            }
            cur.grads.push_back(it->second);
            cur.layer = it->first;
            cur.size += it->second.size();
            if (cur.size * sizeof(T) >= bucket_bytes) close();
        }
        close();
    }
    std::size_t buckets() const { return buckets_.size(); }

    // The network's backward hook (net::set_backward_hook, with this as ctx).
    static void layer_done(void* self, std::size_t layer) { static_cast<gradient_buckets*>(self)->done(layer); }

    // After backward(): waits for every sum and puts it into the gradients.
    void finish() {
        start_ready(0);
        for (auto& b : buckets_) {
            b.pending->wait();
            b.pending.reset();
            if (b.grads.size() == 1) continue;  // summed in place
            std::size_t at = 0;
            for (auto g : b.grads) {
                std::copy_n(b.buffer.begin() + std::ptrdiff_t(at), g.size(), g.begin());
                at += g.size();
            }
        }
        started_ = 0;
    }

private:
    struct bucket {
        std::vector<std::span<T>> grads;
        std::size_t layer = 0;  // its lowest layer: the bucket is ready when backward has finished it
        std::size_t size = 0;   // values
        std::vector<T> buffer;  // with more than one gradient: their values one after the other
        std::unique_ptr<dist::pending_sum> pending;
    };
    void done(std::size_t layer) {
        start_ready(layer);
        for (std::size_t i = 0; i < started_; ++i)
            if (buckets_[i].pending) buckets_[i].pending->test();
    }
    void start_ready(std::size_t layer) {  // every bucket whose layers are all done, in order
        for (; started_ < buckets_.size() && buckets_[started_].layer >= layer; ++started_) {
            auto& b = buckets_[started_];
            if (b.grads.size() == 1) {
                b.pending = comm_->start_sum(b.grads[0]);
                continue;
            }
            std::size_t at = 0;
            for (auto g : b.grads) {
                std::copy(g.begin(), g.end(), b.buffer.begin() + std::ptrdiff_t(at));
                at += g.size();
            }
            b.pending = comm_->start_sum(std::span<T>(b.buffer));
        }
    }
    dist::communicator* comm_;
    std::vector<bucket> buckets_;
    std::size_t started_ = 0;
};

// CRC-32 (io::crc32, the checkpoints' checksum) of a network's parameters and running
// statistics: what the replica check compares across ranks.
template <class Net>
std::uint32_t replica_crc(Net& net) {
    using T = typename Net::value_type;
    std::uint32_t crc = 0;
    const auto add = [&](std::span<const T> v) {
        crc = io::crc32(reinterpret_cast<const unsigned char*>(v.data()), v.size_bytes(), crc);
    };
    net.for_each_parameter([&](const parameter_view<T>& p) { add(p.value); });
    net.for_each_state([&](const state_view<T>& s) { add(s.value); });
    return crc;
}

template <class Net, class Train, class Val>
fit_result fit_impl(Net& net, const Train& train, const Val* validation, const fit_options& o,
                    std::span<callback* const> callbacks) {
    using T = typename Net::value_type;
    using clock = std::chrono::steady_clock;
    const auto since = [](clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); };
    if (o.eval_batch == 0) throw std::invalid_argument("fit: eval_batch must be at least 1");
    if (!(o.clip_grad_norm >= 0)) throw std::invalid_argument("fit: clip_grad_norm must be >= 0 (0: no clipping)");
    if (!(o.label_smoothing >= 0 && o.label_smoothing < 1))
        throw std::invalid_argument("fit: label_smoothing must be in [0, 1)");
    o.optimizer.validate();
    o.landscape.validate();

    fit_result result;
    result.normalization = o.normalization ? *o.normalization : data::compute_normalization(train);
    data::loader_options lo = o.data;
    lo.training = true;
    dist::communicator* const comm = o.comm && o.comm->size() > 1 ? o.comm : nullptr;
    if (comm) lo.shard = std::size_t(comm->rank()), lo.shards = std::size_t(comm->size());
    std::optional<dist::batch_stats_sync> bn_sync;
    struct bn_sync_guard {  // the network's batch statistics are its own again when fit returns
        Net& net;
        bool on = false;
        ~bn_sync_guard() {
            if (on) net.set_bn_sync(nullptr);
        }
    } bn_sync_off{net};
    // The ranks whose slices the batch statistics cover (null: each rank's own), and whether the
    // running statistics are then averaged over all ranks after every step.
    std::unique_ptr<dist::communicator> bn_group;
    dist::communicator* bn_comm = nullptr;
    if (comm) {
        const auto size = std::size_t(comm->size());
        if (o.bn_sync.how == bn_sync_mode::global) {
            bn_comm = comm;
        } else if (o.bn_sync.how == bn_sync_mode::group) {
            try {
                o.bn_sync.check_ranks(size);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument(std::string("fit: bn_sync ") + e.what());
            }
            const std::size_t k = o.bn_sync.group_size;
            if (k == size) bn_comm = comm;
            else if (k > 1) bn_group = comm->split(comm->rank() / int(k)), bn_comm = bn_group.get();
        }
    }
    if (comm) {
        try {
            o.landscape.check_processes(std::size_t(comm->size()));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("fit: ") + e.what());
        }
    }
    const bool average_running_stats = comm && bn_comm != comm;
    if (bn_comm) {
        bn_sync.emplace(*bn_comm);
        net.set_bn_sync(&*bn_sync);
        bn_sync_off.on = true;
    }
    data::loader<Train, T> batches(train, result.normalization, lo);
    const std::size_t steps_per_epoch = batches.batches();
    if (steps_per_epoch == 0)
        throw std::invalid_argument("fit: " + std::to_string(train.size()) + " training samples make no batch of " +
                                    std::to_string(lo.batch));
    const lr_schedule schedule(o.schedule, steps_per_epoch, o.epochs);
    optimizer<T> opt(collect_parameters(net), o.optimizer);
    const softmax_cross_entropy loss(o.label_smoothing);

    const io::inference_info info{o.model_name, Net::input_shape::to_string(), train.class_names(),
                                  result.normalization};
    std::vector<epoch_log>& history = result.history;
    std::size_t step = 0, finished_epoch = 0;
    fit_progress cur;  // the epoch in progress, as a checkpoint written in its middle stores it
    const auto save = [&](const std::filesystem::path& file) {
        std::vector<epoch_log> done;
        for (const auto& r : history)
            if (r.epoch <= finished_epoch) done.push_back(r);
        std::vector<std::pair<std::string, std::string>> meta = o.checkpoint_metadata;
        meta.insert(meta.end(), {
            {"fit.epoch", std::to_string(finished_epoch)}, {"fit.step", std::to_string(step)},
            {"fit.batch", std::to_string(lo.batch)},       {"fit.seed", std::to_string(lo.seed)},
            {"fit.history", history_to_text(done)}});
        if (cur.active && cur.batches > 0) {
            meta.emplace_back("fit.partial", cur.to_text());
            std::string g;
            net.for_each_generator([&](rng& r) {
                for (auto w : r.state()) g += std::to_string(w) + ' ';
            });
            meta.emplace_back("fit.generators", g);
        }
        io::checkpoint ck = train::make_checkpoint(net, o.model_name, &opt, std::move(meta));
        io::store_inference_info(ck, info);
        io::write_checkpoint(file, ck);
    };
    std::size_t first_epoch = 1;
    if (!o.resume.empty()) {
        const io::checkpoint ck = io::read_checkpoint(o.resume);
        const std::string file = o.resume.string();
        for (const char* key : {"fit.epoch", "fit.step", "fit.batch", "fit.seed", "fit.history"})
            if (!ck.find_meta(key))
                throw io::checkpoint_error(file + ": no '" + key + "' entry: not a checkpoint written by typenet::fit");
        for (const auto& [key, want] : {std::pair<std::string, std::string>{"fit.batch", std::to_string(lo.batch)},
                                        {"fit.seed", std::to_string(lo.seed)}})
            if (*ck.find_meta(key) != want)
                throw io::checkpoint_error(file + ": written by a run with " + key.substr(4) + " " + *ck.find_meta(key) +
                                           ", this one has " + want + "; resume with the same settings");
        const auto stored = io::read_inference_info(ck, file);
        if (stored.normalization.mean != result.normalization.mean || stored.normalization.std != result.normalization.std)
            throw io::checkpoint_error(file + ": its normalisation differs from this run's (a different training source?)");
        train::restore_checkpoint(ck, file, net, o.model_name, &opt);
        step = count_from_text(*ck.find_meta("fit.step"), file, "fit.step");
        finished_epoch = count_from_text(*ck.find_meta("fit.epoch"), file, "fit.epoch");
        first_epoch = finished_epoch + 1;
        history = history_from_text(*ck.find_meta("fit.history"));
        if (const std::string* partial = ck.find_meta("fit.partial")) {
            cur = fit_progress::from_text(*partial, file);
            if (cur.epoch != first_epoch || cur.batches == 0 || cur.batches > steps_per_epoch)
                throw io::checkpoint_error(file + ": its epoch in progress (" + *partial + ") does not follow epoch " +
                                           std::to_string(finished_epoch) + " of " + std::to_string(steps_per_epoch) +
                                           " steps");
            const std::string* gens = ck.find_meta("fit.generators");
            std::istringstream g(gens ? *gens : std::string());
            std::size_t count = 0;
            net.for_each_generator([&](rng& r) {
                std::array<std::uint64_t, 4> w{};
                for (auto& x : w)
                    if (!(g >> x)) throw io::checkpoint_error(file + ": fit.generators holds too few states for this network");
                r.set_state(w);
                ++count;
            });
            std::string extra;
            if (g >> extra) throw io::checkpoint_error(file + ": fit.generators holds more states than this network has");
        }
        opt.set_steps(step);
    }

    std::optional<detail::gradient_buckets<T>> buckets;
    struct hook_guard {  // the network calls no hook of fit's once fit returns
        Net& net;
        ~hook_guard() { net.set_backward_hook(nullptr, nullptr); }
    } no_hook_after{net};
    if (comm && o.grad_bucket_bytes > 0) {
        buckets.emplace(net, *comm, o.grad_bucket_bytes);
        net.set_backward_hook(&detail::gradient_buckets<T>::layer_done, &*buckets);
    }
    struct input_gradient_guard {  // nothing reads dLoss/d(input) while training: the first layer skips it
        Net& net;
        bool was = net.input_gradient_enabled();
        ~input_gradient_guard() { net.set_input_gradient(was); }
    } no_input_gradient{net};
    net.set_input_gradient(false);
    fit_context ctx(o, history, save, result.normalization, train.class_names(), cur);
    ctx.steps_per_epoch = steps_per_epoch;
    ctx.global_step = step;
    ctx.epoch = finished_epoch;
    for (auto* c : callbacks) c->on_train_begin(ctx);
    // Over ranks: a stop any rank requested is every rank's, so that all leave the loop together.
    const auto agree_on_stop = [&] {
        if (!comm) return;
        double stops = ctx.stop_requested() ? 1.0 : 0.0;
        comm->sum(std::span<double>(&stops, 1));
        if (stops > 0 && !ctx.stop_requested()) ctx.request_stop("stopped on another rank");
    };
    const auto check_replicas = [&] {
        if (!comm || o.check_replicas_every == 0 || step % o.check_replicas_every != 0) return;
        const double mine = detail::replica_crc(net);  // 32 bits: exact in a double
        std::vector<double> all(std::size_t(comm->size()));
        comm->allgather(std::span<const double>(&mine, 1), all);
        std::string differ;
        for (std::size_t r = 1; r < all.size(); ++r)
            if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
        if (!differ.empty())
            throw dist::comm_error("fit: the replicas differ after step " + std::to_string(step) + ": the parameters and "
                                   "running statistics of rank(s) " + differ + " are not rank 0's");
    };

    typename Net::input_tensor x;
    tensor<T, typename Net::output_shape> dlogits;
    std::vector<T> running;
    detail::network_snapshot<T> before_step;  // the running statistics (and generators, for a probe) before the forward pass
    for (std::size_t epoch = first_epoch; epoch <= o.epochs && !ctx.stop_requested(); ++epoch) {
        const auto t0 = clock::now();
        ctx.epoch = epoch;
        net.train();
        const bool resumed = cur.active;  // continuing an epoch a checkpoint stopped in
        if (!resumed) {
            cur = fit_progress{};
            cur.active = true;
            cur.epoch = epoch;
            net.reseed_layers(data::epoch_rng(lo.seed, epoch, 3).next());
        }
        for (auto* c : callbacks) c->on_epoch_begin(ctx);
        batches.start(epoch, cur.batches);
        const double wait0 = batches.wait_seconds(), seconds0 = cur.seconds, waited0 = cur.wait;
        double sync_seconds = 0;  // waiting for the ranks' gradient sums after backward (not checkpointed)
        double skipped_loss = 0;  // a step whose update a callback skipped still counts in the row
        std::size_t skipped_seen = 0, skipped_correct = 0;
        bool skipped = false;
        while (!ctx.stop_requested()) {
            const auto* batch = batches.next();
            if (!batch) break;
            const std::size_t n = batch->size, n_all = batch->global_size;  // this rank's samples, the batch's
            x.resize(n);
            std::copy(batch->images().begin(), batch->images().end(), x.data());
            // The running statistics move in the forward pass: kept, so that a skipped update
            // leaves the network exactly as the previous step left it.
            net.set_train_step(step);  // schedules inside layers (batch_renorm's clipping limits)
            const double lr = schedule.at(step);
            const bool probe = o.landscape.every > 0 && step % o.landscape.every == 0 && lr > 0;
            before_step.take(net, probe);
            const auto& y = net.forward(x);
            double l = loss.loss_and_gradient(y, batch->labels(), dlogits);
            std::size_t c = count_correct(y, batch->labels());
            opt.zero_grad();
            if (comm) {  // d(the whole batch's mean loss) / d(this slice's logits)
                const T share = T(double(n) / double(n_all));
                for (auto& d : dlogits.flat()) d *= share;
            }
            net.backward(dlogits);
            if (probe && std::isfinite(l)) {
                landscape_log p = detail::probe_landscape(net, before_step, l, lr, o.landscape, [&] {
                    const auto& y2 = net.forward(x);  // y is this buffer too: its count is taken above
                    const double l2 = loss.loss_and_gradient(y2, batch->labels(), dlogits);
                    net.backward(dlogits);
                    return l2;
                });
                p.epoch = epoch, p.step = step + 1;
                for (auto* cb : callbacks) cb->on_landscape(ctx, p);
            }
            if (comm) {  // the whole batch's gradient, loss and correct count, the same on every rank
                const auto w0 = clock::now();
                if (buckets) buckets->finish();
                else net.for_each_parameter([&](const parameter_view<T>& p) { comm->sum(p.gradient); });
                sync_seconds += since(w0);
                std::array<double, 2> sums{l * double(n), double(c)};
                comm->sum(std::span<double>(sums));
                l = sums[0] / double(n_all);
                c = std::size_t(sums[1]);
                if (average_running_stats) {  // running statistics: the ranks' average, in one sum
                    running.clear();
                    net.for_each_state([&](const state_view<T>& v) { running.insert(running.end(), v.value.begin(), v.value.end()); });
                    comm->sum(std::span<T>(running));
                    std::size_t at = 0;
                    net.for_each_state([&](const state_view<T>& v) {
                        for (auto& e : v.value) e = running[at++] / T(comm->size());
                    });
                }
            }
            const double norm = o.clip_grad_norm > 0 ? opt.clip_gradient_norm(o.clip_grad_norm) : opt.gradient_norm();
            if (!std::isfinite(l) || !std::isfinite(norm)) cur.diverged = true;
            step_log s{.epoch = epoch, .step = cur.batches + 1, .steps = steps_per_epoch, .global_step = step,
                       .samples = n_all, .loss = l, .grad_norm = norm, .lr = lr,
                       .accuracy = double(c) / double(n_all)};
            for (auto* cb : callbacks) cb->on_before_update(ctx, s);
            if (ctx.take_skip()) {
                before_step.put_back(net, false);  // the running statistics (the generators move on as they did)
                skipped = true;
                skipped_loss = l * double(n_all), skipped_seen = n_all, skipped_correct = c;
                s.seen = cur.seen + n_all;
                s.mean_loss = (cur.loss_sum + skipped_loss) / double(s.seen);
                s.seconds = seconds0 + since(t0);
                for (auto* cb : callbacks) cb->on_step_end(ctx, s);
                agree_on_stop();
                break;  // a skipped update ends the epoch: the state is the one before this step
            }
            opt.step(s.lr);
            ++step;
            cur.batches += 1;
            cur.steps += 1;
            cur.lr = s.lr;
            cur.loss_sum += l * double(n_all);
            cur.norm_sum += norm;
            cur.correct += c;
            cur.seen += n_all;
            cur.seconds = seconds0 + since(t0);
            cur.wait = waited0 + (batches.wait_seconds() - wait0);
            ctx.global_step = step;
            s.seen = cur.seen;
            s.mean_loss = cur.loss_sum / double(cur.seen);
            s.seconds = cur.seconds;
            for (auto* cb : callbacks) cb->on_step_end(ctx, s);
            check_replicas();
            agree_on_stop();
        }
        epoch_log row;
        row.epoch = epoch;
        row.steps = cur.steps;
        row.lr = cur.lr;
        row.diverged = cur.diverged;
        row.complete = cur.batches == steps_per_epoch && !skipped;
        const double train_seconds = seconds0 + since(t0);
        const std::size_t seen = cur.seen + skipped_seen;
        row.train_loss = seen ? (cur.loss_sum + skipped_loss) / double(seen) : 0;
        row.train_accuracy = seen ? double(cur.correct + skipped_correct) / double(seen) : 0;
        row.grad_norm = cur.steps ? cur.norm_sum / double(cur.steps) : 0;
        row.images_per_second = train_seconds > 0 ? double(seen) / train_seconds : 0;
        row.wait_seconds = waited0 + (batches.wait_seconds() - wait0);
        row.sync_seconds = sync_seconds;
        net.release_buffers();  // evaluation needs no training activations
        if (validation && row.complete)  // a stopped epoch is not validated: stopping stays quick
            row.validation = evaluate(net, *validation, result.normalization, o.eval_batch, loss, comm);
        net.release_buffers();
        row.seconds = seconds0 + since(t0);
        history.push_back(row);
        if (row.complete) {
            finished_epoch = epoch;
            cur.active = false;
        }
        for (auto* cb : callbacks) cb->on_epoch_end(ctx, row);
        agree_on_stop();
    }
    for (auto* c : callbacks) c->on_train_end(ctx);
    result.stop_reason = ctx.stop_reason();
    return result;
}
}  // namespace detail

// Trains net on train for options.epochs epochs (see the top of this file).
template <class Net, data::source Train>
fit_result fit(Net& net, const Train& train, const fit_options& options, std::initializer_list<callback*> callbacks = {}) {
    if constexpr (data::fits<Net, Train>)
        return detail::fit_impl<Net, Train, Train>(net, train, nullptr, options,
                                                   std::span<callback* const>(callbacks.begin(), callbacks.size()));
    else
        return {};
}

// The same, evaluating the validation source after every epoch (epoch_log::validation).
template <class Net, data::source Train, data::source Val>
fit_result fit(Net& net, const Train& train, const Val& validation, const fit_options& options,
               std::initializer_list<callback*> callbacks = {}) {
    if constexpr (data::fits<Net, Train> && data::fits<Net, Val>)
        return detail::fit_impl<Net, Train, Val>(net, train, &validation, options,
                                                 std::span<callback* const>(callbacks.begin(), callbacks.size()));
    else
        return {};
}

// Both, with the callbacks in a span (a list put together at run time).
template <class Net, data::source Train>
fit_result fit(Net& net, const Train& train, const fit_options& options, std::span<callback* const> callbacks) {
    if constexpr (data::fits<Net, Train>)
        return detail::fit_impl<Net, Train, Train>(net, train, nullptr, options, callbacks);
    else
        return {};
}
template <class Net, data::source Train, data::source Val>
fit_result fit(Net& net, const Train& train, const Val& validation, const fit_options& options,
               std::span<callback* const> callbacks) {
    if constexpr (data::fits<Net, Train> && data::fits<Net, Val>)
        return detail::fit_impl<Net, Train, Val>(net, train, &validation, options, callbacks);
    else
        return {};
}

}  // namespace typenet
