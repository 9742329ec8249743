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

#include <memory>

#include "typenet/dist/communicator.hpp"

namespace typenet::dist {

// MPI for the lifetime of the object, in one per process: MPI_Init_thread with
// MPI_THREAD_FUNNELED (the OpenMP threads of the kernels never call MPI; the thread that made the
// session does) and MPI_Finalize. world(): MPI_COMM_WORLD. MPI is initialised without the
// program's arguments (MPI-2 allows it; Open MPI takes what mpirun tells it from the environment).
class mpi_session {
public:
    mpi_session();
    ~mpi_session();
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;
    communicator& world() { return *world_; }
    // Ends every rank of the job with this exit code (MPI_Abort): what a rank that failed alone
    // does, since the others may be waiting for it in a collective.
    [[noreturn]] void abort(int code);

private:
    std::unique_ptr<communicator> world_;
};

}  // namespace typenet::dist
