// typenet/dist/communicator.hpp - what data-parallel training needs from a group of processes,
// with no MPI type in sight. One process: self_communicator (here). Many: the typenet::mpi
// target's mpi_session (typenet/dist/mpi.hpp), over MPI. A network, fit and the tests see only
// this interface, so they run the same with one process or many.
//
// Synchronized batch norm: batch_stats_sync (below) makes the batch statistics of every layer
// with batch statistics cover the samples of every rank (net.set_bn_sync). See docs/distributed.md.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include "typenet/kernels.hpp"

namespace typenet::dist {

// A collective that failed (over MPI: with MPI's message), or replicas found to differ.
struct comm_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A sum started by communicator::start_sum and not yet known to be done: test() lets it progress
// and says whether it is done, wait() returns when it is. The values must stay in place and
// untouched until then. Destroying an unfinished one waits for it.
class pending_sum {
public:
    virtual ~pending_sum() = default;
    virtual bool test() = 0;
    virtual void wait() = 0;
};

class communicator {
public:
    virtual ~communicator() = default;
    // This process's number, 0 .. size() - 1, and the number of processes.
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // all = every rank's `mine`, in rank order. mine has the same length on every rank and
    // all.size() == size() * mine.size().
    virtual void allgather(std::span<const double> mine, std::span<double> all) = 0;
    // v = the elementwise sum of every rank's v, on every rank (over MPI: MPI_Allreduce's, which
    // the MPI standard does not promise to be the same bits everywhere).
    virtual void sum(std::span<float> v) = 0;
    virtual void sum(std::span<double> v) = 0;
    // sum(v), started now and finished by the returned request's wait() (every rank starts the
    // same sums in the same order). Over MPI: MPI_Iallreduce, which the request's test() drives
    // forward while the caller computes. The default does sum(v) at once.
    virtual std::unique_ptr<pending_sum> start_sum(std::span<float> v) {
        sum(v);
        return std::make_unique<done_sum>();
    }
    virtual std::unique_ptr<pending_sum> start_sum(std::span<double> v) {
        sum(v);
        return std::make_unique<done_sum>();
    }
    // The ranks that pass the same `color`, as a communicator of their own, ranked as here (a
    // collective: every rank calls it). What fit's bn_sync group:K uses.
    virtual std::unique_ptr<communicator> split(int color) = 0;

protected:
    struct done_sum final : pending_sum {
        bool test() override { return true; }
        void wait() override {}
    };
};

// One process: the group of itself.
class self_communicator final : public communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    void allgather(std::span<const double> mine, std::span<double> all) override;
    void sum(std::span<float>) override {}
    void sum(std::span<double>) override {}
    std::unique_ptr<communicator> split(int) override { return std::make_unique<self_communicator>(); }
};

// Batch statistics over the ranks of a communicator (synchronized batch norm): the normalisation
// kernels' norm_sync. Forward: every rank's per-channel (count, mean, centred sum of squares) are
// gathered and merged in rank order with Chan et al.'s parallel-variance update (never
// E[x^2] - E[x]^2); backward: the per-channel sums of the three-term VJP (sum gamma dy,
// sum gamma dy xhat, and the count) are gathered and added in rank order. Every rank therefore
// computes the same numbers in the same order: the statistics are the same bits on every rank.
// One object serves every layer of a network (the layers call it one after the other).
class batch_stats_sync final : public kernels::norm_sync {
public:
    explicit batch_stats_sync(communicator& c) : comm_(&c) {}
    void merge_moments(double* moments, std::size_t blocks) override;
    void sum(double* sums, std::size_t blocks) override;
    communicator& comm() const { return *comm_; }

private:
    void gather(const double* mine, std::size_t n);
    communicator* comm_;
    std::vector<double> all_;
};

}  // namespace typenet::dist
