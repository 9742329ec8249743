// typenet/data/loader.hpp - epochs of batches from any data source: seeded shuffling,
// augmentation on any C x H x W, normalisation, and the next batch prepared on a background
// thread while the network trains on the current one.
//
//   data::loader<Source> batches(train_source, norm, {.batch = 128, .augment = {.pad_crop = 4, .flip = true}});
//   batches.start(epoch);                       // epoch >= 1; the order and the draws follow from (seed, epoch)
//   while (const auto* b = batches.next()) {    // nullptr after the epoch's last batch
//       x.resize(b->size); std::copy(b->images.begin(), b->images.end(), x.data()); ...
//   }
//
// Everything random derives from (seed, epoch): the order of epoch e is a Fisher-Yates shuffle
// drawn from epoch_rng(seed, e, 1), the augmentation draws come from epoch_rng(seed, e, 2) in
// sample order, so an epoch is the same whether it is prepared ahead or not, and an epoch
// started at batch k (start(e, k), a resumed run) continues exactly where it stopped.
//
// Augmentation (training loaders only; every step off by default), per sample and in this order:
//   pad_crop P  a random H x W window of the sample zero-padded by P on every side (the offset
//               of each axis uniform in [-P, P]; padding is value 0, as torchvision's
//               RandomCrop(size, padding=P)); two draws, rows then columns
//   flip        a horizontal flip with probability 1/2; one draw
//   (normalisation)
//   cutout S    a square of S x S values, its centre uniform over the H x W positions and
//               clipped at the borders, set to 0 in every channel after normalisation (the data
//               set's mean; DeVries and Taylor 2017); two draws, rows then columns
// They need samples of shape<C, H, W>: asking for one on a flat shape<N> throws
// std::invalid_argument. For CIFAR-10 these are exactly data::batch_plan's augment and cutout
// (test_loader.cpp checks the batches bit for bit), so typenet-train's runs are unchanged.
//
// Batches: ceil(n / batch) per epoch, the last one smaller, or floor(n / batch) with drop_last;
// a training loader drops a last batch of a single sample (batch normalisation cannot estimate
// statistics from one), which batches() accounts for. An evaluation loader (training = false)
// keeps the source's order and applies no augmentation.
//
// Shards (data-parallel training over several processes, each with a loader of its own): with
// shards = k, the loader of shard s gives slice s of every batch: the batch of n samples is cut
// into k consecutive slices that differ by at most one sample (the first n % k slices have one
// more; shard_slice below). The order and the augmentation draws are the unsharded loader's (the
// draws of the other slices' samples are taken and skipped), so the k loaders' slices of batch b,
// concatenated in shard order, are the unsharded loader's batch b, bit for bit. batch::global_size
// and batch::first say where the slice sits. A training loader then drops a last batch of fewer
// than k samples, so that every shard has one; an evaluation loader keeps it, and a slice of it
// may be empty (size 0).
//
// Prefetching: with prefetch (the default) one background thread prepares batch k + 1 while the
// caller holds batch k (two buffers, so at most one batch ahead; the memory is two batches).
// wait_seconds() is the time next() spent waiting for a batch that was not ready: the measure of
// whether preparing batches holds the training back (docs/library.md#batches-and-augmentation).
// An exception thrown while preparing a batch is rethrown by next().
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "typenet/data/source.hpp"
#include "typenet/rng.hpp"

