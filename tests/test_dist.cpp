// Data parallelism's pieces on "ranks" that are threads of this process
// (tests/dist/thread_communicator.hpp): evaluation sharded over the ranks equals one process's.
// (Synchronized batch norm: test_sync_bn.cpp; the loader's shards: test_loader.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "dist/compare.hpp"
#include "dist/thread_communicator.hpp"
#include "typenet/typenet.hpp"

namespace {

namespace tn = typenet;
using small_net = tn::net<tn::input<3, 4, 4>, tn::conv_bn<3, 4, 3, 1, tn::same>, tn::flatten, tn::dense<64, 10>>;
using src_t = tn::data::memory_source<tn::shape<3, 4, 4>, 10, float>;

src_t random_source(std::size_t n) {
    tn::rng g(8);
    std::vector<float> px(n * 48);
    for (auto& p : px) p = float(g.normal());
    std::vector<std::int32_t> labels(n);
    for (auto& l : labels) l = std::int32_t(g.below(10));
    return src_t(std::move(px), std::move(labels));
}

// evaluate(..., &comm) on `ranks` threads, each with its own copy of the network (same seed).
std::vector<tn::evaluation> sharded(const src_t& src, int ranks, std::size_t batch) {
    const auto norm = tn::data::identity_normalization<src_t>();
    return typenet_test::on_ranks<tn::evaluation>(ranks, [&](tn::dist::communicator& comm, int) {
        small_net net(3);
        return tn::evaluate(net, src, norm, batch, tn::softmax_cross_entropy{}, &comm);
    });
}

}  // namespace

TEST_CASE("evaluate over ranks: every rank gets one process's correct and samples and its loss to rounding") {
    for (const std::size_t n : {2, 37}) {
        const src_t src = random_source(n);
        small_net net(3);
        const auto want = tn::evaluate(net, src, tn::data::identity_normalization<src_t>(), 5);
        for (const int ranks : {1, 2, 3}) {
            for (const auto& e : sharded(src, ranks, 5)) {
                INFO("n " << n << ", ranks " << ranks);  // n = 2 on 3 ranks: one rank has no sample
                CHECK(e.samples == want.samples);
                CHECK(e.correct == want.correct);
                CHECK(e.accuracy == want.accuracy);
                CHECK(std::abs(e.loss - want.loss) <= 1e-12 * want.loss);
            }
        }
    }
}

namespace {

using bn_net = tn::net<tn::input<3, 8, 8>, tn::conv_bn<3, 8, 3, 1, tn::same>, tn::max_pool<2, 2>,
                       tn::conv_bn<8, 8, 3, 1, tn::same>, tn::flatten, tn::dense<128, 10>>;
using plain_net = tn::net<tn::input<3, 8, 8>, tn::conv2d<3, 8, 3, 1, tn::same, tn::relu>, tn::max_pool<2, 2>,
                          tn::conv2d<8, 8, 3, 1, tn::same, tn::relu>, tn::flatten, tn::dense<128, 10>>;
using img_src = tn::data::memory_source<tn::shape<3, 8, 8>, 10, std::uint8_t>;

img_src image_source(std::size_t n) {
    tn::rng g(12);
    std::vector<std::uint8_t> px(n * 192);
    std::vector<std::int32_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        labels[i] = std::int32_t(g.below(10));
        for (std::size_t j = 0; j < 192; ++j) px[i * 192 + j] = std::uint8_t(g.below(128) + (j % 10 == std::size_t(labels[i]) ? 100 : 0));
    }
    return img_src(std::move(px), std::move(labels));
}

const tn::bn_sync_mode global{}, local{tn::bn_sync_mode::local};

tn::fit_options fit_opts() {
    tn::fit_options o;
    o.epochs = 2;
    o.data = {.batch = 16, .augment = {.pad_crop = 1, .flip = true}, .seed = 4, .prefetch = false};
    o.optimizer.momentum = 0.9;
    o.schedule.base_lr = 0.05;
    o.eval_batch = 7;
    return o;
}

struct fit_run {
    std::vector<double> params;
    tn::fit_result result;
};

// fit on `ranks` threads, each its own network from the same seed, fit_opts() with the rank's
// communicator and then adjust(options, rank); ranks = 0: one process, no comm.
template <class Net, class Adjust>
std::vector<fit_run> fit_on(const img_src& train, const img_src& val, int ranks, Adjust adjust) {
    if (ranks == 0) {
        auto net = std::make_unique<Net>(5);
        auto r = tn::fit(*net, train, val, fit_opts());
        return {{typenet_test::parameters_and_state(*net), r}};
    }
    return typenet_test::on_ranks<fit_run>(ranks, [&](tn::dist::communicator& comm, int rank) {
        auto net = std::make_unique<Net>(5);
        auto o = fit_opts();
        o.comm = &comm;
        adjust(o, rank);
        auto r = tn::fit(*net, train, val, o);
        return fit_run{typenet_test::parameters_and_state(*net), r};
    });
}
template <class Net>
std::vector<fit_run> fit_on(const img_src& train, const img_src& val, int ranks, tn::bn_sync_mode bn_sync) {
    return fit_on<Net>(train, val, ranks, [&](tn::fit_options& o, int) { o.bn_sync = bn_sync; });
}

}  // namespace

