// typenet-bench: training and eval throughput of a network, the GFLOP/s it achieves, and the
// fraction of this machine's FMA peak (measured here, in-process), with an optional per-layer
// breakdown. See --help and docs/performance.md.
//
//   typenet-bench [--model cnn-bn] [--batch 128] [--steps 20 | --seconds S] [--warmup 3]
//                 [--threads N] [--simd auto|avx512|avx2|sse2|scalar] [--winograd on|off] [--profile] [--json]
//
// What is measured (random data, fixed seed, so nothing is read from disk):
//   train step = forward (train mode) + softmax cross-entropy loss and its gradient + zero_grad
//                + backward + SGD momentum step (typenet::optimizer, lr 0.01, momentum 0.9:
//                the PyTorch peer's settings);
//   eval step  = forward in eval mode (running statistics), nothing else.
// Images/s = batch * steps / wall time of the timed steps (the PyTorch peer's definition).
//
// FLOP convention: forward FLOPs are the network's compile-time count (net::forward_flops: a
// multiply-add of a convolution or dense layer counts 2, elementwise layers 0). One training
// image costs 3 x forward FLOPs: forward + backward-data + backward-params, each as large as
// the forward for conv and dense layers (typenet computes backward-data for the first layer too).
// An eval image costs 1 x forward FLOPs.
//
// Peak: an FMA-throughput probe of the instruction set the kernels use (16 independent
// accumulator chains per thread for AVX-512 and 12 for AVX2: more than latency x FMA ports, in
// registers, distinct start values so no two chains can be merged), run on as many threads as
// the kernels use, best of 3. Fraction of peak = achieved GFLOP/s / that figure.
//
// --profile times every layer from the outside (net.layer<I>() called on the network's own
// activations: forward, backward, and eval-mode infer, median of repeated calls), then the
// loss, zero_grad and the optimizer step, and compares their sum with the measured step.
//
// This file holds the probe, the output and the command line; the work for one network (the
// timed phases, the profile, --memory) is bench_run.hpp, compiled once per network with the other
// tools' code for it (models.hpp, build/generated/model_TYPE.cpp).
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../train/text_numbers.hpp"
#include "bench_tool.hpp"
#include "machine.hpp"
#include "models.hpp"
#include "typenet/kernels.hpp"

namespace {

using namespace typenet::cli::bench_tool;
using typenet::cli::model_entry, typenet::cli::model_registry;

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- the FMA-throughput probe -----------------------------------------------------------------
// Each function runs `iters` iterations of N independent chains a_i = a_i * b + c and returns a
// sum of the chains (so nothing is dead code). Distinct start values keep the chains distinct;
// the empty asm makes b and c opaque, so nothing is folded. b < 1 keeps every value bounded.

#define TYPENET_REPEAT16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define TYPENET_REPEAT12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"))) float probe_avx512(long iters) {
    __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    asm volatile("" : "+v"(b), "+v"(c));
#define DECL(i) __m512 a##i = _mm512_set1_ps(0.01f * float(i + 1));
    TYPENET_REPEAT16(DECL)
#undef DECL
    for (long k = 0; k < iters; ++k) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
        TYPENET_REPEAT16(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, a##i);
    TYPENET_REPEAT16(SUM)
#undef SUM
    alignas(64) float out[16];
    _mm512_store_ps(out, s);
    return out[0] + out[15];
}

// AVX2 has 16 ymm registers: 12 chains + b + c fit without spills.
__attribute__((target("avx2,fma"))) float probe_avx2(long iters) {
    __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    asm volatile("" : "+x"(b), "+x"(c));
#define DECL(i) __m256 a##i = _mm256_set1_ps(0.01f * float(i + 1));
    TYPENET_REPEAT12(DECL)
#undef DECL
    for (long k = 0; k < iters; ++k) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
        TYPENET_REPEAT12(STEP)
#undef STEP
    }
    __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, a##i);
    TYPENET_REPEAT12(SUM)
#undef SUM
    alignas(32) float out[8];
    _mm256_store_ps(out, s);
    return out[0] + out[7];
}

// SSE2 has no FMA: a separate multiply and add per chain (2 FLOPs, two instructions).
float probe_sse2(long iters) {
    __m128 b = _mm_set1_ps(0.999f), c = _mm_set1_ps(0.001f);
    asm volatile("" : "+x"(b), "+x"(c));
#define DECL(i) __m128 a##i = _mm_set1_ps(0.01f * float(i + 1));
    TYPENET_REPEAT12(DECL)
#undef DECL
    for (long k = 0; k < iters; ++k) {
#define STEP(i) a##i = _mm_add_ps(_mm_mul_ps(a##i, b), c);
        TYPENET_REPEAT12(STEP)
#undef STEP
    }
    __m128 s = _mm_setzero_ps();
#define SUM(i) s = _mm_add_ps(s, a##i);
    TYPENET_REPEAT12(SUM)
#undef SUM
    alignas(16) float out[4];
    _mm_store_ps(out, s);
    return out[0] + out[3];
}

