// src/dist/mpi.cpp - typenet/dist/mpi.hpp: communicator over MPI (the typenet::mpi target).
#include "typenet/dist/mpi.hpp"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace typenet::dist {

namespace {

void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw comm_error(std::string("typenet::dist (MPI): ") + what + " failed: " + std::string(text, std::size_t(len)));
}

int count_of(std::size_t n, const char* what) {
    if (n > std::size_t(INT_MAX))
        throw comm_error(std::string("typenet::dist (MPI): ") + what + " of " + std::to_string(n) +
                         " values: more than one MPI call takes (" + std::to_string(INT_MAX) + ")");
    return int(n);
}

class mpi_pending final : public pending_sum {
public:
    explicit mpi_pending(MPI_Request r) : request_(r) {}
    ~mpi_pending() override {
        if (!done_) MPI_Wait(&request_, MPI_STATUS_IGNORE);  // no throwing here: the error shows elsewhere
    }
    bool test() override {
        if (!done_) {
            int flag = 0;
            check(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
            done_ = flag != 0;
        }
        return done_;
    }
    void wait() override {
        if (!done_) check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
        done_ = true;
    }

private:
    MPI_Request request_;
    bool done_ = false;
};

class mpi_communicator final : public communicator {
public:
    explicit mpi_communicator(MPI_Comm c, bool owned = false) : comm_(c), owned_(owned) {
        check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
        check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    void allgather(std::span<const double> mine, std::span<double> all) override {
        if (all.size() != mine.size() * std::size_t(size_))
            throw std::invalid_argument("typenet::dist::communicator::allgather: all has " + std::to_string(all.size()) +
                                        " values, " + std::to_string(size_) + " ranks of " +
                                        std::to_string(mine.size()));
        const int n = count_of(mine.size(), "allgather");
        check(MPI_Allgather(mine.data(), n, MPI_DOUBLE, all.data(), n, MPI_DOUBLE, comm_), "MPI_Allgather");
    }
    void sum(std::span<float> v) override {
        check(MPI_Allreduce(MPI_IN_PLACE, v.data(), count_of(v.size(), "sum"), MPI_FLOAT, MPI_SUM, comm_),
              "MPI_Allreduce");
    }
    void sum(std::span<double> v) override {
        check(MPI_Allreduce(MPI_IN_PLACE, v.data(), count_of(v.size(), "sum"), MPI_DOUBLE, MPI_SUM, comm_),
              "MPI_Allreduce");
    }
    std::unique_ptr<pending_sum> start_sum(std::span<float> v) override { return start(v.data(), v.size(), MPI_FLOAT); }
    std::unique_ptr<pending_sum> start_sum(std::span<double> v) override { return start(v.data(), v.size(), MPI_DOUBLE); }
    std::unique_ptr<communicator> split(int color) override {
        MPI_Comm part = MPI_COMM_NULL;
        check(MPI_Comm_split(comm_, color, rank_, &part), "MPI_Comm_split");
        return std::make_unique<mpi_communicator>(part, true);
    }
    ~mpi_communicator() override {
        if (owned_) MPI_Comm_free(&comm_);
    }

private:
    std::unique_ptr<pending_sum> start(void* data, std::size_t n, MPI_Datatype type) {
        MPI_Request r = MPI_REQUEST_NULL;
        check(MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n, "start_sum"), type, MPI_SUM, comm_, &r), "MPI_Iallreduce");
        return std::make_unique<mpi_pending>(r);
    }
    MPI_Comm comm_;
    bool owned_;  // made by split: freed with the object
    int rank_ = 0, size_ = 1;
};

void start() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw comm_error("typenet::dist (MPI): this MPI does not support MPI_THREAD_FUNNELED");
    }
}

}  // namespace

mpi_session::mpi_session() {
    start();
    world_ = std::make_unique<mpi_communicator>(MPI_COMM_WORLD);
}
void mpi_session::abort(int code) {
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; should it, the process still ends here
}
mpi_session::~mpi_session() {
    world_.reset();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

}  // namespace typenet::dist
