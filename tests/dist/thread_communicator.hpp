// tests/dist/thread_communicator.hpp - a dist::communicator over the threads of one process, for
// tests that run several "ranks" without MPI (and under the sanitizers): each collective meets
// at a std::barrier, reads the others' buffers, and meets again before anyone writes.
#pragma once

#include <barrier>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "typenet/dist/communicator.hpp"

namespace typenet_test {

struct thread_group {
    explicit thread_group(int n) : size(n), meet(n), slots(std::size_t(n)) {}
    int size;
    std::barrier<> meet;
    std::vector<const void*> slots;
};

class thread_communicator final : public typenet::dist::communicator {
public:
    thread_communicator(thread_group& g, int rank) : g_(&g), rank_(rank) {}
    thread_communicator(std::shared_ptr<thread_group> g, int rank) : owned_(std::move(g)), g_(owned_.get()), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return g_->size; }
    void allgather(std::span<const double> mine, std::span<double> all) override {
        if (all.size() != mine.size() * std::size_t(g_->size)) throw std::invalid_argument("allgather: sizes");
        post(mine.data());
        for (int r = 0; r < g_->size; ++r)
            std::memcpy(all.data() + std::size_t(r) * mine.size(), g_->slots[std::size_t(r)], mine.size_bytes());
        g_->meet.arrive_and_wait();
    }
    void sum(std::span<float> v) override { sum_impl(v); }
    void sum(std::span<double> v) override { sum_impl(v); }
    // The lowest rank of each colour makes the colour's group and passes it to the others.
    std::unique_ptr<typenet::dist::communicator> split(int color) override {
        post(&color);
        std::vector<int> colors(std::size_t(g_->size));
        for (int r = 0; r < g_->size; ++r) colors[std::size_t(r)] = *static_cast<const int*>(g_->slots[std::size_t(r)]);
        g_->meet.arrive_and_wait();
        int leader = -1, mine = 0, n = 0;
        for (int r = 0; r < g_->size; ++r)
            if (colors[std::size_t(r)] == color) {
                if (leader < 0) leader = r;
                if (r < rank_) ++mine;
                ++n;
            }
        std::shared_ptr<thread_group> part;
        if (leader == rank_) part = std::make_shared<thread_group>(n);
        post(&part);
        if (leader != rank_) part = *static_cast<const std::shared_ptr<thread_group>*>(g_->slots[std::size_t(leader)]);
        g_->meet.arrive_and_wait();
        return std::make_unique<thread_communicator>(std::move(part), mine);
    }

private:
    void post(const void* p) {
        g_->slots[std::size_t(rank_)] = p;
        g_->meet.arrive_and_wait();
    }
    template <class T> void sum_impl(std::span<T> v) {
        post(v.data());
        std::vector<T> total(v.size(), T(0));
        for (int r = 0; r < g_->size; ++r) {  // in rank order: the same bits on every rank
            const T* p = static_cast<const T*>(g_->slots[std::size_t(r)]);
            for (std::size_t i = 0; i < v.size(); ++i) total[i] += p[i];
        }
        g_->meet.arrive_and_wait();
        std::copy(total.begin(), total.end(), v.begin());
    }
    std::shared_ptr<thread_group> owned_;  // a group made by split
    thread_group* g_;
    int rank_;
};

// Runs f(comm, rank) on `ranks` threads, each with its communicator of one group, and returns
// what each rank's f returned, in rank order.
template <class R, class F>
std::vector<R> on_ranks(int ranks, F f) {
    thread_group group(ranks);
    std::vector<R> out(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            thread_communicator comm(group, r);
            out[std::size_t(r)] = f(comm, r);
        });
    for (auto& t : threads) t.join();
    return out;
}

}  // namespace typenet_test
