// data::loader (data/loader.hpp): the transforms on small hand-worked images, the augmented
// batches of any C x H x W against the transforms' definition, CIFAR-10 batches bit for bit
// against data::batch_plan (what typenet-train has always fed), prefetching against preparing
// in place, an epoch resumed at a batch, and errors from a source rethrown by next().
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "typenet/data/loader.hpp"
#include "typenet/data/pipeline.hpp"

using namespace typenet;

namespace {
data::cifar10_set random_cifar(std::size_t n, std::uint64_t seed) {
    data::cifar10_set set;
    rng g(seed);
    for (std::size_t i = 0; i < n; ++i) {
        set.labels.push_back(std::int32_t(g.below(10)));
        for (std::size_t j = 0; j < data::cifar10_image_bytes; ++j) set.pixels.push_back(std::uint8_t(g.below(256)));
    }
    return set;
}

data::normalization as_norm(const data::channel_stats& s) {
    return {{s.mean[0], s.mean[1], s.mean[2]}, {s.std[0], s.std[1], s.std[2]}};
}

template <class L>
std::vector<std::vector<float>> epoch_images(L& l, std::size_t epoch, std::size_t first = 0,
                                             std::vector<std::int32_t>* labels = nullptr) {
    std::vector<std::vector<float>> out;
    l.start(epoch, first);
    while (const auto* b = l.next()) {
        out.emplace_back(b->images().begin(), b->images().end());
        if (labels) labels->insert(labels->end(), b->labels().begin(), b->labels().end());
    }
    return out;
}

// A source whose sample `bad` cannot be read: how a reader's failure reaches the caller.
struct failing_source {
    using sample_shape = shape<1, 2, 2>;
    using value_type = float;
    static constexpr std::size_t classes = 2;
    std::size_t bad = 0;
    std::vector<float> values = std::vector<float>(4 * 10, 0.5f);
    std::size_t size() const { return 10; }
    const float* sample(std::size_t i) const {
        if (i == bad) throw std::runtime_error("sample " + std::to_string(i) + " is unreadable");
        return values.data() + 4 * i;
    }
    std::int32_t label(std::size_t i) const { return std::int32_t(i % 2); }
    const std::vector<std::string>& class_names() const {
        static const std::vector<std::string> names{"a", "b"};
        return names;
    }
};
static_assert(data::source<failing_source>);
}  // namespace

TEST_CASE("crop_flip and cut_out on small images worked by hand") {
    // 1 x 2 x 3:  1 2 3 / 4 5 6
    const std::vector<int> img{1, 2, 3, 4, 5, 6};
    std::vector<int> out(6);
    data::crop_flip(img.data(), out.data(), 1, 2, 3, 0, 1, false);
    CHECK(out == std::vector<int>{2, 3, 0, 5, 6, 0});
    data::crop_flip(img.data(), out.data(), 1, 2, 3, 0, 0, true);
    CHECK(out == std::vector<int>{3, 2, 1, 6, 5, 4});
    data::crop_flip(img.data(), out.data(), 1, 2, 3, -1, 0, false);
    CHECK(out == std::vector<int>{0, 0, 0, 1, 2, 3});
    data::crop_flip(img.data(), out.data(), 1, 2, 3, 1, -1, true);  // flip, then the window moves
    CHECK(out == std::vector<int>{5, 4, 0, 0, 0, 0});
    data::crop_flip(img.data(), out.data(), 1, 2, 3, 0, 3, false);  // entirely outside: all padding
    CHECK(out == std::vector<int>(6, 0));

    // 2 x 3 x 4 of ones: a side-2 square centred at (0, 0) covers row 0, column 0 only (clipped);
    // a side-3 square at (1, 2) covers rows 0-2 and columns 1-3, in both channels.
    std::vector<float> ones(24, 1.0f);
    data::cut_out(ones.data(), 2, 3, 4, 0, 0, 2);
    CHECK(ones[0] == 0.0f);
    CHECK(ones[12] == 0.0f);
    CHECK(std::count(ones.begin(), ones.end(), 0.0f) == 2);
    std::fill(ones.begin(), ones.end(), 1.0f);
    data::cut_out(ones.data(), 2, 3, 4, 1, 2, 3);
    CHECK(std::count(ones.begin(), ones.end(), 0.0f) == 18);
    CHECK(ones[0] == 1.0f);
    CHECK(ones[12 + 4] == 1.0f);
    CHECK(ones[12 + 5] == 0.0f);
}

