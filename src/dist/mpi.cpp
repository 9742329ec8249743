// src/dist/mpi.cpp - typenet/dist/mpi.hpp: communicator over MPI (the typenet::mpi target).
#include "typenet/dist/mpi.hpp"

#include <mpi.h>

#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// A sum the progress thread drives: test() reads what the thread found; wait() asks it to test
// without pausing until the sum is done (hurry) and sleeps meanwhile.
struct driven_state {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    int rc = MPI_SUCCESS;
};

}  // namespace

// The session's progress thread: MPI_Test on every started sum every `interval` until it is done,
// and without a pause while a caller waits for one.
class mpi_session::progress_engine {
public:
    explicit progress_engine(std::chrono::microseconds interval) : interval_(interval), thread_([this] { run(); }) {}
    ~progress_engine() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    std::unique_ptr<pending_sum> add(MPI_Request r);
    void hurry(int by) {
        {
            std::lock_guard lock(m_);
            urgent_ += by;
        }
        cv_.notify_one();
    }

private:
    void run() {
        std::vector<std::pair<MPI_Request, std::shared_ptr<driven_state>>> mine;
        std::unique_lock lock(m_);
        for (;;) {
            if (mine.empty()) cv_.wait(lock, [&] { return stop_ || !added_.empty(); });
            else if (urgent_ == 0) cv_.wait_for(lock, interval_, [&] { return urgent_ > 0 || !added_.empty(); });
            for (auto& a : added_) mine.push_back(std::move(a));
            added_.clear();
            if (mine.empty()) {
                if (stop_) return;
                continue;
            }
            lock.unlock();
            std::erase_if(mine, [](auto& e) {
                int flag = 0;
                const int rc = MPI_Test(&e.first, &flag, MPI_STATUS_IGNORE);
                if (rc == MPI_SUCCESS && !flag) return false;
                {
                    std::lock_guard l(e.second->m);
                    e.second->done = true;
                    e.second->rc = rc;
                }
                e.second->cv.notify_all();
                return true;
            });
            lock.lock();
        }
    }

    std::chrono::microseconds interval_;
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::pair<MPI_Request, std::shared_ptr<driven_state>>> added_;
    int urgent_ = 0;  // callers in wait(): test without pausing
    bool stop_ = false;
    std::thread thread_;  // last: started once the members above exist
};

namespace {

class driven_pending final : public pending_sum {
public:
    driven_pending(std::shared_ptr<driven_state> s, mpi_session::progress_engine& e) : s_(std::move(s)), engine_(&e) {}
    ~driven_pending() override { finish(); }  // the values must stay in place until the sum is done
    bool test() override {
        std::lock_guard lock(s_->m);
        if (s_->done) check(s_->rc, "MPI_Test");
        return s_->done;
    }
    void wait() override {
        finish();
        check(s_->rc, "MPI_Test");
    }

private:
    void finish() {
        std::unique_lock lock(s_->m);
        if (s_->done) return;
        lock.unlock();
        engine_->hurry(1);
        lock.lock();
        s_->cv.wait(lock, [&] { return s_->done; });
        lock.unlock();
        engine_->hurry(-1);
    }
    std::shared_ptr<driven_state> s_;
    mpi_session::progress_engine* engine_;
};

}  // namespace

std::unique_ptr<pending_sum> mpi_session::progress_engine::add(MPI_Request r) {
    auto s = std::make_shared<driven_state>();
    {
        std::lock_guard lock(m_);
        added_.emplace_back(r, s);
    }
    cv_.notify_one();
    return std::make_unique<driven_pending>(std::move(s), *this);
}

namespace {

class mpi_communicator final : public communicator {
public:
    mpi_communicator(MPI_Comm c, mpi_session::progress_engine* progress, bool owned = false)
        : comm_(c), progress_(progress), owned_(owned) {
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
        return std::make_unique<mpi_communicator>(part, progress_, true);
    }
    ~mpi_communicator() override {
        if (owned_) MPI_Comm_free(&comm_);
    }

private:
    std::unique_ptr<pending_sum> start(void* data, std::size_t n, MPI_Datatype type) {
        MPI_Request r = MPI_REQUEST_NULL;
        check(MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n, "start_sum"), type, MPI_SUM, comm_, &r), "MPI_Iallreduce");
        if (progress_) return progress_->add(r);
        return std::make_unique<mpi_pending>(r);
    }
    MPI_Comm comm_;
    mpi_session::progress_engine* progress_;  // null: the sums progress inside the caller's MPI calls
    bool owned_;  // made by split: freed with the object
    int rank_ = 0, size_ = 1;
};

// MPI_Init_thread at the level the progress needs; returns whether a progress thread may run.
// Open MPI's non-blocking all-reduce (libnbc) picks by default, between 2 ranks and in place, an
// algorithm that moves the data one way and then back (a reduce, then a broadcast): over TCP
// slower than the blocking MPI_Allreduce (docs/distributed.md, "Which all-reduce");
// Rabenseifner's (reduce-scatter, then allgather) moves 2 (N-1)/N of the bytes both ways at once,
// as the blocking one does. Unless the environment chose one, the session asks for it.
bool start(sum_progress progress) {
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);  // 3: rabenseifner; 0: keep the user's
    const int want = progress == sum_progress::thread ? MPI_THREAD_MULTIPLE : MPI_THREAD_FUNNELED;
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, want, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw comm_error("typenet::dist (MPI): this MPI does not support MPI_THREAD_FUNNELED");
    }
    return provided >= MPI_THREAD_MULTIPLE && progress == sum_progress::thread;
}

}  // namespace

mpi_session::mpi_session(mpi_options o) {
    if (start(o.progress)) progress_ = std::make_unique<progress_engine>(o.progress_interval);
    world_ = std::make_unique<mpi_communicator>(MPI_COMM_WORLD, progress_.get());
}
void mpi_session::abort(int code) {
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; should it, the process still ends here
}
mpi_session::~mpi_session() {
    world_.reset();
    progress_.reset();  // after every sum it drives is done
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

}  // namespace typenet::dist
