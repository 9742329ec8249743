// src/kernels/runtime.hpp - internal: what every kernel file shares. The OpenMP team
// (parallel_for, elementwise_blocks), the optional per-kernel profile (TYPENET_KERNEL_PROFILE),
// grow-only scratch buffers (and the ones the convolution and dense kernels share), and the
// instruction-set table of the fast float kernels. The kernels themselves are split by operation:
// conv.cpp (convolution plans, the direct passes), winograd.cpp (Winograd F(4x4, 3x3) and
// F(2x2, 3x3), set_winograd, conv_algorithm_of), dense.cpp, pool_elementwise.cpp (pooling, ReLU,
// add), optim.cpp (optimizer updates) and norm.cpp (batch, group, layer and instance
// normalisation); runtime.cpp holds the state behind this header and the public run-time
// controls (set_threads, set_isa).
//
// The public typenet::kernels functions: double -> reference kernels; float -> the fast kernels
// of the selected instruction set (fast_impl.hpp), with the threads, the scratch memory and the
// per-call preparation (packed weights, offset tables) kept in those files, in ordinary C++
// compiled for the baseline instruction set.
//
// Parallel structure (one OpenMP team; no result depends on which thread ran what):
//   conv forward / backward-data   images of the batch;
//   conv backward-params           fixed chunks of kParamsChunk images, each summed into its own
//                                  partial dW; the partials are then added in chunk order, so
//                                  the result is the same for every thread count;
//   dense                          column (or row) blocks of the output; no sums across threads;
//   normalisation                  see norm.cpp;
//   ReLU, pooling                  contiguous blocks / channel planes.
//
// Nothing here is installed or part of the public interface.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <new>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#if TYPENET_FAST_X86
#include "fast.hpp"
#endif

namespace typenet::kernels::rt {

// ---- threads ----------------------------------------------------------------------------------

// set_threads's setting, or every core.
std::size_t thread_count();

// Runs f(i) for i in [0, n) on min(threads, n) threads, or serially when the work is small.
// Iterations are handed out dynamically: every caller makes f(i)'s result independent of the
// thread that runs it (outputs and partial sums are per image, chunk or channel, combined
// afterwards in a fixed order), so this costs no determinism, and a thread that is slow to get
// a CPU (a busy shared machine) delays the call less than a static split. An exception thrown
// by f (std::bad_alloc from a scratch buffer) is rethrown after the parallel region.
// A file that calls it is compiled with OpenMP's flags (CMakeLists.txt).
template <class F>
void parallel_for(std::size_t n, F&& f, bool worth_threads = true) {
#ifdef _OPENMP
    const std::size_t nt = std::min(thread_count(), n);
    if (worth_threads && nt > 1) {
        std::exception_ptr error;
        std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(nt))
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
            if (failed.load(std::memory_order_relaxed)) continue;
            try {
                f(std::size_t(i));
            } catch (...) {
#pragma omp critical(typenet_kernels_error)
                if (!error) error = std::current_exception();
                failed.store(true, std::memory_order_relaxed);
            }
        }
        if (error) std::rethrow_exception(error);
        return;
    }
#else
    (void)worth_threads;
#endif
    for (std::size_t i = 0; i < n; ++i) f(i);
}

// Splits [0, n) into `parts` ranges whose boundaries are multiples of `align` (except n).
inline std::pair<std::size_t, std::size_t> split_range(std::size_t n, std::size_t align, std::size_t parts,
                                                       std::size_t part) {
    const std::size_t blocks = (n + align - 1) / align;
    const std::size_t b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
    return {std::min(n, b0 * align), std::min(n, b1 * align)};
}

inline std::size_t round_up(std::size_t n, std::size_t m) { return (n + m - 1) / m * m; }

// Runs f(begin, length) over [0, n) in fixed blocks of kElementBlock, on the threads when n is
// large (ReLU and add, pool_elementwise.cpp; the optimizer updates, optim.cpp).
constexpr std::size_t kElementBlock = 1 << 14;

template <class F>
void elementwise_blocks(std::size_t n, F&& f) {
    const std::size_t blocks = (n + kElementBlock - 1) / kElementBlock;
    parallel_for(blocks, [&](std::size_t i) {
        const std::size_t b0 = i * kElementBlock;
        f(b0, std::min(n, b0 + kElementBlock) - b0);
    }, n >= 64 * kElementBlock);  // below ~4 MB a parallel region costs more than it saves
}

// ---- optional profile ----------------------------------------------------------------------------
// TYPENET_KERNEL_PROFILE=1 in the environment: wall time and calls per public kernel (float and
// double), printed to stderr at exit. Off by default; when off, each kernel pays one branch.
enum kernel_id {
    k_conv_fwd, k_conv_bwd_data, k_conv_bwd_params, k_dense_fwd, k_dense_bwd_data, k_dense_bwd_params,
    k_bn_infer, k_norm_stats, k_norm_apply, k_norm_bwd, k_pool_fwd, k_pool_bwd, k_relu_fwd, k_relu_bwd,
    k_add, k_optim, k_count
};
bool profile_on();
void profile_record(kernel_id id, std::uint64_t ns);

class profile_scope {
public:
    explicit profile_scope(kernel_id id) : id_(id), on_(profile_on()) {
        if (on_) t0_ = std::chrono::steady_clock::now();
    }
    ~profile_scope() {
        if (!on_) return;
        const auto dt = std::chrono::steady_clock::now() - t0_;
        profile_record(id_, std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count()));
    }
    profile_scope(const profile_scope&) = delete;
    profile_scope& operator=(const profile_scope&) = delete;

private:
    kernel_id id_;
    bool on_;
    std::chrono::steady_clock::time_point t0_;
};

// ---- scratch ----------------------------------------------------------------------------------

// A grow-only, 64-byte aligned float buffer. One per thread and role (thread_local), so the
// kernels never allocate per call once the largest layer has run, and concurrent callers do
// not share scratch.
class scratch {
public:
    scratch() = default;
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    ~scratch() { std::free(p_); }
    float* get(std::size_t n) {
        if (n > n_) {
            std::free(p_);
            const std::size_t bytes = round_up(std::max<std::size_t>(n, 16) * sizeof(float), 64);
            p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
            if (!p_) {
                n_ = 0;
                throw std::bad_alloc();
            }
            n_ = bytes / sizeof(float);
        }
        return p_;
    }

private:
    float* p_ = nullptr;
    std::size_t n_ = 0;
};

// The scratch the convolution (conv.cpp, winograd.cpp) and dense (dense.cpp) kernels share;
// defined in runtime.cpp.
extern thread_local scratch tl_work;     // per worker thread: the per-image work area
extern thread_local scratch tl_weights;  // calling thread: packed weights
extern thread_local scratch tl_partial;  // calling thread: partial sums / transposed operands
extern thread_local std::vector<std::size_t> tl_offsets;  // calling thread: offset tables of the passes

// ---- instruction set --------------------------------------------------------------------------

#if TYPENET_FAST_X86
// The table of the instruction set the float kernels use now (set_isa's, or the best this CPU has).
const fast::isa_table* table();
#endif

}  // namespace typenet::kernels::rt

// In a public kernel template: the float instantiation runs `call` (a fast kernel) and returns;
// the double one (and float without the fast kernels) goes on to the reference below it.
#if TYPENET_FAST_X86
#define TYPENET_FAST(call)                                        \
    if constexpr (std::is_same_v<T, float>) {                     \
        call;                                                     \
        return;                                                   \
    }
#else
#define TYPENET_FAST(call)
#endif
