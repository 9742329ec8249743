// Data parallelism's pieces on "ranks" that are threads of this process
// (tests/dist/thread_communicator.hpp): evaluation sharded over the ranks equals one process's.
// (Synchronized batch norm: test_sync_bn.cpp; the loader's shards: test_loader.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>
#include <vector>

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
    typenet_test::thread_group group(ranks);
    std::vector<tn::evaluation> out(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    const auto norm = tn::data::identity_normalization<src_t>();
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            typenet_test::thread_communicator comm(group, r);
            small_net net(3);
            out[std::size_t(r)] = tn::evaluate(net, src, norm, batch, tn::softmax_cross_entropy{}, &comm);
        });
    for (auto& t : threads) t.join();
    return out;
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
