// bench/kernels_bench.cpp - typenet-kernel-bench: GFLOP/s of the float kernels on the layers of
// the CIFAR CNN (models::cifar_cnn_bn), or with --layers resnet20 / resnet18 on the distinct
// convolutions of ResNet-20 / ResNet-18 (models.hpp), at batch 128, per instruction set.
//
//   typenet-kernel-bench [--isa NAME|all] [--threads N] [--batch N] [--seconds S] [--only conv|bn|pool|dense]
//                        [--layers cnn|resnet20|resnet18] [--best] [--error] [--winograd on|off]
//
// For each layer: forward, backward-data and backward-params of the convolutions and dense
// layers (GFLOP/s and ms per call), the fused batch-norm + ReLU passes and max pooling (ms per
// call), then the sum of the per-call times as an estimate of one training step's kernel time
// and the images/s it bounds. Each figure is the median of repeated calls (at least --seconds
// per kernel; --best: the fastest call). Absolute numbers on shared machines drift: compare figures of one run.
// --error adds each convolution pass's relative error against the double reference path.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/cli/median.hpp"
#include "../src/train/text_numbers.hpp"
#include "typenet/kernels.hpp"

#include "rel_error.hpp"

namespace k = typenet::kernels;
using typenet::numerics::rel_error;
using typenet::train::detail::number_flag, typenet::train::detail::whole_flag;

