// Synchronized batch norm (dist::batch_stats_sync, net.set_bn_sync) on "ranks" that are threads of
// this process (tests/dist/thread_communicator.hpp): the same checks as the MPI test
// (tests/dist/sync_bn_mpi.cpp, mpirun -np 2), here without MPI and under the sanitizers.
#include <catch2/catch.hpp>

#include <vector>

#include "dist/sync_bn_checks.hpp"
#include "dist/thread_communicator.hpp"

namespace {

using typenet_test::sync_report;

template <class T>
std::vector<sync_report> synced(const std::vector<std::size_t>& slices) {  // a thread per slice
    return typenet_test::on_ranks<sync_report>(int(slices.size()), [&](typenet::dist::communicator& c, int) {
        return typenet_test::check_sync_bn<T>(c, slices);
    });
}

void require_within(const std::vector<sync_report>& reps, double bound) {
    for (std::size_t r = 0; r < reps.size(); ++r) {
        INFO("rank " << r << ": outputs " << reps[r].outputs << ", input gradients " << reps[r].input_gradients
                     << ", parameter gradients " << reps[r].parameter_gradients << ", running statistics "
                     << reps[r].running_statistics);
        CHECK(reps[r].worst() <= bound);
    }
}

}  // namespace

TEST_CASE("synchronized batch norm: 2 ranks x 8 samples equal one process on 16 (double within 1e-12)") {
    require_within(synced<double>({8, 8}), 1e-12);
}

TEST_CASE("synchronized batch norm: uneven slices of 5 and 11 and three ranks of 4 + 6 + 6 (double)") {
    require_within(synced<double>({5, 11}), 1e-12);
    require_within(synced<double>({4, 6, 6}), 1e-12);
}

TEST_CASE("synchronized batch norm: a rank of one sample joins the others (double)") {
    // Alone, one sample has no batch statistics; with the other rank's 7 it has.
    require_within(synced<double>({1, 7}), 1e-12);
}

TEST_CASE("synchronized batch norm: float32 fast kernels within 1e-6 of one process") {
    // The float path merges the same partial statistics in double, but the parameter gradients
    // are float sums over a different partition (measured 4e-8 on 2 ranks): float32's rounding.
    require_within(synced<float>({8, 8}), 1e-6);
}

TEST_CASE("synchronized batch norm over one process is plain batch norm bit for bit") {
    typenet::dist::self_communicator self;
    const auto rep = typenet_test::check_sync_bn<float>(self, {16});
    CHECK(rep.worst() == 0.0);
    const auto rep_d = typenet_test::check_sync_bn<double>(self, {16});
    CHECK(rep_d.worst() == 0.0);
}

TEST_CASE("without the sync each rank normalises its own slice and the outputs differ") {
    const auto diff = typenet_test::on_ranks<double>(2, [](typenet::dist::communicator& c, int) {
        return typenet_test::unsynced_difference<double>(c, {8, 8});
    });
    for (double d : diff) CHECK(d > 1e-3);
}

TEST_CASE("synchronized batch norm: fewer than 2 samples over all ranks is refused") {
    typenet::dist::self_communicator self;
    typenet::dist::batch_stats_sync sync(self);
    typenet_test::sync_net<double> net(1);
    net.set_bn_sync(&sync);
    net.train();
    typenet_test::sync_net<double>::input_tensor x(1);
    CHECK_THROWS_WITH(net.forward(x), Catch::Contains("(batch statistics over every process's batch): train mode "
                                                      "needs a batch of at least 2 samples"));
    // A layer outside a network given no samples at all is refused before any statistics.
    using bn_layer = typenet::batch_norm<>::bind<double, typenet::shape<3>>;
    bn_layer bn;
    bn.set_bn_sync(&sync);
    typenet::tensor<double, typenet::shape<3>> x0(0), y0(0);
    bn_layer::saved_type saved;
    CHECK_THROWS_WITH(bn.forward(x0, y0, saved), Catch::Contains("needs a batch of at least 2 samples to estimate batch statistics, got batch 0"));
}
