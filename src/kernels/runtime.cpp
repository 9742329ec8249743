// src/kernels/runtime.cpp - the state behind runtime.hpp (thread count, profile, shared scratch,
// selected instruction set) and the public run-time controls of the float kernels (kernels.hpp:
// set_threads, threads, set_isa, isa_name, supported_isas).
#include "runtime.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/kernels.hpp"

#if TYPENET_FAST_X86
#include <xsimd/xsimd.hpp>
#endif

namespace typenet::kernels {

namespace rt {
namespace {

std::atomic<std::size_t> requested_threads{0};

const char* const kernel_names[k_count] = {
    "conv2d_forward",      "conv2d_backward_data", "conv2d_backward_params", "dense_forward",
    "dense_backward_data", "dense_backward_params", "batch_norm_infer",       "norm_statistics",
    "norm_apply",          "norm_backward",         "pool_forward",           "pool_backward",
    "relu_forward",        "relu_backward",         "add(+relu)",             "optimizer_update"};

struct kernel_profile {
    bool on = [] {
        const char* e = std::getenv("TYPENET_KERNEL_PROFILE");
        return e && *e && std::string(e) != "0";
    }();
    std::atomic<std::uint64_t> ns[k_count]{}, calls[k_count]{};
    ~kernel_profile() {
        if (!on) return;
        double total = 0;
        for (int i = 0; i < k_count; ++i) total += double(ns[i].load()) * 1e-6;
        std::fprintf(stderr, "typenet kernel profile (wall time on the calling thread):\n");
        for (int i = 0; i < k_count; ++i)
            if (calls[i].load())
                std::fprintf(stderr, "  %-26s %8llu calls %10.1f ms %5.1f%%\n", kernel_names[i],
                             (unsigned long long)calls[i].load(), double(ns[i].load()) * 1e-6,
                             100.0 * double(ns[i].load()) * 1e-6 / total);
        std::fprintf(stderr, "  %-26s %25.1f ms\n", "total", total);
    }
};
kernel_profile profile;

#if TYPENET_FAST_X86
using fast::isa_table;

bool cpu_has_avx512() {
    const auto a = xsimd::available_architectures();
    return a.avx512f && a.avx512dq;  // xsimd 8.1's hadd on avx512f uses a DQ instruction
}
bool cpu_has_avx2() {
    const auto a = xsimd::available_architectures();
    return a.avx2 && a.fma3_avx2;
}

// table_avx512() is compiled for AVX-512 (fast_avx512.cpp) and may run AVX-512 instructions
// itself (clang 14 builds its table with zmm moves): it is called only where the CPU has them,
// never just to compare a pointer (that crashed every program on AVX2 machines when built by
// clang, with "Illegal instruction").
struct pick_table {
    const isa_table* operator()(xsimd::avx512f) const {
        if (cpu_has_avx512()) return fast::table_avx512();
        return cpu_has_avx2() ? fast::table_avx2() : fast::table_sse2();  // AVX-512F without DQ
    }
    const isa_table* operator()(xsimd::fma3<xsimd::avx2>) const { return fast::table_avx2(); }
    const isa_table* operator()(xsimd::sse2) const { return fast::table_sse2(); }
};

const isa_table* auto_table() {
    // The dispatcher is created once; it calls pick_table with the best architecture of the list
    // that this CPU supports.
    static auto dispatcher =
        xsimd::dispatch<xsimd::arch_list<xsimd::avx512f, xsimd::fma3<xsimd::avx2>, xsimd::sse2>>(pick_table{});
    static const isa_table* best = dispatcher();
    return best;
}

std::atomic<const isa_table*> pinned{nullptr};
#endif

}  // namespace

std::size_t thread_count() {
#ifdef _OPENMP
    const std::size_t n = requested_threads.load(std::memory_order_relaxed);
    return n ? n : std::size_t(std::max(1, omp_get_max_threads()));
#else
    return 1;
#endif
}

bool profile_on() { return profile.on; }
void profile_record(kernel_id id, std::uint64_t ns) {
    profile.ns[id] += ns;
    profile.calls[id] += 1;
}

// ---- scratch (runtime.hpp) ----------------------------------------------------------------------

thread_local scratch tl_work;
thread_local scratch tl_weights;
thread_local scratch tl_partial;
thread_local std::vector<std::size_t> tl_offsets;

#if TYPENET_FAST_X86
const isa_table* table() {
    const isa_table* t = pinned.load(std::memory_order_acquire);
    return t ? t : auto_table();
}
#endif

}  // namespace rt

// ---- the public controls ------------------------------------------------------------------------

void set_threads(std::size_t n) { rt::requested_threads.store(n, std::memory_order_relaxed); }
std::size_t threads() { return rt::thread_count(); }

#if TYPENET_FAST_X86
std::vector<std::string> supported_isas() {
    std::vector<std::string> v;
    if (rt::cpu_has_avx512()) v.push_back("avx512");
    if (rt::cpu_has_avx2()) v.push_back("avx2");
    v.push_back("sse2");
    return v;
}

void set_isa(std::string_view name) {
    const rt::isa_table* t = nullptr;
    if (name == "auto") t = nullptr;
    else if (name == "avx512" && rt::cpu_has_avx512()) t = fast::table_avx512();
    else if (name == "avx2" && rt::cpu_has_avx2()) t = fast::table_avx2();
    else if (name == "sse2" || name == "scalar") t = fast::table_sse2();
    else {
        std::string have;
        for (const auto& s : supported_isas()) have += ", " + s;
        const bool known = name == "avx512" || name == "avx2";
        throw std::invalid_argument("typenet::kernels::set_isa: " +
                                    (known ? "this CPU does not support '" + std::string(name) + "'"
                                           : "unknown instruction set '" + std::string(name) + "'") +
                                    "; choose auto" + have + " or scalar");
    }
    rt::pinned.store(t, std::memory_order_release);
}

std::string isa_name() { return rt::table()->name; }
#else
std::vector<std::string> supported_isas() { return {}; }
void set_isa(std::string_view name) {
    if (name != "auto" && name != "scalar" && name != "reference")
        throw std::invalid_argument("typenet::kernels::set_isa: this build has no SIMD kernels; only auto and scalar");
}
std::string isa_name() { return "reference"; }
#endif

}  // namespace typenet::kernels
