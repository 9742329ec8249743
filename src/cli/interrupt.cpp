// src/cli/interrupt.cpp - see interrupt.hpp.
#include "interrupt.hpp"

#include <csignal>

namespace typenet::train {

namespace {
std::atomic<bool> flag{false};
std::atomic<int> which{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

extern "C" void on_signal(int sig) {
    if (flag.load()) {  // the second signal: do what it would have done
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    which.store(sig);  // before the flag: whoever sees the flag sees the signal
    flag.store(true);
}
}  // namespace

void install_interrupt_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in progress go on
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

const std::atomic<bool>& interrupted() { return flag; }
int interrupt_signal() { return which.load(); }

}  // namespace typenet::train