namespace {

bool use_best = false;  // --best: the fastest call instead of the median (least disturbed by other load)

double median_ms(const std::function<void()>& f, double min_seconds) {
    f();  // warm-up (grows scratch buffers, faults pages in)
    std::vector<double> t;
    const auto start = std::chrono::steady_clock::now();
    do {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        const auto t1 = std::chrono::steady_clock::now();
        t.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_seconds ||
             t.size() < 3);
    return use_best ? *std::min_element(t.begin(), t.end()) : typenet::cli::median(t);
}

std::vector<float> random_vector(std::size_t n, std::mt19937& g, float scale = 1.f) {
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

struct conv_layer {
    std::size_t cin, cout, hw;       // input channels, output channels, input height = width
    std::size_t kernel = 3, stride = 1;  // 'same' padding: (kernel - 1) / 2
    std::string name() const {  // e.g. "conv 1x1 16->32 s2 @32x32"
        return "conv " + (kernel == 3 ? std::string() : std::to_string(kernel) + "x" + std::to_string(kernel) + " ") +
               std::to_string(cin) + "->" + std::to_string(cout) + (stride == 1 ? "" : " s" + std::to_string(stride)) +
               " @" + std::to_string(hw) + "x" + std::to_string(hw);
    }
};

// Each distinct convolution of a CIFAR ResNet whose stages have these widths (models.hpp): the
// 3x3 stem on 32x32, each stage's 3x3 convolution, and at each stage change the strided 3x3
// convolution and the strided 1x1 projection (maps halve). The per-step sum weighs each once.
std::vector<conv_layer> resnet_convs(std::initializer_list<std::size_t> widths) {
    std::vector<conv_layer> v;
    std::size_t hw = 32, in = 3;
    for (const std::size_t w : widths) {
        if (in == 3) {
            v.push_back({3, w, hw});
        } else {
            v.push_back({in, w, hw, 3, 2});
            v.push_back({in, w, hw, 1, 2});
            hw /= 2;
        }
        v.push_back({w, w, hw});
        in = w;
    }
    return v;
}
struct dense_layer {
    const char* name;
    std::size_t in, out;
};

void row(const char* layer, const char* pass, double flops, double ms) {
    if (flops > 0)
        std::printf("  %-22s %-16s %8.3f ms %8.1f GFLOP/s\n", layer, pass, ms, flops / (ms * 1e6));
    else
        std::printf("  %-22s %-16s %8.3f ms\n", layer, pass, ms);
}

// --error: each convolution pass's relative error ||float - double|| / ||double|| against the
// double reference path on the same inputs (the per-layer view of docs/numerics.md's figures).
bool with_error = false;

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

void conv_error(const char* name, const k::conv_geometry& geo, const std::vector<float>& x,
                const std::vector<float>& w, const std::vector<float>& dy) {
    const std::size_t ysize = dy.size();
    std::vector<float> y(ysize), dx(x.size()), dw(w.size(), 0.f);
    k::conv2d_forward<float>(geo, x.data(), w.data(), nullptr, y.data());
    k::conv2d_backward_data<float>(geo, dy.data(), w.data(), dx.data());
    k::conv2d_backward_params<float>(geo, x.data(), dy.data(), dw.data(), nullptr);
    const auto xd = widen(x), wd = widen(w), dyd = widen(dy);
    std::vector<double> yd(ysize), dxd(x.size()), dwd(w.size(), 0.0);
    k::conv2d_forward<double>(geo, xd.data(), wd.data(), nullptr, yd.data());
    k::conv2d_backward_data<double>(geo, dyd.data(), wd.data(), dxd.data());
    k::conv2d_backward_params<double>(geo, xd.data(), dyd.data(), dwd.data(), nullptr);
    std::printf("  %-22s %-16s forward %.2e  backward-data %.2e  backward-params %.2e\n", name, "error vs double",
                rel_error(y, yd), rel_error(dx, dxd), rel_error(dw, dwd));
}

std::string only;  // --only conv|dense|bn|pool: skip the other groups
std::string layers = "cnn";  // --layers cnn|resnet20|resnet18

void run(std::size_t batch, double seconds) {
    std::mt19937 g(42);
    const std::vector<conv_layer> cnn = {{3, 32, 32}, {32, 32, 32}, {32, 64, 16}, {64, 64, 16}};
    const auto convs = layers == "resnet20"   ? resnet_convs({16, 32, 64})
                       : layers == "resnet18" ? resnet_convs({64, 128, 256, 512})
                                              : cnn;
    const dense_layer denses[] = {{"dense 4096->512", 4096, 512}, {"dense 512->512", 512, 512}, {"dense 512->10", 512, 10}};
    double total_ms = 0, conv_ms = 0, conv_flops = 0, all_flops = 0;
    for (const auto& c : convs) {
        const std::string cname = c.name();
        const char* name = cname.c_str();
        const std::size_t kk = c.kernel * c.kernel, ohw = (c.hw - 1) / c.stride + 1;
        const k::conv_geometry geo{batch, c.cin, c.hw, c.hw, c.cout, ohw, ohw, c.kernel, c.stride, (c.kernel - 1) / 2};
        auto x = random_vector(batch * c.cin * c.hw * c.hw, g), w = random_vector(c.cout * c.cin * kk, g, 0.1f);
        std::vector<float> y(batch * c.cout * ohw * ohw), dx(x.size()), dw(w.size());
        auto dy = random_vector(y.size(), g);
        const double flops = 2.0 * double(batch * c.cout * c.cin * kk * ohw * ohw);
        if (!only.empty() && only != "conv" && only != "bn") continue;
        double f = 0, d = 0, p = 0, bf = 0, bb = 0;
        if (only.empty() || only == "conv") {
        f = median_ms([&] { k::conv2d_forward<float>(geo, x.data(), w.data(), nullptr, y.data()); }, seconds);
        d = median_ms([&] { k::conv2d_backward_data<float>(geo, dy.data(), w.data(), dx.data()); }, seconds);
        p = median_ms([&] { k::conv2d_backward_params<float>(geo, x.data(), dy.data(), dw.data(), nullptr); },
                                   seconds);
        std::printf("  %s [%s]\n", name, k::conv_algorithm_name(k::conv_algorithm_of(geo)));
        row(name, "forward", flops, f);
        row(name, "backward-data", flops, d);
        row(name, "backward-params", flops, p);
        if (with_error) conv_error(name, geo, x, w, dy);
        }
        // The fused batch norm + ReLU of conv_bn on this layer's output, and its VJP, as conv_bn
        // runs them: xhat not stored; backward recomputes it and the ReLU mask from the input.
        const k::norm_geometry bg{batch, c.cout, ohw * ohw, batch, 1};
        std::vector<float> gamma(c.cout, 1.f), beta(c.cout, 0.f), istd(c.cout), mean(c.cout), var(c.cout), dg(c.cout),
            db(c.cout), out(y.size()), dz(y.size());
        if (only.empty() || only == "bn") {
        bf = median_ms([&] {
            k::norm_statistics<float>(bg, y.data(), 1e-5, mean.data(), var.data(), istd.data());
            k::norm_apply<float>(bg, y.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false, nullptr, true,
                                 out.data());
        }, seconds);
        bb = median_ms([&] {
            k::norm_backward<float>(bg, y.data(), mean.data(), istd.data(), gamma.data(), beta.data(), false, true,
                                    dy.data(), dz.data(), dg.data(), db.data());
        }, seconds);
        row(name, "bn+relu fwd", 0, bf);
        row(name, "bn+relu bwd", 0, bb);
        }
        total_ms += f + d + p + bf + bb;
        conv_ms += f + d + p;
        conv_flops += 3 * flops;
        all_flops += 3 * flops;
    }
    for (std::size_t hw : {32, 16}) {
        if ((!only.empty() && only != "pool") || layers != "cnn") break;
        const std::size_t ch = hw == 32 ? 32 : 64;
        const k::pool_geometry pg{batch, ch, hw, hw, hw / 2, hw / 2, 2, 2};
        auto x = random_vector(batch * ch * hw * hw, g);
        std::vector<float> y(x.size() / 4), dx(x.size());
        std::vector<std::uint32_t> am(y.size());
        const double f = median_ms([&] { k::max_pool_forward<float>(pg, x.data(), y.data(), am.data()); }, seconds);
        const double b = median_ms([&] { k::max_pool_backward<float>(pg, y.data(), am.data(), dx.data()); }, seconds);
        const std::string name = "max_pool 2x2 @" + std::to_string(hw) + "x" + std::to_string(hw);
        row(name.c_str(), "forward", 0, f);
        row(name.c_str(), "backward", 0, b);
        total_ms += f + b;
    }
    double dense_ms = 0;
    for (const auto& d : denses) {
        if ((!only.empty() && only != "dense") || layers != "cnn") break;
        auto x = random_vector(batch * d.in, g), w = random_vector(d.out * d.in, g, 0.05f), bias = random_vector(d.out, g);
        std::vector<float> y(batch * d.out), dx(x.size()), dw(w.size()), db(d.out);
        auto dy = random_vector(y.size(), g);
        const double flops = 2.0 * double(batch * d.in * d.out);
        const double f = median_ms([&] { k::dense_forward<float>(batch, d.in, d.out, x.data(), w.data(), bias.data(), y.data()); },
                                   seconds);
        const double bd = median_ms([&] { k::dense_backward_data<float>(batch, d.in, d.out, dy.data(), w.data(), dx.data()); },
                                    seconds);
        const double bp = median_ms([&] {
            k::dense_backward_params<float>(batch, d.in, d.out, x.data(), dy.data(), dw.data(), db.data());
        }, seconds);
        row(d.name, "forward", flops, f);
        row(d.name, "backward-data", flops, bd);
        row(d.name, "backward-params", flops, bp);
        total_ms += f + bd + bp;
        dense_ms += f + bd + bp;
        all_flops += 3 * flops;
    }
    if (layers != "cnn") {  // a set of distinct layers, not one network's step
        std::printf("  these convolutions once each: %.1f ms, %.1f GFLOP/s\n", conv_ms, conv_flops / (conv_ms * 1e6));
        return;
    }
    std::printf("  convolutions: %.1f ms per step, %.1f GFLOP/s\n", conv_ms, conv_flops / (conv_ms * 1e6));
    std::printf("  dense: %.1f ms per step\n", dense_ms);
    std::printf("  all kernels above: %.1f ms per training step of batch %zu -> at most %.0f img/s (%.1f GFLOP/s)\n",
                total_ms, batch, double(batch) * 1000.0 / total_ms, all_flops / (total_ms * 1e6));
}

}  // namespace

int main(int argc, char** argv) {
    std::string isa = "all";
    std::size_t threads = 0, batch = 128;
    double seconds = 0.3;
    for (int i = 1; i < argc; ++i) try {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--isa" && v) isa = v, ++i;
        else if (a == "--threads" && v) threads = whole_flag<std::runtime_error>(a, v, 0), ++i;  // strtoul made "x" 0
        else if (a == "--batch" && v) batch = whole_flag<std::runtime_error>(a, v, 1), ++i;
        else if (a == "--seconds" && v) seconds = number_flag<std::runtime_error>(a, v, "a positive number of seconds", 0.0), ++i;
        else if (a == "--only" && v) only = v, ++i;
        else if (a == "--layers" && v && (std::strcmp(v, "cnn") == 0 || std::strcmp(v, "resnet20") == 0 || std::strcmp(v, "resnet18") == 0)) layers = v, ++i;
        else if (a == "--best") use_best = true;
        else if (a == "--error") with_error = true;
        else if (a == "--winograd" && v && (std::strcmp(v, "on") == 0 || std::strcmp(v, "off") == 0))
            k::set_winograd(std::strcmp(v, "on") == 0), ++i;
        else {
            std::fprintf(stderr, "usage: typenet-kernel-bench [--isa NAME|all] [--threads N] [--batch N] [--seconds S] [--only conv|bn|pool|dense] [--layers cnn|resnet20|resnet18] [--best] [--error] [--winograd on|off]\n");
            return 2;
        }
    } catch (const std::runtime_error& e) {  // whole_flag, number_flag
        std::fprintf(stderr, "typenet-kernel-bench: %s\n", e.what());
        return 2;
    }
    k::set_threads(threads);
    std::vector<std::string> isas = isa == "all" ? k::supported_isas() : std::vector<std::string>{isa};
    if (isas.empty()) isas.push_back("auto");
    for (const auto& name : isas) {
        k::set_isa(name);
        std::printf("isa %s, %zu threads, batch %zu, Winograd %s (each convolution's algorithm in brackets)\n",
                    k::isa_name().c_str(), k::threads(), batch, k::winograd() ? "on" : "off");
        run(batch, seconds);
    }
    return 0;
}