struct probe_kind {
    float (*fn)(long);
    std::size_t floats, chains;
};

probe_kind probe_for(const std::string& isa) {
    if (isa == "avx512") return {probe_avx512, 16, 16};
    if (isa == "avx2") return {probe_avx2, 8, 12};
    return {probe_sse2, 4, 12};  // sse2, and the reference kernels of a non-SIMD build
}

std::atomic<float> probe_sink{0};

// GFLOP/s of `threads` threads each running the probe for about `seconds`; best of `reps`.
double measure_peak(const probe_kind& p, std::size_t threads, double seconds, int reps) {
    // Calibrate the iteration count on one thread.
    long iters = 1 << 16;
    for (;;) {
        const auto t0 = clock_type::now();
        probe_sink = probe_sink + p.fn(iters);
        const double s = seconds_between(t0, clock_type::now());
        if (s > 0.02) {
            iters = std::max(1L, long(double(iters) * seconds / s));
            break;
        }
        iters *= 4;
    }
    double best = 0;
    for (int r = 0; r < reps; ++r) {
        std::atomic<std::size_t> ready{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> pool;
        std::vector<float> sinks(threads);
        for (std::size_t t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                ++ready;
                while (!go.load(std::memory_order_acquire)) {
                }
                sinks[t] = p.fn(iters);
            });
        while (ready.load() != threads) {
        }
        const auto t0 = clock_type::now();
        go.store(true, std::memory_order_release);
        for (auto& th : pool) th.join();
        const double s = seconds_between(t0, clock_type::now());
        for (float v : sinks) probe_sink = probe_sink + v;
        const double flops = 2.0 * double(p.floats) * double(p.chains) * double(iters) * double(threads);
        best = std::max(best, flops / s / 1e9);
    }
    return best;
}

peak_result measure_machine_peak(std::size_t threads) {
    peak_result r;
    r.isa = typenet::kernels::isa_name();
    const auto p = probe_for(r.isa);
    r.threads = threads;
    r.vector_floats = p.floats;
    r.accumulators = p.chains;
    r.gflops_1thread = measure_peak(p, 1, 0.15, 3);
    r.gflops = threads == 1 ? r.gflops_1thread : measure_peak(p, threads, 0.15, 3);
    return r;
}

// ---- output -----------------------------------------------------------------------------------

std::string num(double v, int prec = 4) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream s;
    s.precision(prec);
    s << std::fixed << v;
    return s.str();
}

double gflops_of(double flops_per_image, std::size_t batch, double ms) {
    return ms > 0 ? flops_per_image * double(batch) / (ms * 1e6) : 0;
}