TEST_CASE("fit over 2 ranks with synchronized batch norm trains what one process trains on the whole batch") {
    const img_src train = image_source(45), val = image_source(11);  // batches of 16, 16, 13: slices 8+8 and 7+6
    const auto one = fit_on<bn_net>(train, val, 0, global);
    for (const int ranks : {2, 3}) {
        const auto many = fit_on<bn_net>(train, val, ranks, global);
        INFO(ranks << " ranks");
        for (const auto& r : many) {
            CHECK(r.params == many[0].params);  // the replicas are the same bits
            const double d = typenet_test::normwise(r.params, one[0].params);
            INFO("parameters and running statistics after 6 steps differ by " << d);
            CHECK(d < 1e-6);  // float32 sums in another order, over 6 steps of momentum SGD (measured 5.9e-8)
            REQUIRE(r.result.history.size() == 2);
            for (std::size_t e = 0; e < 2; ++e) {
                CHECK(std::abs(r.result.history[e].train_loss - one[0].result.history[e].train_loss) < 1e-4);
                CHECK(r.result.history[e].validation->correct == one[0].result.history[e].validation->correct);
                CHECK(r.result.history[e].validation->samples == 11);
            }
        }
    }
}

TEST_CASE("fit over 2 ranks without the sync: batch norm networks differ and networks without it do not") {
    const img_src train = image_source(45), val = image_source(11);
    const auto bn_one = fit_on<bn_net>(train, val, 0, global), bn_local = fit_on<bn_net>(train, val, 2, local);
    const auto plain_one = fit_on<plain_net>(train, val, 0, global), plain_local = fit_on<plain_net>(train, val, 2, local);
    const double bn_diff = typenet_test::normwise(bn_local[0].params, bn_one[0].params);
    const double plain_diff = typenet_test::normwise(plain_local[0].params, plain_one[0].params);
    INFO("batch norm: " << bn_diff << ", no normalisation: " << plain_diff);
    CHECK(bn_local[0].params == bn_local[1].params);  // running statistics averaged: the replicas agree
    CHECK(bn_diff > 1e-3);  // each rank normalises its slice alone: another network (measured 0.027)
    CHECK(plain_diff < 1e-6);  // nothing couples the samples (measured 7.7e-8)
}

TEST_CASE("fit with bn_sync group:2 on 4 ranks trains what 2 ranks train each normalising its own slice") {
    // Groups of two ranks of 8 samples normalise over 16 samples, as each of 2 ranks of 16 does alone:
    // the same statistics, the same summed gradients, the same averaged running statistics.
    const img_src train = image_source(64), val = image_source(11);
    const auto two_local = fit_on<bn_net>(train, val, 2, local);
    const auto four_grouped = fit_on<bn_net>(train, val, 4, tn::bn_sync_mode::parse("group:2"));
    const auto four_global = fit_on<bn_net>(train, val, 4, global);
    for (const auto& r : four_grouped) CHECK(r.params == four_grouped[0].params);
    const double same = typenet_test::normwise(four_grouped[0].params, two_local[0].params);
    const double other = typenet_test::normwise(four_grouped[0].params, four_global[0].params);
    INFO("group:2 on 4 ranks against local on 2: " << same << "; against global on 4: " << other);
    CHECK(same < 1e-6);
    CHECK(other > 1e-3);
}

