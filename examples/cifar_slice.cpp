// examples/cifar_slice.cpp - trains a small CNN on a slice of CIFAR-10.
//
//   cifar_slice [--train N] [--test N] [--epochs E] [--batch B] [--lr X] [--momentum M]
//               [--wd X] [--seed S] [--data DIR]
//
// SGD with momentum is written inline over net.for_each_parameter (typenet's optimizers live
// elsewhere); the loss is softmax cross-entropy. Each epoch prints the train loss and accuracy
// (train mode, averaged over the epoch's batches) and the test loss and accuracy (eval mode).
//
// Exit codes: 0 the network learned (final train loss below the initial one), 1 it did not or
// something failed, 2 bad command line, 77 CIFAR-10 not found (CTest counts 77 as skipped).
// The data is looked up by typenet::data::find_cifar10_dir: --data, $TYPENET_DATA,
// data/cifar-10-batches-bin, ../shared/data/cifar10/cifar-10-batches-bin.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "typenet/data/cifar10.hpp"
#include "typenet/typenet.hpp"

using small_cnn = typenet::net<typenet::input<3, 32, 32>,
                               typenet::conv_bn<3, 16, 3, 1, typenet::same>,
                               typenet::max_pool<2, 2>,
                               typenet::conv_bn<16, 32, 3, 1, typenet::same>,
                               typenet::max_pool<2, 2>,
                               typenet::conv_bn<32, 32, 3, 1, typenet::same>,
                               typenet::global_avg_pool,
                               typenet::dense<32, 10>>;
using images = typenet::tensor<float, typenet::shape<3, 32, 32>>;
using logits = typenet::tensor<float, typenet::shape<10>>;

namespace {

constexpr int exit_bad_usage = 2, exit_no_data = 77;

struct options {
    // The defaults are scripts/demo.sh's run: all of CIFAR-10, about 1.5 minutes on 2 cores.
    std::size_t train = 50000, test = 10000, epochs = 5, batch = 32;
    double lr = 0.02, momentum = 0.9, wd = 5e-4;
    std::uint64_t seed = 1;
    std::optional<std::filesystem::path> data;
};

const char* usage =
    "usage: cifar_slice [--train N] [--test N] [--epochs E] [--batch B] [--lr X] [--momentum M]\n"
    "                   [--wd X] [--seed S] [--data DIR]\n"
    "defaults: --train 50000 --test 10000 --epochs 5 --batch 32 --lr 0.02 --momentum 0.9 --wd 5e-4 --seed 1\n"
    "(--train and --test take the first N images of the training and test files)\n";

struct usage_error {
    std::string what;
};

// std::from_chars reads the whole value or nothing: no leading space or '+', no '-' for a count
// (it refuses '-3' instead of wrapping it to 2^64 - 3), no trailing text, nothing past the type's
// range; a real number's '-' passes and meets its range check.
std::size_t to_count(const std::string& flag, const std::string& v, std::size_t min) {
    std::size_t n = 0;
    const auto [end, error] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || error != std::errc() || end != v.data() + v.size() || n < min)
        throw usage_error{flag + " needs a whole number >= " + std::to_string(min) + ", got '" + v + "'"};
    return n;
}

double to_real(const std::string& flag, const std::string& v, const char* range, double min, double max) {
    double x = 0;
    const auto [end, error] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || error != std::errc() || end != v.data() + v.size() || !(x >= min && x <= max))
        throw usage_error{flag + " needs a number in " + range + ", got '" + v + "'"};
    return x;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::printf("%s", usage);
            std::exit(0);
        }
        const std::string known[] = {"--train", "--test", "--epochs", "--batch", "--lr",
                                     "--momentum", "--wd", "--seed", "--data"};
        if (std::find(std::begin(known), std::end(known), flag) == std::end(known))
            throw usage_error{"unknown option '" + flag + "'"};
        if (i + 1 >= argc) throw usage_error{flag + " needs a value"};
        const std::string v = argv[++i];
        if (flag == "--train") o.train = to_count(flag, v, 2);
        else if (flag == "--test") o.test = to_count(flag, v, 1);
        else if (flag == "--epochs") o.epochs = to_count(flag, v, 1);
        else if (flag == "--batch") o.batch = to_count(flag, v, 2);  // batch norm needs >= 2 in train mode
        else if (flag == "--lr") o.lr = to_real(flag, v, "(0, 10]", 1e-12, 10.0);
        else if (flag == "--momentum") o.momentum = to_real(flag, v, "[0, 1)", 0.0, 0.9999);
        else if (flag == "--wd") o.wd = to_real(flag, v, "[0, 1]", 0.0, 1.0);
        else if (flag == "--seed") o.seed = to_count(flag, v, 0);
        else o.data = v;  // --data
    }
    return o;
}