void print_json(const bench_result& r, const std::optional<peak_result>& peak, const options& o) {
    using json = nlohmann::ordered_json;
    auto phase = [&](const phase_result& p, double flops_per_image) {
        json j;
        j["images_per_second"] = p.images_per_second;
        j["median_images_per_second"] = p.median_images_per_second;
        j["steps"] = p.steps;
        j["seconds"] = p.seconds;
        j["median_step_ms"] = p.median_step_ms;
        j["flops_per_image"] = flops_per_image;
        j["gflops"] = p.gflops;
        j["fraction_of_peak"] = peak ? json(p.fraction_of_peak) : json(nullptr);
        return j;
    };
    json j;
    j["tool"] = "typenet-bench";
    j["model"] = r.model;
    j["description"] = r.description;
    j["batch"] = r.batch;
    j["threads"] = r.threads;
    j["isa"] = r.isa;
    j["winograd"] = typenet::kernels::winograd();
    j["cpu"] = typenet::train::cpu_model_name();
    j["hardware_threads"] = std::thread::hardware_concurrency();
    j["warmup"] = o.warmup;
    j["parameters"] = r.parameters;
    j["forward_flops_per_image"] = r.forward_flops;
    j["flop_convention"] = "multiply-add = 2 FLOPs, elementwise = 0; train = 3 x forward (forward + backward-data + "
                           "backward-params), eval = 1 x forward";
    j["gradient_bytes"] = r.parameters * sizeof(float);
    j["batch_statistics_sync"] = {{"forward_exchanges", r.census.forward_exchanges},
                                  {"backward_exchanges", r.census.backward_exchanges},
                                  {"forward_doubles", r.census.forward_doubles},
                                  {"backward_doubles", r.census.backward_doubles}};
    j["train"] = phase(r.train, 3.0 * double(r.forward_flops));
    j["eval"] = phase(r.eval, double(r.forward_flops));
    j["final_loss"] = r.final_loss;
    j["peak"] = nullptr;
    if (peak)
        j["peak"] = {{"gflops", peak->gflops}, {"gflops_1thread", peak->gflops_1thread}, {"threads", peak->threads},
                     {"isa", peak->isa}, {"vector_floats", peak->vector_floats},
                     {"accumulators_per_thread", peak->accumulators}};
    j["profile"] = nullptr;
    if (r.profile) {
        const auto& p = *r.profile;
        double fsum = 0, bsum = 0, isum = 0;
        json layers = json::array();
        for (const auto& l : p.layers) {
            fsum += l.forward_ms, bsum += l.backward_ms, isum += l.infer_ms;
            layers.push_back({{"index", l.index}, {"layer", l.layer}, {"output", l.output},
                              {"forward_flops_per_image", l.forward_flops}, {"forward_ms", l.forward_ms},
                              {"backward_ms", l.backward_ms}, {"infer_ms", l.infer_ms},
                              {"forward_gflops", gflops_of(double(l.forward_flops), r.batch, l.forward_ms)},
                              {"backward_gflops", gflops_of(2.0 * double(l.forward_flops), r.batch, l.backward_ms)},
                              {"infer_gflops", gflops_of(double(l.forward_flops), r.batch, l.infer_ms)}});
        }
        const double parts = fsum + bsum + p.loss_ms + p.zero_grad_ms + p.optimizer_ms + p.input_copy_ms;
        j["profile"] = {{"layers", layers}, {"forward_ms", fsum}, {"backward_ms", bsum}, {"infer_ms", isum},
                        {"loss_ms", p.loss_ms}, {"zero_grad_ms", p.zero_grad_ms}, {"optimizer_ms", p.optimizer_ms},
                        {"input_copy_ms", p.input_copy_ms}, {"sum_of_parts_ms", parts},
                        {"measured_step_ms", r.train.median_step_ms}};
    }
    j["ok"] = true;
    std::fputs((j.dump(2, ' ', false, json::error_handler_t::replace) + "\n").c_str(), stdout);
}

