// Data sources (data/source.hpp) and evaluate (evaluate.hpp): what a source holds and rejects,
// per-channel normalisation, batches equal to the CIFAR-10 pipeline's, and evaluate against
// the same forward pass done by hand. The compile-time fit of network and source is tested by
// tests/compile_fail/source_*.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "typenet/data/pipeline.hpp"
#include "typenet/typenet.hpp"

using namespace typenet;
using data::memory_source;

namespace {
using tiny_net = net<input<2, 3, 3>, conv2d<2, 4, 3, 1, same>, global_avg_pool, dense<4, 3>>;
using tiny_source = memory_source<shape<2, 3, 3>, 3>;

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
    rng g(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = float(g.normal());
    return v;
}
}  // namespace

static_assert(data::source<tiny_source>);
static_assert(data::source<data::cifar10_source>);
static_assert(data::source<memory_source<shape<784>, 10, std::uint8_t>>);
static_assert(!data::source<std::vector<float>>);
static_assert(data::fits<tiny_net, tiny_source>);
static_assert(data::fits<models::cifar_cnn_bn, data::cifar10_source>);

TEST_CASE("memory_source holds the caller's samples and rejects what does not add up") {
    const tiny_source s(random_values(4 * 18, 1), {0, 2, 1, 2}, {"a", "b", "c"});
    CHECK(s.size() == 4);
    CHECK(s.label(1) == 2);
    CHECK(s.class_names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(s.sample(2) - s.sample(0) == 36);
    CHECK(tiny_source(random_values(18, 1), {0}).class_names() == std::vector<std::string>{"0", "1", "2"});

    CHECK_THROWS_WITH(tiny_source(random_values(17, 1), {0}),
                      "memory_source<2x3x3, 3>: 17 values are not a whole number of samples of 18");
    CHECK_THROWS_WITH(tiny_source(random_values(36, 1), {0}), "memory_source<2x3x3, 3>: 2 samples but 1 labels");
    CHECK_THROWS_WITH(tiny_source(random_values(36, 1), {0, 3}),
                      "memory_source<2x3x3, 3>: sample 1 has label 3, outside 0..2");
    CHECK_THROWS_WITH(tiny_source(random_values(18, 1), {-1}),
                      "memory_source<2x3x3, 3>: sample 0 has label -1, outside 0..2");
    CHECK_THROWS_WITH(tiny_source(random_values(18, 1), {0}, {"a", "b"}),
                      "memory_source<2x3x3, 3>: 2 class names for 3 classes");
    CHECK_THROWS_AS(tiny_source(random_values(17, 1), {0}), data::data_error);
}

TEST_CASE("compute_normalization: mean and std per channel, bytes read as value / 255, flat shapes per feature") {
    // Two samples of shape<2, 1, 2>: channel 0 holds 1, 3, 5, 7 (mean 4, std sqrt(5)), channel 1
    // is constant (std 1).
    const memory_source<shape<2, 1, 2>, 2> s({1, 3, 9, 9, 5, 7, 9, 9}, {0, 1});
    const auto n = data::compute_normalization(s);
    REQUIRE(n.mean.size() == 2);
    CHECK(n.mean[0] == Approx(4.0));
    CHECK(n.std[0] == Approx(std::sqrt(5.0)));
    CHECK(n.mean[1] == Approx(9.0));
    CHECK(n.std[1] == 1.0f);

    const memory_source<shape<1, 1, 2>, 2, std::uint8_t> bytes({0, 255, 255, 255}, {0, 1});
    const auto nb = data::compute_normalization(bytes);
    CHECK(nb.mean[0] == Approx(0.75));
    CHECK(nb.std[0] == Approx(std::sqrt(0.75 * 0.25)));

    const memory_source<shape<3>, 2> flat({1, 10, 5, 3, 10, 5}, {0, 1});
    const auto nf = data::compute_normalization(flat);
    REQUIRE(nf.mean.size() == 3);
    CHECK(nf.mean[0] == Approx(2.0));
    CHECK(nf.std[0] == Approx(1.0));
    CHECK(nf.std[1] == 1.0f);  // constant feature

    // 0.1 in float is not exact: with sum-of-squares variance a constant channel of 0.1 over
    // 1,000 samples got std ~1e-8 and fill_batch scaled by 1e8. Constant channels get exactly 1.
    const memory_source<shape<1>, 1> tenths(std::vector<float>(1000, 0.1f), std::vector<std::int32_t>(1000, 0));
    const auto nt = data::compute_normalization(tenths);
    CHECK(nt.std[0] == 1.0f);
    CHECK(nt.mean[0] == Approx(0.1));
    // Nearly constant: two passes keep the tiny spread (std 1e-4 of values around 1000).
    std::vector<float> near(1000, 1000.0f);
    for (std::size_t i = 0; i < near.size(); i += 2) near[i] += 2e-4f * 1000.0f / 1000.0f;
    const memory_source<shape<1>, 1> nearly(near, std::vector<std::int32_t>(1000, 0));
    const float spread = near[0] - near[1];  // the float step actually stored
    CHECK(data::compute_normalization(nearly).std[0] == Approx(spread / 2).epsilon(1e-6));

    const memory_source<shape<3>, 2> empty({}, {});
    CHECK(data::compute_normalization(empty).std == std::vector<float>{1, 1, 1});
}

TEST_CASE("fill_batch normalises the chosen samples, and for CIFAR-10 equals the pipeline's batches bit for bit") {
    data::cifar10_set set;
    rng g(7);
    for (int i = 0; i < 5; ++i) {
        set.labels.push_back(std::int32_t(g.below(10)));
        for (std::size_t j = 0; j < data::cifar10_image_bytes; ++j) set.pixels.push_back(std::uint8_t(g.below(256)));
    }
    const data::channel_stats stats = data::compute_channel_stats(set);
    const data::cifar10_source src(set);
    data::cifar10_set broken = set;
    broken.labels[2] = 10;
    CHECK_THROWS_WITH(data::cifar10_source(broken), "cifar10_source: image 2 has label 10, outside 0-9");
    broken.labels[2] = 1;
    broken.pixels.pop_back();
    CHECK_THROWS_WITH(data::cifar10_source::view(broken), "cifar10_source: 15359 pixel bytes for 5 labels (3,072 per image)");
    const auto n = data::compute_normalization(src);
    for (std::size_t c = 0; c < 3; ++c) {
        // compute_channel_stats is compute_normalization now: check both against the plain
        // definition, computed here sample by sample.
        double sum = 0, sq = 0;
        for (std::size_t i = 0; i < set.size(); ++i)
            for (std::size_t j = 0; j < 1024; ++j) sum += set.pixels[i * 3072 + c * 1024 + j] / 255.0;
        const double mean = sum / (set.size() * 1024.0);
        for (std::size_t i = 0; i < set.size(); ++i)
            for (std::size_t j = 0; j < 1024; ++j) {
                const double d = set.pixels[i * 3072 + c * 1024 + j] / 255.0 - mean;
                sq += d * d;
            }
        CHECK(n.mean[c] == Approx(mean).epsilon(1e-6));
        CHECK(n.std[c] == Approx(std::sqrt(sq / (set.size() * 1024.0))).epsilon(1e-6));
        CHECK(n.mean[c] == stats.mean[c]);
        CHECK(n.std[c] == stats.std[c]);
    }
    data::pipeline_config cfg;
    cfg.batch = 5;
    data::batch_plan plan(set, stats, cfg, 0, /*training=*/false);
    std::vector<float> want(5 * 3072), got(5 * 3072);
    std::vector<std::int32_t> want_labels(5), got_labels(5);
    plan.fill(0, want.data(), want_labels.data());
    const std::vector<std::size_t> all{0, 1, 2, 3, 4};
    data::fill_batch(src, all, n, got.data(), got_labels.data());
    CHECK(got == want);
    CHECK(got_labels == want_labels);

    // Any order, repeats allowed; doubles get the same values.
    const std::vector<std::size_t> some{4, 0, 4};
    std::vector<double> d(3 * 3072);
    data::fill_batch(src, some, n, d.data(), got_labels.data());
    CHECK(d[0] == double(want[4 * 3072]));
    CHECK(d[3072 + 5] == double(want[5]));
    CHECK(got_labels[0] == set.labels[4]);

    const std::vector<std::size_t> past{5};
    CHECK_THROWS_WITH(data::fill_batch(src, past, n, got.data(), got_labels.data()),
                      "fill_batch: sample 5 of a source of 5");
    data::normalization bad = n;
    bad.std[1] = 0;
    CHECK_THROWS_WITH(data::fill_batch(src, all, bad, got.data(), got_labels.data()),
                      Catch::Contains("channel 1 of the normalisation has mean"));
    bad.std[1] = INFINITY;
    CHECK_THROWS_WITH(data::fill_batch(src, all, bad, got.data(), got_labels.data()),
                      Catch::Contains("channel 1 of the normalisation has mean"));
    bad.mean.pop_back();
    CHECK_THROWS_WITH(data::fill_batch(src, all, bad, got.data(), got_labels.data()),
                      "fill_batch: the normalisation has 2 means and 3 standard deviations for samples of 3x32x32 "
                      "(3 channels)");
}

TEST_CASE("evaluate equals the eval-mode forward by hand, at any batch size, and keeps the network's mode") {
    constexpr std::size_t count = 11;
    std::vector<std::int32_t> labels(count);
    for (std::size_t i = 0; i < count; ++i) labels[i] = std::int32_t(i % 3);
    const tiny_source s(random_values(count * 18, 3), labels);
    const auto n = data::compute_normalization(s);
    tiny_net model(5);

    tiny_net::input_tensor x(count);
    std::vector<std::int32_t> l(count);
    std::vector<std::size_t> all(count);
    std::iota(all.begin(), all.end(), 0);
    data::fill_batch(s, all, n, x.data(), l.data());
    model.eval();
    const auto& logits = model.forward(x);
    const double want_loss = softmax_cross_entropy().loss(logits, l);
    const std::size_t want_correct = count_correct(logits, std::span<const std::int32_t>(l));

    model.train();
    for (const std::size_t batch : {1, 4, 11, 64}) {
        const evaluation e = evaluate(model, s, n, batch);
        CHECK(e.samples == count);
        CHECK(e.correct == want_correct);
        CHECK(e.accuracy == double(want_correct) / count);
        CHECK(e.loss == Approx(want_loss).epsilon(1e-6));
        CHECK(model.training());
    }
    model.eval();
    evaluate(model, s, n);
    CHECK_FALSE(model.training());

    const tiny_source empty({}, {});
    const evaluation e = evaluate(model, empty, n);
    CHECK(e.samples == 0);
    CHECK(e.loss == 0);
    CHECK_THROWS_WITH(evaluate(model, s, n, 0), "evaluate: the batch size must be at least 1");
    model.train();
    data::normalization bad = n;
    bad.std[0] = -1;
    CHECK_THROWS_AS(evaluate(model, s, bad), std::invalid_argument);
    CHECK(model.training());  // restored on the throw too
}
