// typenet-train: trains a CIFAR-10 network. See --help and docs/training.md; under mpirun,
// docs/distributed.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "models.hpp"
#include "typenet/data/cifar10.hpp"
#include "typenet/io/checkpoint.hpp"
#include "config.hpp"
#include "interrupt.hpp"
#ifdef TYPENET_WITH_MPI
#include "typenet/dist/mpi.hpp"
#endif

namespace {

// mpirun (Open MPI, or a PMIx launcher) started this process as one rank of a job.
bool under_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK"); }

// The ranks mpirun started on this machine (1 when it does not say).
unsigned local_ranks() {
    const char* s = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const long n = s ? std::strtol(s, nullptr, 10) : 1;
    return n > 1 ? unsigned(n) : 1u;
}

#ifdef TYPENET_WITH_MPI
using session_ptr = std::unique_ptr<typenet::dist::mpi_session>;
#else
using session_ptr = std::unique_ptr<int>;  // no session without MPI
#endif

// Parses the command line; under mpirun then starts MPI (with the progress --grad-progress asks
// for) into `mpi`. A bad flag is every rank's error before any rank waits for another.
int run(int argc, char** argv, session_ptr& mpi) {
    using namespace typenet;
    auto cfg = train::parse_command_line(argc, argv);
    if (!cfg) return train::exit_ok;
    dist::communicator* comm = nullptr;
    if (under_mpirun()) {
#ifdef TYPENET_WITH_MPI
        dist::mpi_options o;
        o.progress = cfg->grad_progress_thread ? dist::sum_progress::thread : dist::sum_progress::calls;
        mpi = std::make_unique<dist::mpi_session>(o);
        comm = &mpi->world();
#else
        (void)mpi;
        throw train::config_error("started by mpirun, but this typenet-train was built without MPI (install "
                                  "libopenmpi-dev and rebuild): every rank would train alone");
#endif
    }
    if (cfg->eval_only && !cfg->model_given) {  // the checkpoint names its network
        cfg->model = io::read_checkpoint(*cfg->checkpoint).network;
        if (cfg->model.empty()) throw train::config_error("--eval-only: " + cfg->checkpoint->string() +
                                                          " names no network; give --model");
    }
    // The ranks on one machine share its cores: without --threads or OMP_NUM_THREADS, each takes its share.
    if (comm && cfg->threads == 0 && !std::getenv("OMP_NUM_THREADS"))
        cfg->threads = std::max(1u, std::thread::hardware_concurrency() / local_ranks());
    train::install_interrupt_handlers();  // SIGINT/SIGTERM: finish the step, write last.ckpt, exit 128 + signal
    for (const auto& m : cli::model_registry())
        if (cfg->model == m.name) return m.run(*cfg, comm);
    throw train::config_error("--model: unknown model '" + cfg->model + "' (choose one of: " + cli::model_names() + ")");
}

}  // namespace

int main(int argc, char** argv) {
    using namespace typenet;
    int code = 1;
    // A rank's errors name it (mpirun says which rank it is before MPI starts).
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    const std::string prefix = under_mpirun() && rank && std::string(rank) != "0"
                                   ? "typenet-train (rank " + std::string(rank) + "): "
                                   : "typenet-train: ";
    session_ptr mpi;
    try {
        return run(argc, argv, mpi);
    } catch (const train::config_error& e) {
        std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
        code = train::exit_bad_input;
    } catch (const data::data_error& e) {
        std::fprintf(stderr, "%sdata: %s\n", prefix.c_str(), e.what());
        code = train::exit_bad_input;
    } catch (const io::checkpoint_error& e) {
        std::fprintf(stderr, "%scheckpoint: %s\n", prefix.c_str(), e.what());
        code = train::exit_bad_input;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%serror: %s\n", prefix.c_str(), e.what());
        code = 1;
    }
#ifdef TYPENET_WITH_MPI
    // The other ranks may wait in a collective for this one: end the whole job with this code.
    if (mpi && mpi->world().size() > 1) mpi->abort(code);
#endif
    return code;
}