TEST_CASE("bn_sync parses global, local and group:K and refuses the rest with the accepted forms") {
    CHECK(tn::bn_sync_mode::parse("global").how == tn::bn_sync_mode::global);
    CHECK(tn::bn_sync_mode::parse("local").how == tn::bn_sync_mode::local);
    CHECK(tn::bn_sync_mode::parse("group:4").group_size == 4);
    CHECK(tn::bn_sync_mode::parse("group:4").to_string() == "group:4");
    for (const char* bad : {"group:", "group:0", "group:-1", "group:2x", "Global", ""})
        CHECK_THROWS_WITH(tn::bn_sync_mode::parse(bad),
                          "'" + std::string(bad) + "' is not global, local or group:K (K >= 1 ranks)");
    const img_src train = image_source(32), val = image_source(4);
    const auto errors = typenet_test::on_ranks<std::string>(2, [&](tn::dist::communicator& comm, int) {
        bn_net net(5);
        auto o = fit_opts();
        o.comm = &comm;
        o.bn_sync = tn::bn_sync_mode::parse("group:3");
        try {
            tn::fit(net, train, val, o);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    });
    for (const auto& e : errors) CHECK(e == "fit: bn_sync group:3: groups of 3 ranks do not divide 2 ranks");
}

namespace {
// Requests a stop on one rank only, after its `at`-th step.
struct stop_on_rank : tn::callback {
    bool mine;
    std::size_t at, steps = 0;
    stop_on_rank(bool m, std::size_t a) : mine(m), at(a) {}
    void on_step_end(tn::fit_context& ctx, const tn::step_log&) override {
        if (++steps == at && mine) ctx.request_stop("asked by the test");
    }
};
// Changes one weight on one rank after its `at`-th step: replicas that no longer agree.
template <class Net>
struct corrupt_on_rank : tn::callback {
    Net& net;
    bool mine;
    std::size_t at, steps = 0;
    corrupt_on_rank(Net& n, bool m, std::size_t a) : net(n), mine(m), at(a) {}
    void on_step_end(tn::fit_context&, const tn::step_log&) override {
        if (++steps != at || !mine) return;
        bool done = false;
        net.for_each_parameter([&](const tn::parameter_view<float>& p) {
            if (!done) p.value[0] += 1e-3f, done = true;
        });
    }
};
}  // namespace

TEST_CASE("a stop one rank requests stops every rank at the same step") {
    const img_src train = image_source(64), val = image_source(4);
    const auto out = typenet_test::on_ranks<tn::fit_result>(2, [&](tn::dist::communicator& comm, int rank) {
        bn_net net(5);
        auto o = fit_opts();
        o.comm = &comm;
        stop_on_rank stop(rank == 1, 3);
        return tn::fit(net, train, val, o, {&stop});
    });
    for (const auto& r : out) {
        REQUIRE(r.history.size() == 1);
        CHECK(r.history[0].steps == 3);  // of 4 in the epoch
        CHECK_FALSE(r.history[0].complete);
    }
    CHECK(out[1].stop_reason == "asked by the test");
    CHECK(out[0].stop_reason == "stopped on another rank");
}

TEST_CASE("check_replicas_every finds a rank whose parameters differ and every rank throws naming it") {
    const img_src train = image_source(64), val = image_source(4);
    for (const std::size_t every : {1, 2}) {
        const auto errors = typenet_test::on_ranks<std::string>(3, [&](tn::dist::communicator& comm, int rank) {
            bn_net net(5);
            auto o = fit_opts();
            o.comm = &comm;
            o.check_replicas_every = every;
            corrupt_on_rank<bn_net> corrupt(net, rank == 2, 3);
            try {
                tn::fit(net, train, val, o, {&corrupt});
            } catch (const tn::dist::comm_error& e) {
                return std::string(e.what());
            }
            return std::string("no error");
        });
        INFO("every " << every);
        // Step 3 changes rank 2: seen after step 3 (every step) or step 4 (every 2 steps).
        const std::string want = "fit: the replicas differ after step " + std::to_string(every == 1 ? 3 : 4) +
                                 ": the parameters and running statistics of rank(s) 2 are not rank 0's";
        for (const auto& e : errors) CHECK(e == want);
    }
}

TEST_CASE("gradient buckets gather the small gradients, last layer first, and sum each gradient once") {
    // bn_net's gradients, last first: dense bias (10 values), dense weight (1280), then conv_bn's
    // beta, gamma (8 each) and weight (576), and the first conv_bn's (8, 8, 216).
    bn_net net(5);
    typenet_test::thread_group one(1);
    typenet_test::thread_communicator comm(one, 0);
    CHECK(tn::detail::gradient_buckets<float>(net, comm, 1).buckets() == 2114);  // every value alone
    CHECK(tn::detail::gradient_buckets<float>(net, comm, std::size_t(1) << 30).buckets() == 1);
    // Buckets of 5000 bytes (1250 values): the bias; the weight (5120 bytes) in pieces of 1250
    // and 30 values; the six conv_bn gradients (3,296 bytes).
    CHECK(tn::detail::gradient_buckets<float>(net, comm, 5000).buckets() == 4);
    // Of 2400 bytes (600 values): the bias; the weight in pieces of 600, 600 and 80 values; layer
    // 2's three and the first layer's beta (2,400 bytes: a bucket closes once it holds that
    // much); the first layer's gamma and weight.
    CHECK(tn::detail::gradient_buckets<float>(net, comm, 2400).buckets() == 6);

    // Summed in buckets while backward runs, or tensor by tensor after it: the same bits (the
    // threads' communicator adds in rank order either way), so no gradient is missed or doubled.
    const img_src train = image_source(45), val = image_source(11);
    for (const std::size_t bytes : {std::size_t(1), std::size_t(2400), std::size_t(5000)}) {
        std::vector<std::vector<double>> got;
        for (const std::size_t b : {std::size_t(0), bytes}) {
            const auto runs = fit_on<bn_net>(train, val, 2, [&](tn::fit_options& o, int) { o.grad_bucket_bytes = b; });
            CHECK(runs[0].params == runs[1].params);
            got.push_back(runs[0].params);
        }
        INFO("buckets of " << bytes << " bytes");
        CHECK(got[0] == got[1]);
    }
}
