// typenet/dist/mpi.hpp - communicators over MPI (Open MPI 4.1 from Debian), behind
// typenet/dist/communicator.hpp's interface: the typenet::mpi target (built when CMake finds
// MPI). No MPI type appears here; only src/dist/mpi.cpp includes <mpi.h>.
//
//   int main() {
//       typenet::dist::mpi_session mpi;                 // MPI_Init_thread ... MPI_Finalize
//       typenet::dist::communicator& world = mpi.world();
//       ...
//   }
//
// Errors of MPI calls are thrown as dist::comm_error with MPI's message (the communicators use
// MPI_ERRORS_RETURN). A process that dies takes the job down: mpirun ends the others.
#pragma once

#include <chrono>
#include <memory>

#include "typenet/dist/communicator.hpp"

namespace typenet::dist {

// How the sums started by communicator::start_sum (the gradient buckets) move forward. Open MPI
// moves a non-blocking collective only inside MPI calls. `calls`: only the calls the program makes
// anyway (fit lets them progress as each layer's backward finishes) - enough between processes of
// one machine, where a round is a memory copy, but over TCP the link idles between calls, and a
// network with few layers after its large gradients (cnn-bn) gets no overlap at all. `thread`: a
// thread of the session tests every started sum every `progress_interval` until it is done, so
// the link stays busy while the backward pass computes; it needs MPI_THREAD_MULTIPLE, and without
// it the session falls back to `calls` (progress_thread() says which). The thread sleeps between
// tests: it costs the compute threads a few microseconds a test, not a core.
enum class sum_progress { thread, calls };

struct mpi_options {
    sum_progress progress = sum_progress::thread;
    std::chrono::microseconds progress_interval{100};
};

// MPI for the lifetime of the object, in one per process: MPI_Init_thread and MPI_Finalize.
// MPI_THREAD_FUNNELED with sum_progress::calls (the OpenMP threads of the kernels never call MPI;
// the thread that made the session does), MPI_THREAD_MULTIPLE with sum_progress::thread (that
// thread and the progress thread call MPI). world(): MPI_COMM_WORLD. MPI is initialised without
// the program's arguments (MPI-2 allows it; Open MPI takes what mpirun tells it from the
// environment).
class mpi_session {
public:
    explicit mpi_session(mpi_options options = {});
    ~mpi_session();
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;
    communicator& world() { return *world_; }
    // Whether a thread drives the started sums (sum_progress::thread, and MPI granted MPI_THREAD_MULTIPLE).
    bool progress_thread() const { return progress_ != nullptr; }
    // Ends every rank of the job with this exit code (MPI_Abort): what a rank that failed alone
    // does, since the others may be waiting for it in a collective.
    [[noreturn]] void abort(int code);

    class progress_engine;

private:
    std::unique_ptr<progress_engine> progress_;
    std::unique_ptr<communicator> world_;
};

}  // namespace typenet::dist
