// typenet-comm-bench (built with MPI): what the collectives of data-parallel training cost on the
// link between the ranks, measured through the project's own communicator (typenet/dist):
//   - a sum of 2 doubles: the per-step loss and accuracy sums and the stop flag, pure latency;
//   - batch_stats_sync's forward exchange (merge_moments) and backward one (sum) for C channels:
//     what synchronized batch norm costs a layer, forward and backward;
//   - blocking sums of float gradients of 64 KiB .. 16 MiB (MPI_Allreduce), the gradient sums.
//   - overlap: a sum of 8 MiB started (start_sum), then computing without MPI calls for as long as
//     the sum takes alone, then wait():
//     what the session's progress (--progress thread, the default, or calls) moves meanwhile.
// Every rank runs it: mpirun -np 2 build/bin/typenet-comm-bench [--reps N] [--progress P] [--json]
// Rank 0 prints the median over the repetitions (each timed between two barriers made of a
// 1-double sum; the figure is the slowest rank's). docs/distributed.md's cost model fits its
// latency alpha to the 2-double sum and its bandwidth beta to the largest sums; scripts/bench-wire.sh
// runs it between network namespaces with the link limited by tc.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../src/cli/median.hpp"
#include "../src/train/text_numbers.hpp"
#include "typenet/dist/communicator.hpp"
#include "typenet/dist/mpi.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

// Median seconds of f() over reps calls (after 2 untimed ones), each the slowest rank's; for an
// even count (the default 30) the mean of the two middle values (median.hpp). docs/distributed.md's
// figures were taken before ebdf072, with the upper of the two.
double timed(typenet::dist::communicator& c, int reps, const std::function<void()>& f) {
    std::vector<double> t;
    double one = 0;
    for (int i = 0; i < reps + 2; ++i) {
        c.sum(std::span<double>(&one, 1));  // a barrier
        const auto t0 = clock_type::now();
        f();
        double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::vector<double> all(std::size_t(c.size()));
        c.allgather(std::span<const double>(&s, 1), all);
        if (i >= 2) t.push_back(*std::max_element(all.begin(), all.end()));
    }
    return typenet::cli::median(t);
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 30;
    bool json = false;
    typenet::dist::mpi_options options;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--reps" && i + 1 < argc) {
            try {  // not atoi: "x" was 0 and silently 1 repetition
                reps = int(typenet::train::detail::whole_flag<std::runtime_error>(a, argv[++i], 1, 1000000));
            } catch (const std::runtime_error& e) {
                std::fprintf(stderr, "typenet-comm-bench: %s\n", e.what());
                return 2;
            }
        }
        else if (a == "--json") json = true;
        else if (a == "--progress" && i + 1 < argc && std::string(argv[i + 1]) == "calls")
            options.progress = typenet::dist::sum_progress::calls, ++i;
        else if (a == "--progress" && i + 1 < argc && std::string(argv[i + 1]) == "thread") ++i;
        else {
            std::fprintf(stderr,
                         "usage: mpirun -np N typenet-comm-bench [--reps N (default 30)] [--progress thread|calls] [--json]\n"
                         "Times the collectives of data-parallel training between the ranks (docs/distributed.md).\n");
            return a == "--help" ? 0 : 2;
        }
    }
    try {
        typenet::dist::mpi_session mpi(options);
        auto& world = mpi.world();
        const bool root = world.rank() == 0;
        nlohmann::ordered_json out;
        out["tool"] = "typenet-comm-bench";
        out["ranks"] = world.size();
        out["reps"] = reps;
        if (root && !json)
            std::printf("typenet-comm-bench: %d ranks, median of %d repetitions (the slowest rank's)\n", world.size(), reps);

        std::vector<double> two(2, 1.0);
        const double small = timed(world, reps, [&] { world.sum(std::span<double>(two)); });
        out["sum_2_doubles_us"] = small * 1e6;
        if (root && !json) std::printf("  sum of 2 doubles (the step's loss and accuracy):  %9.1f us\n", small * 1e6);

        typenet::dist::batch_stats_sync sync(world);
        out["batch_norm_layer"] = nlohmann::ordered_json::array();
        for (std::size_t channels : {16, 64, 512}) {
            std::vector<double> m(3 * channels), s(3 * channels);
            const double fwd = timed(world, reps, [&] {
                for (std::size_t c = 0; c < channels; ++c) m[3 * c] = 4, m[3 * c + 1] = 0.5, m[3 * c + 2] = 1;
                sync.merge_moments(m.data(), channels);
            });
            const double bwd = timed(world, reps, [&] {
                std::fill(s.begin(), s.end(), 1.0);
                sync.sum(s.data(), channels);
            });
            out["batch_norm_layer"].push_back({{"channels", channels}, {"forward_us", fwd * 1e6}, {"backward_us", bwd * 1e6}});
            if (root && !json)
                std::printf("  synchronized batch norm, %3zu channels: forward %9.1f us, backward %9.1f us\n", channels,
                            fwd * 1e6, bwd * 1e6);
        }

        out["gradient_sum"] = nlohmann::ordered_json::array();
        for (std::size_t kib : {64, 256, 1024, 4096, 16384}) {
            std::vector<float> g(kib * 1024 / sizeof(float), 1.f);
            const double t = timed(world, std::max(3, reps / (kib >= 4096 ? 6 : 1)), [&] { world.sum(std::span<float>(g)); });
            // bus bandwidth: what a ring all-reduce moves per rank, 2 (N - 1) / N of the bytes
            const double n = world.size(), bytes = double(kib) * 1024;
            const double bus = n > 1 ? 2 * (n - 1) / n * bytes / t : 0;
            out["gradient_sum"].push_back({{"bytes", bytes}, {"ms", t * 1e3}, {"bus_gbit_per_s", bus * 8 / 1e9}});
            if (root && !json)
                std::printf("  sum of %6zu KiB of floats: %9.3f ms, bus bandwidth %.2f Gbit/s\n", kib, t * 1e3,
                            bus * 8 / 1e9);
        }
        // Overlap: a sum of 8 MiB started, then `busy` ms of arithmetic with no MPI call (a
        // backward pass between two layers' ends), then wait(): what the wait still takes.
        {
            std::vector<float> g(8 << 18, 1.f);
            const auto spin = [](double ms) {
                const auto until = clock_type::now() + std::chrono::duration<double, std::milli>(ms);
                volatile double x = 1;
                while (clock_type::now() < until) x = x * 1.0000001 + 1e-9;
            };
            const double alone = timed(world, std::max(3, reps / 6), [&] { world.sum(std::span<float>(g)); }) * 1e3;
            const double busy = alone;
            const double rest = timed(world, std::max(3, reps / 6), [&] {
                auto p = world.start_sum(std::span<float>(g));
                spin(busy);
                p->wait();
            }) * 1e3 - busy;
            out["progress"] = mpi.progress_thread() ? "thread" : "calls";
            out["overlap"] = {{"bytes", 8 << 20}, {"sum_ms", alone}, {"busy_ms", busy}, {"left_after_busy_ms", rest}};
            if (root && !json)
                std::printf("  overlap (progress by %s): a sum of 8 MiB takes %.3f ms alone; started before %.3f ms of "
                            "computing without MPI calls, it still needs %.3f ms after them\n",
                            mpi.progress_thread() ? "the session's thread" : "the MPI calls alone", alone, busy, rest);
        }
        if (root && json) std::printf("%s\n", out.dump(2).c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-comm-bench: %s\n", e.what());
        return 1;
    }
}