namespace typenet::data {

// The generator for (seed, epoch, stream): independent streams for shuffling (1), augmentation
// (2) and the network's own randomness such as dropout (3).
inline rng epoch_rng(std::uint64_t seed, std::size_t epoch, std::uint64_t stream) {
    rng mix(seed ^ 0x5851F42D4C957F2Dull);
    std::uint64_t s = mix.next();
    s ^= (std::uint64_t(epoch) + 1) * 0x9E3779B97F4A7C15ull;
    s ^= (stream + 1) * 0xD1B54A32D192ED03ull;
    return rng(s);
}

struct augmentation {
    std::size_t pad_crop = 0;  // P: random crop from the sample padded by P on each side; 0 = off
    bool flip = false;         // horizontal flip with probability 1/2
    std::size_t cutout = 0;    // S: an S x S square set to 0 after normalisation; 0 = off
    bool any() const { return pad_crop > 0 || flip || cutout > 0; }
};

// ---- transforms on one C x H x W sample ------------------------------------------------------
// dst = the H x W window at offset (dy, dx) of src zero-padded on every side, mirrored left to
// right when flip: dst(c, y, x) = src(c, y + dy, x' + dx) with x' = W - 1 - x when flip, else x,
// and 0 where that falls outside src. dst and src must not overlap.
template <class V>
void crop_flip(const V* src, V* dst, std::size_t C, std::size_t H, std::size_t W, int dy, int dx, bool flip) {
    const int h = int(H), w = int(W);
    for (std::size_t c = 0; c < C; ++c) {
        const V* s = src + c * H * W;
        V* d = dst + c * H * W;
        for (int y = 0; y < h; ++y) {
            const int sy = y + dy;
            for (int x = 0; x < w; ++x) {
                const int sx = (flip ? w - 1 - x : x) + dx;
                d[y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? s[sy * w + sx] : V(0);
            }
        }
    }
}

// Sets to 0, in all C channels, the side x side square whose rows and columns are
// [centre - side/2, centre - side/2 + side), clipped to the image.
template <class T>
void cut_out(T* sample, std::size_t C, std::size_t H, std::size_t W, int cy, int cx, std::size_t side) {
    const int s = int(side);
    const int y0 = std::max(0, cy - s / 2), y1 = std::min(int(H), cy - s / 2 + s);
    const int x0 = std::max(0, cx - s / 2), x1 = std::min(int(W), cx - s / 2 + s);
    for (std::size_t c = 0; c < C; ++c)
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) sample[c * H * W + std::size_t(y) * W + std::size_t(x)] = T(0);
}

struct loader_options {
    std::size_t batch = 128;
    bool shuffle = true;     // training loaders only
    bool drop_last = false;  // training loaders only
    bool training = true;    // false: the source's order, no augmentation, every sample
    augmentation augment{};  // training loaders only
    std::uint64_t seed = 0;
    bool prefetch = true;    // prepare the next batch on a background thread
    std::size_t shard = 0, shards = 1;  // this loader's slice of every batch, of `shards` (see the top)
};

// Slice `shard` of `shards` of a batch of n samples: samples [first, first + size).
struct shard_slice {
    std::size_t first = 0, size = 0;
};
inline shard_slice slice_of(std::size_t n, std::size_t shard, std::size_t shards) {
    const std::size_t base = n / shards, extra = n % shards;
    return {shard * base + std::min(shard, extra), base + (shard < extra ? 1 : 0)};
}

// The batches of an epoch of n samples under options o: what loader::batches() is, without
// building a loader (its two batch buffers).
inline std::size_t batches_per_epoch(std::size_t n, const loader_options& o) {
    if (o.batch == 0 || o.shards == 0) return 0;
    std::size_t b = o.training && o.drop_last ? n / o.batch : (n + o.batch - 1) / o.batch;  // drop_last: training only
    // Training: no batch of one sample, and a sample for every shard.
    const std::size_t least = std::max<std::size_t>(2, o.shards);
    if (o.training && b > 0 && std::min(o.batch, n - (b - 1) * o.batch) < least) --b;
    return b;
}

template <source S, class T = float>
class loader {
    static_assert(std::is_floating_point_v<T>, "typenet: data::loader<Source, T> makes float or double batches");

public:
    using sample_shape = typename S::sample_shape;
    using value_type = typename S::value_type;

    struct batch {
        std::size_t index = 0, size = 0;  // which batch of the epoch, how many samples
        std::size_t global_size = 0, first = 0;  // with shards: the whole batch's samples, where this slice begins
        std::vector<T> storage;           // size * sample_shape::size values (capacity of a full batch)
        std::vector<std::int32_t> label_storage;
        std::span<const T> images() const { return {storage.data(), size * sample_shape::size}; }
        std::span<const std::int32_t> labels() const { return {label_storage.data(), size}; }
    };

