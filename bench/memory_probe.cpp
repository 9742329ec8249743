// bench/memory_probe.cpp - the memory a network itself needs to train, without a data set.
//
//   typenet-memory-probe [--model cnn-bn|cnn-nobn] [--batch 128] [--steps 3] [--max-mb N]
//
// Runs what typenet-train runs per step (train-mode forward, softmax cross-entropy, zero_grad,
// backward, an SGD step) on random images, then one eval-mode forward, and prints the peak
// resident set (VmHWM) of the process next to its resident set before the network existed
// (the program, its libraries and the C++ runtime). typenet-train adds the data set to that:
// 3,073 bytes per CIFAR-10 image kept in memory (154 MB for the 50,000 training images, 31 MB
// for the 10,000 test images).
//
// With --max-mb N it exits 1 when the peak exceeds N MB (tests/CMakeLists.txt runs it so, as a
// regression test of the training footprint).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "typenet/loss.hpp"
#include "typenet/models.hpp"
#include "typenet/optim.hpp"
#include "typenet/rng.hpp"

namespace {

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"), 0 where there is no /proc.
std::size_t status_kb(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    return 0;
}
double mb(std::size_t kb) { return double(kb) / 1024.0; }

struct options {
    std::string model = "cnn-bn";
    std::size_t batch = 128, steps = 3;
    double max_mb = 0;
};

template <class Net>
int probe(const options& o) {
    using T = typename Net::value_type;
    const std::size_t before_kb = status_kb("VmRSS");

    auto net = std::make_unique<Net>(1);
    // What typenet-train does: nothing downstream reads dL/d(images).
    if constexpr (requires { net->set_input_gradient(false); }) net->set_input_gradient(false);
    typenet::optimizer_config oc;  // SGD, as the baseline recipe
    typenet::optimizer<T> opt(typenet::collect_parameters(*net), oc);
    const typenet::softmax_cross_entropy loss;

    typename Net::input_tensor x(o.batch);
    typenet::tensor<T, typename Net::output_shape> dlogits;
    std::vector<std::int32_t> labels(o.batch);
    typenet::rng g(7);
    for (auto& v : x.flat()) v = T(g.normal());
    for (std::size_t i = 0; i < o.batch; ++i) labels[i] = std::int32_t(i % 10);

    net->train();
    double l = 0;
    for (std::size_t s = 0; s < o.steps; ++s) {
        const auto& y = net->forward(x);
        l = loss.loss_and_gradient(y, labels, dlogits);
        opt.zero_grad();
        net->backward(dlogits);
        opt.step(0.01);
    }
    const std::size_t train_peak_kb = status_kb("VmHWM");
    net->eval();
    net->forward(x);
    const std::size_t peak_kb = status_kb("VmHWM");

    std::printf("model %s, batch %zu, %zu training steps (loss %.4f), then one eval forward\n", o.model.c_str(),
                o.batch, o.steps, l);
    std::printf("  resident before the network:  %8.1f MB (program, libraries)\n", mb(before_kb));
    std::printf("  parameters + gradients:       %8.1f MB (%zu parameters; SGD keeps one more copy)\n",
                double(2 * Net::parameter_count * sizeof(T)) / (1 << 20), std::size_t(Net::parameter_count));
    std::printf("  peak after training steps:    %8.1f MB\n", mb(train_peak_kb));
    std::printf("  peak after eval forward:      %8.1f MB\n", mb(peak_kb));
    std::printf("  network's own (peak - before):%8.1f MB\n", mb(peak_kb - before_kb));
    std::printf("peak_rss_mb %.1f\n", mb(peak_kb));
    if (o.max_mb > 0 && mb(peak_kb) > o.max_mb) {
        std::fprintf(stderr, "typenet-memory-probe: peak %.1f MB exceeds the budget of %.1f MB\n", mb(peak_kb),
                     o.max_mb);
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "typenet-memory-probe: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--model") o.model = value();
        else if (a == "--batch") o.batch = std::stoul(value());
        else if (a == "--steps") o.steps = std::stoul(value());
        else if (a == "--max-mb") o.max_mb = std::stod(value());
        else {
            std::fprintf(stderr, "usage: typenet-memory-probe [--model cnn-bn|cnn-nobn] [--batch N] [--steps N] [--max-mb N]\n");
            return 2;
        }
    }
    if (o.model == "cnn-bn") return probe<typenet::models::cifar_cnn_bn>(o);
    if (o.model == "cnn-nobn") return probe<typenet::models::cifar_cnn_nobn>(o);
    std::fprintf(stderr, "typenet-memory-probe: unknown model %s (cnn-bn, cnn-nobn)\n", o.model.c_str());
    return 2;
}