TEST_CASE("every augmented sample of a 3x5x7 source is a crop and flip of its original within the padding") {
    using src_t = data::memory_source<shape<3, 5, 7>, 4, std::uint8_t>;
    rng g(3);
    std::vector<std::uint8_t> px(40 * 105);
    for (auto& p : px) p = std::uint8_t(1 + g.below(255));  // no zeros: padding is recognisable
    std::vector<std::int32_t> labels(40);
    for (std::size_t i = 0; i < 40; ++i) labels[i] = std::int32_t(i % 4);
    const src_t src(px, labels);
    const auto norm = data::compute_normalization(src);
    data::loader<src_t> l(src, norm, {.batch = 16, .augment = {.pad_crop = 2, .flip = true}, .seed = 9});
    l.start(1);
    std::size_t flips = 0, seen = 0, moved = 0;
    std::vector<std::uint8_t> crop(105);
    std::vector<float> want(105);
    while (const auto* b = l.next()) {
        for (std::size_t k = 0; k < b->size; ++k) {
            const float* got = b->images().data() + k * 105;
            // Which original, which offset and which flip: the label narrows the originals down.
            std::optional<std::tuple<int, int, bool>> match;
            for (std::size_t i = std::size_t(b->labels()[k]); i < 40 && !match; i += 4)
                for (int dy = -2; dy <= 2 && !match; ++dy)
                    for (int dx = -2; dx <= 2 && !match; ++dx)
                        for (bool f : {false, true}) {
                            data::crop_flip(src.sample(i), crop.data(), 3, 5, 7, dy, dx, f);
                            data::normalize_sample<src_t>(crop.data(), norm, want.data());
                            if (std::equal(want.begin(), want.end(), got)) {
                                match = std::tuple{dy, dx, f};
                                break;
                            }
                        }
            REQUIRE(match);
            flips += std::get<2>(*match);
            moved += std::get<0>(*match) != 0 || std::get<1>(*match) != 0;
            ++seen;
        }
    }
    CHECK(seen == 40);
    CHECK(flips > 5);
    CHECK(flips < 35);
    CHECK(moved > 25);  // 24 of 25 offsets move the window
}

TEST_CASE("on CIFAR-10 the loader's batches are data::batch_plan's bit for bit, prefetched or not") {
    const auto set = random_cifar(301, 5);  // 301 = 2 x 128 + 45; in batches of 60 the last holds 1
    const auto stats = data::compute_channel_stats(set);
    const auto src = data::cifar10_source::view(set);
    struct variant {
        std::size_t batch, cutout;
        bool augment, drop_last;
    };
    for (const variant v : {variant{128, 0, true, false}, variant{128, 8, true, false}, variant{60, 16, false, false},
                            variant{128, 0, false, true}, variant{60, 0, true, false}}) {
        data::pipeline_config pc{v.batch, true, v.drop_last, v.augment, 11, v.cutout};
        data::loader_options lo{.batch = v.batch, .drop_last = v.drop_last, .seed = 11};
        if (v.augment) lo.augment.pad_crop = 4, lo.augment.flip = true;
        lo.augment.cutout = v.cutout;
        for (bool prefetch : {true, false}) {
            lo.prefetch = prefetch;
            data::loader<data::cifar10_source> l(src, as_norm(stats), lo);
            for (std::size_t epoch : {1, 2}) {
                data::batch_plan plan(set, stats, pc, epoch, true);
                std::vector<std::int32_t> got_labels;
                const auto got = epoch_images(l, epoch, 0, &got_labels);
                REQUIRE(got.size() == plan.batches());
                std::vector<std::int32_t> want_labels;
                for (std::size_t b = 0; b < plan.batches(); ++b) {
                    std::vector<float> want(plan.batch_size(b) * 3072);
                    std::vector<std::int32_t> lab(plan.batch_size(b));
                    plan.fill(b, want.data(), lab.data());
                    CHECK(got[b] == want);
                    want_labels.insert(want_labels.end(), lab.begin(), lab.end());
                }
                CHECK(got_labels == want_labels);
            }
        }
    }
    // The evaluation order: every image in order, the last batch of one kept.
    data::loader<data::cifar10_source> ev(src, as_norm(stats), {.batch = 60, .training = false});
    std::vector<std::int32_t> labels;
    const auto all = epoch_images(ev, 0, 0, &labels);
    CHECK(all.size() == 6);
    CHECK(all.back().size() == 3072);
    CHECK(labels == set.labels);
    CHECK(ev.wait_seconds() >= 0);
    CHECK(ev.prepare_seconds() > 0);
}

