// src/cli/bench_run.hpp (private to the tools) - typenet-bench's work for one network, run<Net> and
// memory_probe<Net> (declared in bench_tool.hpp): for the generated model_TYPE.cpp alone, which
// compiles them next to the network's training code and shares its instantiations (forward,
// backward, the optimizer); a file that saw this and took them for every network would compile
// every network again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bench_tool.hpp"
#include "typenet/kernels.hpp"
#include "typenet/loss.hpp"
#include "typenet/models.hpp"
#include "typenet/optim.hpp"

namespace typenet::cli::bench_tool {

// ---- the per-layer profile (from the outside: net.layer<I>() on the network's activations) ----

template <class Net, std::size_t I>
void profile_layer(Net& net, const typename Net::input_tensor& x, std::size_t reps, std::mt19937& g,
                   profile_result& out) {
    using L = typename Net::template layer_type<I>;
    using in_tensor = typenet::tensor<float, typename L::input_shape>;
    using out_tensor = typenet::tensor<float, typename L::output_shape>;
    const in_tensor* input;
    if constexpr (I == 0) input = &x;
    else input = &net.template output_of<I - 1>();
    const std::size_t B = input->batch();
    L& layer = net.template layer<I>();
    out_tensor y(B), dy(B);
    // As in the train step (set_input_gradient(false)): the first layer computes no input gradient.
    in_tensor dx(I == 0 ? 0 : B);
    typename L::saved_type saved{};
    std::normal_distribution<float> d(0.f, 1e-3f);
    for (std::size_t i = 0; i < dy.size(); ++i) dy.data()[i] = d(g);
    layer_profile p;
    p.index = I;
    p.layer = L::describe();
    p.output = L::output_shape::to_string();
    p.forward_flops = L::forward_flops;
    p.forward_ms = median_ms(reps, [&] { layer.forward(*input, y, saved); });
    // backward runs on the saved values of the last forward (it does not change them).
    p.backward_ms = median_ms(reps, [&] { layer.backward(*input, y, dy, dx, saved); });
    // Eval mode as the network runs it: with the layer's scratch (outputs kept from call to
    // call) where it has the optional infer(x, y, saved&), else the const infer(x, y).
    typename L::saved_type scratch{};
    p.infer_ms = median_ms(reps, [&] {
        if constexpr (requires { layer.infer(*input, y, scratch); }) layer.infer(*input, y, scratch);
        else static_cast<const L&>(layer).infer(*input, y);
    });
    out.layers.push_back(std::move(p));
}

template <class Net, std::size_t... I>
void profile_layers(Net& net, const typename Net::input_tensor& x, std::size_t reps, std::mt19937& g,
                    profile_result& out, std::index_sequence<I...>) {
    (profile_layer<Net, I>(net, x, reps, g, out), ...);
}

// ---- one network --------------------------------------------------------------------------------

template <class Net>
bench_result run(const options& o, const char* name, const char* description, const peak_result* peak) {
    bench_result r;
    r.model = name;
    r.description = description;
    r.batch = o.batch;
    r.isa = typenet::kernels::isa_name();
    r.threads = typenet::kernels::threads();
    r.parameters = Net::parameter_count;
    r.forward_flops = Net::forward_flops;

    auto net = std::make_unique<Net>(42);
    // Like typenet-train and like PyTorch with images that do not require a gradient: nothing
    // reads dLoss/d(images), so the first layer skips its backward-data pass.
    net->set_input_gradient(false);
    std::mt19937 g(1234);
    typename Net::input_tensor x(o.batch);
    {
        std::normal_distribution<float> d(0.f, 1.f);
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = d(g);
    }
    constexpr std::size_t classes = Net::output_shape::size;
    std::vector<std::int32_t> labels(o.batch);
    for (auto& l : labels) l = std::int32_t(g() % classes);
    const std::span<const std::int32_t> lab(labels.data(), labels.size());

    typenet::optimizer_config oc;
    oc.kind = typenet::optimizer_kind::sgd;
    oc.momentum = 0.9;
    typenet::optimizer<float> opt(typenet::collect_parameters(*net), oc);
    const typenet::softmax_cross_entropy loss;
    typenet::tensor<float, typename Net::output_shape> dlogits;
    const double lr = 0.01;

    double last_loss = 0;
    auto train_step = [&] {
        const auto& y = net->forward(x);
        last_loss = loss.loss_and_gradient(y, lab, dlogits);
        opt.zero_grad();
        net->backward(dlogits);
        opt.step(lr);
    };
    auto eval_step = [&] { (void)net->forward(x); };

    const double train_flops = 3.0 * double(Net::forward_flops) * double(o.batch);
    const double eval_flops = double(Net::forward_flops) * double(o.batch);

    net->train();
    for (std::size_t i = 0; i < o.warmup; ++i) train_step();
    r.train = timed_loop(o, train_step);
    r.train.gflops = train_flops * double(r.train.steps) / r.train.seconds / 1e9;
    r.final_loss = last_loss;

    net->eval();
    for (std::size_t i = 0; i < std::max<std::size_t>(o.warmup, 1); ++i) eval_step();
    r.eval = timed_loop(o, eval_step);
    r.eval.gflops = eval_flops * double(r.eval.steps) / r.eval.seconds / 1e9;

    {  // one more train step with a sync that counts what synchronized batch norm would exchange
        struct counting_sync final : typenet::kernels::norm_sync {
            sync_census c;
            void merge_moments(double*, std::size_t blocks) override { ++c.forward_exchanges, c.forward_doubles += 3 * blocks; }
            void sum(double*, std::size_t blocks) override { ++c.backward_exchanges, c.backward_doubles += 3 * blocks; }
        } counter;
        net->train();
        net->set_bn_sync(&counter);
        train_step();
        net->set_bn_sync(nullptr);
        r.census = counter.c;
    }

    if (peak && peak->gflops > 0) {
        r.train.fraction_of_peak = r.train.gflops / peak->gflops;
        r.eval.fraction_of_peak = r.eval.gflops / peak->gflops;
    }

    if (o.profile) {
        profile_result p;
        net->train();
        train_step();  // fresh train-mode activations for the layers to read
        const std::size_t reps = 15;
        profile_layers(*net, x, reps, g, p, std::make_index_sequence<Net::depth>{});
        const auto& y = net->forward(x);
        p.loss_ms = median_ms(reps, [&] { (void)loss.loss_and_gradient(y, lab, dlogits); });
        p.zero_grad_ms = median_ms(reps, [&] { opt.zero_grad(); });
        p.optimizer_ms = median_ms(reps, [&] { opt.step(0.0); });  // lr 0: same work, parameters kept
        typename Net::input_tensor copy(o.batch);
        p.input_copy_ms = median_ms(reps, [&] { std::copy(x.data(), x.data() + x.size(), copy.data()); });
        r.profile = std::move(p);
    }
    return r;
}


// ---- --memory (bench_tool.hpp) -------------------------------------------------------------------

template <class Net>
int memory_probe(const options& o) {
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
        std::fprintf(stderr, "typenet-bench --memory: peak %.1f MB exceeds the budget of %.1f MB\n", mb(peak_kb),
                     o.max_mb);
        return 1;
    }
    return exit_ok;
}


}  // namespace typenet::cli::bench_tool