struct score {
    double loss, accuracy;
};
// Mean loss and accuracy in eval mode over the first `count` images of a set.
score evaluate(small_cnn& model, const typenet::data::cifar10_set& set, const typenet::data::channel_stats& stats,
               std::size_t count) {
    model.eval();
    const std::size_t chunk = 250;
    images x;
    double loss_sum = 0;
    std::size_t correct = 0;
    for (std::size_t first = 0; first < count; first += chunk) {
        const std::size_t n = std::min(chunk, count - first);
        x.resize(n);
        typenet::data::normalize_images(set, first, n, stats, x.data());
        const std::span<const std::int32_t> labels(set.labels.data() + first, n);
        const logits& z = model.forward(x);
        loss_sum += typenet::softmax_cross_entropy().loss(z, labels) * double(n);
        correct += typenet::count_correct(z, labels);
    }
    model.train();
    return {loss_sum / double(count), double(correct) / double(count)};
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        opt = parse(argc, argv);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "cifar_slice: %s\n%s", e.what.c_str(), usage);
        return exit_bad_usage;
    }

    std::filesystem::path dir;
    try {
        dir = typenet::data::find_cifar10_dir(opt.data);
    } catch (const typenet::data::data_error& e) {
        std::fprintf(stderr, "cifar_slice: %s\ncifar_slice: skipping (exit %d): download the binary version from "
                     "https://www.cs.toronto.edu/~kriz/cifar.html\n", e.what(), exit_no_data);
        return exit_no_data;
    }

    try {
        const auto train = typenet::data::load_cifar10_train(dir, opt.train);
        const auto test = typenet::data::load_cifar10_test(dir, opt.test);
        const auto stats = typenet::data::compute_channel_stats(train);  // of the training slice only
        std::printf("CIFAR-10 from %s: %zu train, %zu test images\n", dir.string().c_str(), train.size(), test.size());
        std::printf("%s", small_cnn::summary().c_str());
        std::printf("SGD: lr %g, momentum %g, weight decay %g (weights only), batch %zu, %zu epochs, seed %llu\n\n",
                    opt.lr, opt.momentum, opt.wd, opt.batch, opt.epochs, (unsigned long long)opt.seed);

        small_cnn model(opt.seed);
        // The learning check measures the same thing before and after training: the eval-mode
        // loss on (at most) the first 1000 training images.
        const std::size_t probe = std::min<std::size_t>(train.size(), 1000);
        const score initial = evaluate(model, train, stats, probe);

        // SGD with momentum over every trainable tensor: v = momentum * v + g, w -= lr * v, where
        // g = dLoss/dw + wd * w for weights (no decay on biases and batch-norm gamma/beta).
        std::vector<std::vector<float>> velocity;  // one per tensor, in the traversal order
        auto sgd_step = [&] {
            std::size_t k = 0;
            model.for_each_parameter([&](const typenet::parameter_view<float>& p) {
                if (velocity.size() == k) velocity.emplace_back(p.value.size(), 0.0f);
                auto& v = velocity[k++];
                const float decay = p.role == typenet::parameter_role::weight ? float(opt.wd) : 0.0f;
                for (std::size_t i = 0; i < p.value.size(); ++i) {
                    v[i] = float(opt.momentum) * v[i] + p.gradient[i] + decay * p.value[i];
                    p.value[i] -= float(opt.lr) * v[i];
                }
            });
        };

        std::printf("epoch  train loss  train acc  test loss  test acc   seconds  images/s\n");
        std::printf("    0  %10.4f  %8.1f%%  %9s  %7s\n", initial.loss, 100 * initial.accuracy, "", "");
        typenet::rng shuffle_rng(opt.seed + 1);
        std::vector<std::size_t> order(train.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::vector<std::int32_t> labels;
        images x;
        logits dlogits;
        const typenet::softmax_cross_entropy loss;
        double total_seconds = 0;
        std::size_t total_images = 0;
        model.train();
        for (std::size_t epoch = 1; epoch <= opt.epochs; ++epoch) {
            for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.below(i + 1)]);
            const auto start = std::chrono::steady_clock::now();
            double loss_sum = 0;
            std::size_t seen = 0, correct = 0;
            for (std::size_t first = 0; first + 2 <= order.size(); first += opt.batch) {  // batch norm: >= 2
                const std::size_t n = std::min(opt.batch, order.size() - first);
                x.resize(n);
                typenet::data::normalize_images(train, first, n, stats, x.data(), &order);
                labels.resize(n);
                for (std::size_t j = 0; j < n; ++j) labels[j] = train.labels[order[first + j]];

                model.zero_grad();
                const logits& z = model.forward(x);
                correct += typenet::count_correct(z, labels);
                loss_sum += loss.loss_and_gradient(z, labels, dlogits) * double(n);
                model.backward(dlogits);
                sgd_step();
                seen += n;
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            total_seconds += seconds;
            total_images += seen;
            const score t = evaluate(model, test, stats, test.size());
            std::printf("%5zu  %10.4f  %8.1f%%  %9.4f  %7.1f%%  %8.1f  %8.1f\n", epoch, loss_sum / double(seen),
                        100.0 * double(correct) / double(seen), t.loss, 100 * t.accuracy, seconds,
                        double(seen) / seconds);
            std::fflush(stdout);
        }

        const score final_train = evaluate(model, train, stats, probe);
        const bool learned = final_train.loss < initial.loss;
        std::printf("\ntrain loss (eval mode, first %zu train images): %.4f before, %.4f after training; "
                    "accuracy %.1f%% -> %.1f%%\n",
                    probe, initial.loss, final_train.loss, 100 * initial.accuracy, 100 * final_train.accuracy);
        std::printf("training: %zu images in %.1f s, %.1f images/s\n", total_images, total_seconds,
                    double(total_images) / total_seconds);
        if (!learned) {
            std::printf("FAIL: the train loss did not go down\n");
            return 1;
        }
        std::printf("OK: the network learned\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cifar_slice: %s\n", e.what());
        return 1;
    }
}
