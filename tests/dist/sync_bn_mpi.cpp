// tests/dist/sync_bn_mpi.cpp - synchronized batch norm on MPI ranks (CTest: mpirun -np 2):
// tests/dist/sync_bn_checks.hpp's comparison with one process, in double (bound 1e-12, normwise
// relative) and float32 (1e-6), on even and uneven slices; without the sync the outputs differ.
// Prints each rank's figures; exit code 0 when every rank passed.
#include <cstdio>
#include <vector>

#include "sync_bn_checks.hpp"
#include "typenet/dist/mpi.hpp"

int main() {
    typenet::dist::mpi_session mpi;
    auto& world = mpi.world();
    const int n = world.size();
    int failures = 0;
    auto report = [&](const char* what, const typenet_test::sync_report& r, double bound) {
        const bool ok = r.worst() <= bound;
        std::printf("rank %d/%d %s: outputs %.3g, input gradients %.3g, parameter gradients %.3g, running statistics "
                    "%.3g (bound %.0e) %s\n",
                    world.rank(), n, what, r.outputs, r.input_gradients, r.parameter_gradients, r.running_statistics,
                    bound, ok ? "ok" : "FAILED");
        failures += ok ? 0 : 1;
    };
    const std::size_t ranks = std::size_t(n);
    std::vector<std::size_t> even(ranks, 8), uneven(ranks);
    for (int r = 0; r < n; ++r) uneven[std::size_t(r)] = std::size_t(3 + 5 * r);
    report("double, 8 samples per rank", typenet_test::check_sync_bn<double>(world, even), 1e-12);
    report("double, uneven slices", typenet_test::check_sync_bn<double>(world, uneven), 1e-12);
    report("float, 8 samples per rank", typenet_test::check_sync_bn<float>(world, even), 1e-6);
    const double local = typenet_test::unsynced_difference<double>(world, even);
    const bool differs = n == 1 || local > 1e-3;
    std::printf("rank %d/%d without the sync: outputs differ by %.3g %s\n", world.rank(), n, local,
                differs ? "ok" : "FAILED (expected > 1e-3)");
    failures += differs ? 0 : 1;
    std::vector<double> all_failures{double(failures)};  // every rank's verdict is the job's
    world.sum(std::span<double>(all_failures));
    return all_failures[0] == 0 ? 0 : 1;
}