TEST_CASE("an epoch started at batch k continues exactly where the whole epoch would be") {
    const auto set = random_cifar(100, 6);
    const auto stats = data::compute_channel_stats(set);
    const auto src = data::cifar10_source::view(set);
    data::loader<data::cifar10_source, double> l(src, as_norm(stats),
                                                 {.batch = 16, .augment = {.pad_crop = 4, .flip = true, .cutout = 8}, .seed = 4});
    std::vector<std::vector<double>> whole;
    l.start(3);
    while (const auto* b = l.next()) whole.emplace_back(b->images().begin(), b->images().end());
    REQUIRE(whole.size() == 7);  // 100 = 6 x 16 + 4
    for (std::size_t k : {1, 4, 6, 7}) {
        l.start(3, k);
        std::size_t b = k;
        while (const auto* batch = l.next()) {
            CHECK(batch->index == b);
            CHECK(std::vector<double>(batch->images().begin(), batch->images().end()) == whole[b]);
            ++b;
        }
        CHECK(b == 7);
    }
    CHECK_THROWS_WITH(l.start(3, 8), "data::loader: batch 8 of an epoch of 7");
}

TEST_CASE("the loader rejects what it cannot do, and rethrows a source's error from next()") {
    using flat = data::memory_source<shape<6>, 2>;
    const flat f(std::vector<float>(12, 1.0f), {0, 1});
    CHECK_THROWS_WITH((data::loader<flat>(f, data::identity_normalization<flat>(), {.augment = {.flip = true}})),
                      "data::loader: augmentation (pad_crop, flip, cutout) needs C x H x W samples, these are 6");
    CHECK_THROWS_WITH((data::loader<flat>(f, data::identity_normalization<flat>(), {.batch = 0})),
                      "data::loader: the batch size must be at least 1");
    CHECK_THROWS_AS((data::loader<flat>(f, data::normalization{{0.f}, {1.f}}, {})), std::invalid_argument);
    // An evaluation loader ignores the augmentation it was given.
    CHECK_NOTHROW((data::loader<flat>(f, data::identity_normalization<flat>(), {.training = false, .augment = {.flip = true}})));

    const auto set = random_cifar(3, 1);
    const auto src = data::cifar10_source::view(set);
    CHECK_THROWS_WITH((data::loader<data::cifar10_source>(src, data::compute_normalization(src), {.augment = {.cutout = 33}})),
                      "data::loader: a cutout of 33 is larger than the 3x32x32 samples");

    for (bool prefetch : {true, false}) {
        failing_source s;
        s.bad = 7;
        data::loader<failing_source> l(s, data::identity_normalization<failing_source>(),
                                       {.batch = 3, .training = false, .prefetch = prefetch});
        l.start(0);
        CHECK(l.next() != nullptr);
        CHECK(l.next() != nullptr);
        CHECK_THROWS_WITH(l.next(), "sample 7 is unreadable");
        // The loader is still usable: a new epoch starts afresh.
        s.bad = 100;
        l.start(0);
        std::size_t n = 0;
        while (l.next()) ++n;
        CHECK(n == 4);
    }
    // Destroyed in the middle of a prefetched epoch: the worker is stopped, nothing hangs.
    const auto many = random_cifar(64, 2);
    const auto msrc = data::cifar10_source::view(many);
    data::loader<data::cifar10_source> l(msrc, data::compute_normalization(msrc), {.batch = 4});
    l.start(1);
    CHECK(l.next() != nullptr);
}

TEST_CASE("batches_per_epoch is the number of batches a loader gives, without building one") {
    for (std::size_t n = 1; n <= 40; ++n) {
        const data::memory_source<shape<1>, 2> s(std::vector<float>(n, 0.5f), std::vector<std::int32_t>(n, 1));
        for (std::size_t batch = 1; batch <= 9; ++batch)
            for (const bool drop_last : {false, true})
                for (const bool training : {false, true})
                    for (const std::size_t shards : {1, 2, 3}) {
                        const data::loader_options o{.batch = batch, .drop_last = drop_last, .training = training,
                                                     .prefetch = false, .shard = shards - 1, .shards = shards};
                        INFO("n " << n << ", batch " << batch << ", drop_last " << drop_last << ", training "
                                  << training << ", shards " << shards);
                        using loader_t = data::loader<data::memory_source<shape<1>, 2>>;
                        if (training && batch < shards) {  // a shard without a sample in every batch
                            CHECK_THROWS_AS(loader_t(s, data::identity_normalization<decltype(s)>(), o),
                                            std::invalid_argument);
                            continue;
                        }
                        loader_t l(s, data::identity_normalization<decltype(s)>(), o);
                        std::size_t counted = 0;
                        l.start(1);
                        while (const auto* b = l.next()) {
                            ++counted;
                            if (training) CHECK(b->size >= 1);  // every shard has a sample of every batch
                        }
                        CHECK(data::batches_per_epoch(n, o) == counted);
                        CHECK(l.batches() == counted);
                    }
    }
}