    // Keeps a reference to the source: it must outlive the loader. Throws std::invalid_argument
    // for batch 0, a normalisation that does not fit the samples, or augmentation of flat
    // samples or a cutout larger than the image.
    loader(const S& source, normalization norm, loader_options options)
        : source_(source), norm_(std::move(norm)), opt_(options) {
        if (opt_.batch == 0) throw std::invalid_argument("data::loader: the batch size must be at least 1");
        if (opt_.shards == 0 || opt_.shard >= opt_.shards)
            throw std::invalid_argument("data::loader: shard " + std::to_string(opt_.shard) + " of " +
                                        std::to_string(opt_.shards) + " shards does not exist (0 <= shard < shards)");
        if (opt_.training && opt_.batch < opt_.shards)
            throw std::invalid_argument("data::loader: a batch of " + std::to_string(opt_.batch) + " cannot give each of " +
                                        std::to_string(opt_.shards) + " shards a sample");
        if (!opt_.training) opt_.augment = {}, opt_.shuffle = false, opt_.drop_last = false;
        if (opt_.augment.any()) {
            if constexpr (sample_shape::rank != 3) {
                throw std::invalid_argument("data::loader: augmentation (pad_crop, flip, cutout) needs C x H x W "
                                            "samples, these are " + sample_shape::to_string());
            } else if (opt_.augment.cutout > std::max(sample_shape::dims[1], sample_shape::dims[2])) {
                throw std::invalid_argument("data::loader: a cutout of " + std::to_string(opt_.augment.cutout) +
                                            " is larger than the " + sample_shape::to_string() + " samples");
            }
        }
        // The normalisation's checks, once, on an empty batch.
        fill_batch(source_, std::span<const std::size_t>(), norm_, static_cast<T*>(nullptr), nullptr);
        for (auto& b : slots_) {
            b.storage.resize(opt_.batch * sample_shape::size);
            b.label_storage.resize(opt_.batch);
        }
        if constexpr (sample_shape::rank == 3) scratch_.resize(sample_shape::size);
        batches_ = batches_per_epoch(source_.size(), opt_);
    }
    loader(const loader&) = delete;
    loader& operator=(const loader&) = delete;
    ~loader() { stop(); }

    // Begins epoch `epoch` (>= 1 for training; any value for evaluation) at batch first_batch
    // (a run resumed mid-epoch): the order and the augmentation draws are those the epoch would
    // have had from its start. A previous epoch still being prepared is abandoned.
    void start(std::size_t epoch, std::size_t first_batch = 0) {
        stop();
        const std::size_t n = source_.size();
        order_.resize(n);
        for (std::size_t i = 0; i < n; ++i) order_[i] = i;
        if (opt_.training && opt_.shuffle) {
            rng g = epoch_rng(opt_.seed, epoch, 1);
            for (std::size_t i = n; i > 1; --i) std::swap(order_[i - 1], order_[g.below(i)]);
        }
        if (first_batch > batches_)
            throw std::out_of_range("data::loader: batch " + std::to_string(first_batch) + " of an epoch of " +
                                    std::to_string(batches_));
        aug_ = epoch_rng(opt_.seed, epoch, 2);
        for (std::size_t k = 0; k < first_batch * opt_.batch; ++k) draw();  // the skipped samples' draws
        next_fill_ = next_take_ = first_batch;
        held_ = -1;
        state_ = {slot_state::free, slot_state::free};
        error_ = nullptr;
        stopping_ = false;
        if (opt_.prefetch && first_batch < batches_) worker_ = std::thread([this] { produce(); });
    }

    // The epoch's next batch, or nullptr after its last. The batch stays valid until the next
    // call of next() or start().
    const batch* next() {
        const auto t0 = std::chrono::steady_clock::now();
        if (!opt_.prefetch) {
            if (next_take_ >= batches_) return nullptr;
            batch& b = slots_[0];
            fill(next_take_++, b);
            wait_ += seconds_since(t0);
            return &b;
        }
        std::unique_lock lock(mutex_);
        if (held_ >= 0) {
            state_[std::size_t(held_)] = slot_state::free;
            held_ = -1;
            changed_.notify_all();
        }
        if (next_take_ >= batches_) {
            lock.unlock();
            join();
            return nullptr;
        }
        const std::size_t s = next_take_ % 2;
        changed_.wait(lock, [&] { return state_[s] == slot_state::filled || error_; });
        if (error_ && state_[s] != slot_state::filled) {
            auto e = error_;
            lock.unlock();
            join();
            std::rethrow_exception(e);
        }
        state_[s] = slot_state::held;
        held_ = int(s);
        ++next_take_;
        wait_ += seconds_since(t0);
        return &slots_[s];
    }