void print_table(const bench_result& r, const std::optional<peak_result>& peak) {
    std::printf("typenet-bench: %s, batch %zu, %zu thread%s, %s kernels%s (%s)\n", r.model.c_str(), r.batch, r.threads,
                r.threads == 1 ? "" : "s", r.isa.c_str(), typenet::kernels::winograd() ? " + Winograd" : "",
                typenet::train::cpu_model_name().c_str());
    std::printf("  %s; %zu parameters, forward %.2f MFLOP/image, train 3 x forward = %.2f MFLOP/image\n",
                r.description.c_str(), r.parameters, double(r.forward_flops) / 1e6, 3.0 * double(r.forward_flops) / 1e6);
    if (peak)
        std::printf("  FMA peak (%s, %zu accumulators x %zu floats per thread): %.1f GFLOP/s on %zu thread%s, %.1f on 1\n",
                    peak->isa.c_str(), peak->accumulators, peak->vector_floats, peak->gflops, peak->threads,
                    peak->threads == 1 ? "" : "s", peak->gflops_1thread);
    std::printf("\n  %-6s %6s %9s %11s %14s %14s %9s %9s\n", "phase", "steps", "seconds", "img/s", "img/s (median)",
                "ms/step (med)", "GFLOP/s", "of peak");
    auto row = [&](const char* name, const phase_result& p) {
        std::printf("  %-6s %6zu %9.3f %11.1f %14.1f %14.2f %9.1f %8s\n", name, p.steps, p.seconds, p.images_per_second,
                    p.median_images_per_second, p.median_step_ms, p.gflops,
                    peak ? (num(100 * p.fraction_of_peak, 1) + "%").c_str() : "-");
    };
    row("train", r.train);
    row("eval", r.eval);
    std::printf("\n  a data-parallel step would sum %.2f MB of float32 gradients; synchronized batch norm would exchange "
                "%zu + %zu times (forward + backward), %zu + %zu doubles a process\n",
                double(r.parameters * sizeof(float)) / 1e6, r.census.forward_exchanges, r.census.backward_exchanges,
                r.census.forward_doubles, r.census.backward_doubles);
    if (!r.profile) return;
    const auto& p = *r.profile;
    double fsum = 0, bsum = 0, isum = 0;
    for (const auto& l : p.layers) fsum += l.forward_ms, bsum += l.backward_ms, isum += l.infer_ms;
    const double parts = fsum + bsum + p.loss_ms + p.zero_grad_ms + p.optimizer_ms + p.input_copy_ms;
    std::printf("\n  per layer (median of 15 calls each, on the network's own activations; GFLOP/s: forward = "
                "forward FLOPs, backward = 2 x forward FLOPs)\n");
    std::printf("  %3s %-30s %-10s %9s %8s %9s %8s %7s %9s %8s\n", "#", "layer", "output", "fwd ms", "GFLOP/s", "bwd ms",
                "GFLOP/s", "% step", "infer ms", "GFLOP/s");
    for (const auto& l : p.layers) {
        auto gf = [&](double f, double ms) { return l.forward_flops ? num(gflops_of(f, r.batch, ms), 1) : std::string("-"); };
        std::printf("  %3zu %-30s %-10s %9.3f %8s %9.3f %8s %6.1f%% %9.3f %8s\n", l.index, l.layer.c_str(),
                    l.output.c_str(), l.forward_ms, gf(double(l.forward_flops), l.forward_ms).c_str(), l.backward_ms,
                    gf(2.0 * double(l.forward_flops), l.backward_ms).c_str(), 100 * (l.forward_ms + l.backward_ms) / parts,
                    l.infer_ms, gf(double(l.forward_flops), l.infer_ms).c_str());
    }
    std::printf("  %3s %-30s %-10s %9.3f %8s %9.3f %8s %6.1f%% %9.3f\n", "", "all layers", "", fsum,
                num(gflops_of(double(r.forward_flops), r.batch, fsum), 1).c_str(), bsum,
                num(gflops_of(2.0 * double(r.forward_flops), r.batch, bsum), 1).c_str(), 100 * (fsum + bsum) / parts, isum);
    std::printf("  %3s %-30s %-10s %9.3f %8s %9s %8s %6.1f%%\n", "", "loss + gradient", "", p.loss_ms, "", "", "",
                100 * p.loss_ms / parts);
    std::printf("  %3s %-30s %-10s %9.3f %8s %9s %8s %6.1f%%\n", "", "zero_grad", "", p.zero_grad_ms, "", "", "",
                100 * p.zero_grad_ms / parts);
    std::printf("  %3s %-30s %-10s %9.3f %8s %9s %8s %6.1f%%\n", "", "SGD momentum step", "", p.optimizer_ms, "", "", "",
                100 * p.optimizer_ms / parts);
    std::printf("  %3s %-30s %-10s %9.3f %8s %9s %8s %6.1f%%\n", "", "input copy (net.forward)", "", p.input_copy_ms, "",
                "", "", 100 * p.input_copy_ms / parts);
    std::printf("  sum of parts %.2f ms; measured train step (median) %.2f ms; eval: sum of infer %.2f ms, measured %.2f ms\n",
                parts, r.train.median_step_ms, isum, r.eval.median_step_ms);
}

// ---- command line -----------------------------------------------------------------------------

void print_help() {
    std::string names;
    for (const auto& m : model_registry()) names += std::string("      ") + m.name + "  " + m.description + "\n";
    std::printf(
        "typenet-bench: training and eval throughput of a typenet network on random data, the GFLOP/s\n"
        "it achieves and the fraction of this machine's FMA peak (measured in-process).\n"
        "\n"
        "usage: typenet-bench [options]\n"
        "  --model NAME      the network (default cnn-bn):\n%s"
        "  --batch N         images per step (default 128)\n"
        "  --steps N         timed steps per phase (default 20)\n"
        "  --seconds S       time each phase for S seconds instead of --steps\n"
        "  --warmup N        untimed steps before each phase (default 3)\n"
        "  --threads N       kernel threads (default 0 = every core, or OMP_NUM_THREADS)\n"
        "  --simd ISA        auto|avx512|avx2|sse2|scalar (scalar = sse2; default auto)\n"
        "  --winograd on|off 3x3 stride-1 convolutions as Winograd F(2x2, 3x3) (on, the default) or direct\n"
        "  --profile         per-layer forward/backward/infer times, loss, zero_grad, optimizer\n"
        "  --json            one JSON object on stdout instead of the table\n"
        "  --no-peak         skip the FMA peak probe (fraction of peak is then not reported)\n"
        "  --memory          instead of speed: the peak resident set of --steps training steps and one\n"
        "                    eval forward at --batch on random images, without a data set\n"
        "  --max-mb N        with --memory: exit 1 when that peak exceeds N MB\n"
        "  --help            this text\n"
        "\n"
        "train step = forward + softmax cross-entropy + zero_grad + backward + SGD momentum step\n"
        "(lr 0.01, momentum 0.9); eval step = eval-mode forward. img/s = batch * steps / seconds.\n"
        "FLOPs: multiply-add = 2, elementwise = 0; train = 3 x forward FLOPs (forward + backward-data\n"
        "+ backward-params), eval = 1 x forward. Exit codes: 0 ok, 2 bad arguments, 1 other errors.\n",
        names.c_str());
}

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min) {
    return typenet::train::detail::whole_flag<usage_error>(flag, v, min, std::numeric_limits<std::size_t>::max());
}

