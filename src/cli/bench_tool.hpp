// src/cli/bench_tool.hpp (private to the tools) - what typenet-bench's main and its per-network code
// (bench_run.hpp, compiled once per network in the generated model_TYPE.cpp) share: the options,
// the results, and the timing and /proc helpers (bench_tool.cpp, in typenet_cli, because every
// tool links every network's object).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace typenet::cli::bench_tool {

using clock_type = std::chrono::steady_clock;
inline double seconds_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

inline constexpr int exit_ok = 0, exit_bad_input = 2;

// ---- options ----------------------------------------------------------------------------------

struct options {
    std::string model = "cnn-bn";
    std::size_t batch = 128;
    std::size_t steps = 20;
    double seconds = 0;  // > 0: time-bound runs instead of --steps
    std::size_t warmup = 3;
    std::size_t threads = 0;  // 0: every core (the kernels' default)
    std::string simd = "auto";
    bool winograd = true;  // --winograd on|off: typenet::kernels::set_winograd
    bool profile = false;
    bool json = false;
    bool peak = true;
    bool memory = false;  // --memory: the training footprint instead of the speed
    double max_mb = 0;    // with --memory: exit 1 above this peak
};

// ---- results ----------------------------------------------------------------------------------

struct phase_result {
    std::size_t steps = 0;
    double seconds = 0;
    double images_per_second = 0;         // batch * steps / seconds
    double median_step_ms = 0;
    double median_images_per_second = 0;  // batch / median step time
    double gflops = 0;
    double fraction_of_peak = 0;
};

struct layer_profile {
    std::size_t index;
    std::string layer, output;
    std::size_t forward_flops;  // per image
    double forward_ms, backward_ms, infer_ms;
};

struct profile_result {
    std::vector<layer_profile> layers;
    double loss_ms = 0, zero_grad_ms = 0, optimizer_ms = 0, input_copy_ms = 0;
};

struct peak_result {
    std::string isa;
    std::size_t threads = 0, vector_floats = 0, accumulators = 0;
    double gflops = 0;          // on `threads` threads
    double gflops_1thread = 0;  // one thread
};

// What synchronized batch norm would exchange between processes in one training step (counted
// with a norm_sync that changes nothing, in one extra step): what a layer with batch statistics
// (batch norm, conv_bn, batch renorm) hands its sync, once in forward (count, mean, M2 per channel)
// and once in backward (two sums and the count per channel). docs/distributed.md's cost model.
struct sync_census {
    std::size_t forward_exchanges = 0, backward_exchanges = 0;
    std::size_t forward_doubles = 0, backward_doubles = 0;  // per process, over the step
};

struct bench_result {
    std::string model, description, isa;
    std::size_t batch = 0, threads = 0, parameters = 0, forward_flops = 0;
    sync_census census;
    phase_result train, eval;
    std::optional<profile_result> profile;
    double final_loss = 0;
};


// ---- timing helpers (bench_tool.cpp) ------------------------------------------------------------

// Median milliseconds of f() over `reps` calls after one untimed call.
double median_ms(std::size_t reps, const std::function<void()>& f);
// Runs `step` for opts.steps steps, or until opts.seconds have passed; fills a phase_result.
phase_result timed_loop(const options& o, const std::function<void()>& step);

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"), 0 where there is no /proc.
std::size_t status_kb(const std::string& field);
inline double mb(std::size_t kb) { return double(kb) / 1024.0; }

// ---- one network (bench_run.hpp; instantiated in the generated model_TYPE.cpp) ------------------

// The train and eval phases (and with o.profile the per-layer profile) of Net; `peak` gives the
// fractions of the FMA peak.
template <class Net>
bench_result run(const options& o, const char* name, const char* description, const peak_result* peak);

// ---- --memory: the memory a network itself needs to train, without a data set -------------------
// What typenet-train runs per step (train-mode forward, softmax cross-entropy, zero_grad,
// backward, an SGD step) on random images, --steps times, then one eval-mode forward; prints
// the peak resident set (VmHWM) next to the resident set before the network existed (the
// program, its libraries and the C++ runtime). typenet-train adds the data set to that: 3,073
// bytes per CIFAR-10 image kept in memory (154 MB for the 50,000 training images, 31 MB for the
// 10,000 test images). With --max-mb N it exits 1 when the peak exceeds N MB (the CTest case
// memory.cnn_bn_batch128 runs it so, as a regression test of the training footprint).
template <class Net>
int memory_probe(const options& o);

}  // namespace typenet::cli::bench_tool