    std::size_t batches() const { return batches_; }    // per epoch (the same in every epoch)
    // The samples of batch b (the whole batch's, with shards: batch::size is the slice's).
    std::size_t size_of(std::size_t b) const { return std::min(opt_.batch, source_.size() - b * opt_.batch); }
    double wait_seconds() const { return wait_; }        // in next(), since construction
    double prepare_seconds() const { return prepare_.load(std::memory_order_relaxed); }  // preparing batches, on whichever thread
    const loader_options& options() const { return opt_; }
    const normalization& norm() const { return norm_; }

private:
    enum class slot_state { free, filled, held };
    struct draws {
        int dy = 0, dx = 0, cy = 0, cx = 0;
        bool flip = false;
    };

    static double seconds_since(std::chrono::steady_clock::time_point t0) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

    draws draw() {
        draws d;
        if constexpr (sample_shape::rank == 3) {
            const auto& a = opt_.augment;
            if (a.pad_crop > 0) {
                const auto span = std::uint64_t(2 * a.pad_crop + 1), pad = std::uint64_t(a.pad_crop);
                d.dy = int(aug_.below(span)) - int(pad);
                d.dx = int(aug_.below(span)) - int(pad);
            }
            if (a.flip) d.flip = aug_.uniform() < 0.5;
            if (a.cutout > 0) {
                d.cy = int(aug_.below(sample_shape::dims[1]));
                d.cx = int(aug_.below(sample_shape::dims[2]));
            }
        }
        return d;
    }

    void fill(std::size_t b, batch& out) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::size_t first = b * opt_.batch, count = size_of(b);
        const shard_slice mine = slice_of(count, opt_.shard, opt_.shards);
        out.index = b;
        out.size = mine.size;
        out.global_size = count;
        out.first = mine.first;
        const std::span<const std::size_t> idx(order_.data() + first + mine.first, mine.size);
        if (!opt_.augment.any()) {
            fill_batch(source_, idx, norm_, out.storage.data(), out.label_storage.data());
        } else if constexpr (sample_shape::rank == 3) {
            constexpr std::size_t C = sample_shape::dims[0], H = sample_shape::dims[1], W = sample_shape::dims[2];
            const auto& a = opt_.augment;
            for (std::size_t j = 0; j < count; ++j) {
                const draws d = draw();  // every sample's draws, in order: the other shards' are skipped
                if (j < mine.first || j >= mine.first + mine.size) continue;
                const std::size_t k = j - mine.first;
                T* dst = out.storage.data() + k * sample_shape::size;
                if (a.pad_crop > 0 || a.flip) {
                    crop_flip(source_.sample(idx[k]), scratch_.data(), C, H, W, d.dy, d.dx, d.flip);
                    normalize_sample<S>(scratch_.data(), norm_, dst);
                } else {
                    normalize_sample<S>(source_.sample(idx[k]), norm_, dst);
                }
                out.label_storage[k] = std::int32_t(source_.label(idx[k]));
                if (a.cutout > 0) cut_out(dst, C, H, W, d.cy, d.cx, a.cutout);
            }
        }
        prepare_.fetch_add(seconds_since(t0), std::memory_order_relaxed);
    }

    void produce() {
        try {
            for (std::size_t b = next_fill_; b < batches_; ++b) {
                const std::size_t s = b % 2;
                {
                    std::unique_lock lock(mutex_);
                    changed_.wait(lock, [&] { return state_[s] == slot_state::free || stopping_; });
                    if (stopping_) return;
                }
                fill(b, slots_[s]);  // the slot is the producer's until it is marked filled
                std::lock_guard lock(mutex_);
                state_[s] = slot_state::filled;
                changed_.notify_all();
            }
        } catch (...) {
            std::lock_guard lock(mutex_);
            error_ = std::current_exception();
            changed_.notify_all();
        }
    }

    void join() {
        if (worker_.joinable()) worker_.join();
    }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            changed_.notify_all();
        }
        join();
    }

    const S& source_;
    normalization norm_;
    loader_options opt_;
    std::vector<std::size_t> order_;
    std::size_t batches_ = 0, next_fill_ = 0, next_take_ = 0;
    rng aug_;
    std::vector<value_type> scratch_;
    std::array<batch, 2> slots_;
    std::array<slot_state, 2> state_{slot_state::free, slot_state::free};
    int held_ = -1;
    bool stopping_ = false;
    std::exception_ptr error_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::thread worker_;
    double wait_ = 0;
    std::atomic<double> prepare_{0};
};

}  // namespace typenet::data