double parse_seconds(const std::string& flag, const std::string& v, const char* unit = "seconds") {
    return typenet::train::detail::number_flag<usage_error>(flag, v, std::string("a positive number of ") + unit, 0.0);
}

std::optional<options> parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i], value;
        bool has_value = false;
        if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = a.substr(eq + 1), a = a.substr(0, eq), has_value = true;
        }
        auto take = [&]() -> std::string {
            if (has_value) return value;
            if (i + 1 >= argc) throw usage_error(a + ": missing value");
            return argv[++i];
        };
        auto no_value = [&] {
            if (has_value) throw usage_error(a + ": takes no value");
        };
        if (a == "--help" || a == "-h") {
            no_value();
            print_help();
            return std::nullopt;
        } else if (a == "--model") o.model = take();
        else if (a == "--batch") o.batch = parse_count(a, take(), 1);
        else if (a == "--steps") o.steps = parse_count(a, take(), 1);
        else if (a == "--seconds") o.seconds = parse_seconds(a, take());
        else if (a == "--warmup") o.warmup = parse_count(a, take(), 0);
        else if (a == "--threads") o.threads = parse_count(a, take(), 0);
        else if (a == "--simd") o.simd = take();
        else if (a == "--winograd") {
            const std::string v = take();
            if (v != "on" && v != "off") throw usage_error("--winograd: expected on or off, got '" + v + "'");
            o.winograd = v == "on";
        }
        else if (a == "--profile") no_value(), o.profile = true;
        else if (a == "--json") no_value(), o.json = true;
        else if (a == "--no-peak") no_value(), o.peak = false;
        else if (a == "--memory") no_value(), o.memory = true;
        else if (a == "--max-mb") o.max_mb = parse_seconds(a, take(), "MB");
        else throw usage_error("unknown option '" + a + "' (see --help)");
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    const model_entry* model = nullptr;
    try {
        const auto parsed = parse(argc, argv);
        if (!parsed) return exit_ok;
        o = *parsed;
        for (const auto& m : model_registry())
            if (o.model == m.name) model = &m;
        if (!model) {
            std::string names;
            for (const auto& m : model_registry()) names += std::string(names.empty() ? "" : ", ") + m.name;
            throw usage_error("--model: unknown model '" + o.model + "' (choose one of: " + names + ")");
        }
        try {
            typenet::kernels::set_isa(o.simd);
        } catch (const std::invalid_argument& e) {
            throw usage_error(std::string("--simd: ") + e.what());
        }
        typenet::kernels::set_threads(o.threads);
        typenet::kernels::set_winograd(o.winograd);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "typenet-bench: %s\n", e.what());
        return exit_bad_input;
    }
    if (o.max_mb > 0 && !o.memory) {
        std::fprintf(stderr, "typenet-bench: --max-mb needs --memory\n");
        return exit_bad_input;
    }
    if (o.memory) {
        try {
            return model->bench_memory(o);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "typenet-bench: error: %s\n", e.what());
            return 1;
        }
    }
    try {
        // The probe runs first, before the kernels' OpenMP team exists (no spinning workers).
        std::optional<peak_result> peak;
        if (o.peak) peak = measure_machine_peak(typenet::kernels::threads());
        const auto r = model->bench(o, model->name, model->description, peak ? &*peak : nullptr);
        if (o.json) print_json(r, peak, o);
        else print_table(r, peak);
        return exit_ok;
    } catch (const std::invalid_argument& e) {  // e.g. batch norm in train mode at batch 1
        std::fprintf(stderr, "typenet-bench: %s\n", e.what());
        return exit_bad_input;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-bench: error: %s\n", e.what());
        return 1;
    }
}