TEST_CASE("shards: the slices of every batch in shard order are the unsharded loader's batch bit for bit") {
    using src_t = data::memory_source<shape<3, 5, 7>, 4, std::uint8_t>;
    rng g(4);
    std::vector<std::uint8_t> px(37 * 105);
    for (auto& p : px) p = std::uint8_t(g.below(256));
    std::vector<std::int32_t> labels(37);
    for (std::size_t i = 0; i < 37; ++i) labels[i] = std::int32_t(g.below(4));
    const src_t src(px, labels);
    const auto norm = data::compute_normalization(src);
    for (const bool augment : {false, true})
        for (const std::size_t shards : {1, 2, 3, 5}) {
            data::loader_options o{.batch = 16, .seed = 7};
            if (augment) o.augment = {.pad_crop = 2, .flip = true, .cutout = 3};
            data::loader<src_t> whole(src, norm, o);
            std::vector<std::int32_t> whole_labels;
            const auto want = epoch_images(whole, 2, 0, &whole_labels);  // batches of 16, 16 and 5
            std::vector<std::vector<float>> got(want.size());
            std::vector<std::vector<std::int32_t>> got_labels(want.size());
            for (std::size_t s = 0; s < shards; ++s) {
                o.shard = s, o.shards = shards;
                data::loader<src_t> part(src, norm, o);
                REQUIRE(part.batches() == whole.batches());
                part.start(2);
                while (const auto* b = part.next()) {
                    INFO("augment " << augment << ", shards " << shards << ", shard " << s << ", batch " << b->index);
                    const auto sl = data::slice_of(b->global_size, s, shards);
                    CHECK(b->first == sl.first);
                    CHECK(b->size == sl.size);
                    CHECK(b->global_size / shards <= b->size);
                    CHECK(b->size <= b->global_size / shards + 1);
                    CHECK(got[b->index].size() == b->first * 105);  // the slices follow each other
                    got[b->index].insert(got[b->index].end(), b->images().begin(), b->images().end());
                    got_labels[b->index].insert(got_labels[b->index].end(), b->labels().begin(), b->labels().end());
                }
                // Started at batch 1 (a resumed run), the shard's slices are those of the whole epoch's batches 1..
                const auto from0 = epoch_images(part, 2, 0), from1 = epoch_images(part, 2, 1);
                CHECK(from1 == std::vector<std::vector<float>>(from0.begin() + 1, from0.end()));
            }
            INFO("augment " << augment << ", shards " << shards);
            CHECK(got == want);
            std::vector<std::int32_t> all;
            for (const auto& l : got_labels) all.insert(all.end(), l.begin(), l.end());
            CHECK(all == whole_labels);
        }
}

TEST_CASE("shards: impossible shards are refused and the last batch follows the shards") {
    const data::memory_source<shape<1, 2, 2>, 2> s(std::vector<float>(4 * 20, 0.5f), std::vector<std::int32_t>(20, 1));
    const auto norm = data::identity_normalization<decltype(s)>();
    using loader_t = data::loader<data::memory_source<shape<1, 2, 2>, 2>>;
    CHECK_THROWS_WITH(loader_t(s, norm, {.batch = 4, .shard = 2, .shards = 2}),
                      Catch::Contains("shard 2 of 2 shards does not exist"));
    CHECK_THROWS_WITH(loader_t(s, norm, {.batch = 4, .shards = 0}), Catch::Contains("of 0 shards does not exist"));
    CHECK_THROWS_WITH(loader_t(s, norm, {.batch = 2, .shard = 0, .shards = 3}),
                      Catch::Contains("a batch of 2 cannot give each of 3 shards a sample"));
    // 20 samples in batches of 6: 6, 6, 6, 2. Three shards: the last batch (2 < 3) is dropped.
    CHECK(data::batches_per_epoch(20, {.batch = 6, .shards = 3}) == 3);
    CHECK(data::batches_per_epoch(20, {.batch = 6, .shards = 2}) == 4);
    // Evaluation keeps the last batch; the third shard's slice of it is empty.
    loader_t ev(s, norm, {.batch = 6, .training = false, .shard = 2, .shards = 3});
    ev.start(0);
    std::vector<std::size_t> sizes;
    while (const auto* b = ev.next()) sizes.push_back(b->size);
    CHECK(sizes == std::vector<std::size_t>{2, 2, 2, 0});
}
