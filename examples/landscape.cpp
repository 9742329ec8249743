// examples/landscape.cpp - the per-step record of a run and the loss-landscape probes of
// Santurkar et al. (2018) on your own network type: a small multilayer perceptron on 16-feature
// points of three classes, with batch norm and without, trained by typenet::fit with
// steps_logger (steps.csv: every step's batch loss, accuracy, gradient norm and learning rate)
// and landscape_logger (landscape.csv: every 5 steps, the loss and gradient along the gradient
// at 0.1 to 4 times the learning rate). docs/why-batch-norm-works.md quotes the part between
// the [probes] markers. Prints each run's mean loss variation, gradient change and effective
// beta-smoothness over its probes; exit code 0 when both runs wrote a row per step and one per
// probe into the folder given (default: a temporary one), and the probes left the metrics as a
// run without them has them.
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "typenet/train/step_table.hpp"
#include "typenet/typenet.hpp"

using namespace typenet;

using points = data::memory_source<shape<16>, 3>;
using mlp_bn = net<input<16>, dense<16, 64, identity>, batch_norm<>, relu, dense<64, 64, identity>, batch_norm<>, relu,
                   dense<64, 3, identity>>;
using mlp = net<input<16>, dense<16, 64, relu>, dense<64, 64, relu>, dense<64, 3, identity>>;

// Three classes, each a random centre in 16 dimensions, the points around it with noise.
points make_points(std::size_t count, std::uint64_t seed) {
    rng g(seed);
    std::vector<float> centres(3 * 16), values(count * 16);
    for (auto& c : centres) c = float(g.normal());
    std::vector<std::int32_t> labels(count);
    for (std::size_t i = 0; i < count; ++i) {
        labels[i] = std::int32_t(g.below(3));
        for (std::size_t j = 0; j < 16; ++j) values[i * 16 + j] = centres[std::size_t(labels[i]) * 16 + j] + 1.5f * float(g.normal());
    }
    return points(std::move(values), std::move(labels), {"a", "b", "c"});
}

template <class Net>
bool run(const char* name, const char* stem, const points& train, const std::filesystem::path& dir) {
    fit_options o{.epochs = 4, .data = {.batch = 32, .seed = 1}, .optimizer = {.momentum = 0.9}};
    o.schedule.base_lr = 0.05;
    Net plain(7);
    const fit_result without = fit(plain, train, o);

    // [probes]
    o.landscape.every = 5;  // a probe every 5 steps, at eta = {0.1, 0.25, 0.5, 1, 2, 4} x lr
    struct summary : callback {  // a callback of your own sees every probe too
        double variation = 0, change = 0, beta = 0;
        std::size_t probes = 0;
        void on_landscape(fit_context&, const landscape_log& p) override {
            variation += p.loss_variation, change += p.grad_change_max, beta += p.beta_max, ++probes;
        }
    } s;
    steps_logger steps(dir / (std::string(stem) + "-steps.csv"), /*every=*/1);
    landscape_logger probes(dir / (std::string(stem) + "-landscape.csv"));
    Net probed(7);
    const fit_result with = fit(probed, train, o, {&steps, &probes, &s});
    // [/probes]

    std::size_t step_count = 0;
    for (const epoch_log& e : with.history) step_count += e.steps;
    const std::size_t probe_count = (step_count + 4) / 5;  // steps 1, 6, 11, ...
    std::printf("%-8s final training loss %.4f; over %zu probes: loss variation %.4f, gradient change %.4f, "
                "beta-smoothness %.3f (means)\n",
                name, with.history.back().train_loss, s.probes, s.variation / double(s.probes), s.change / double(s.probes),
                s.beta / double(s.probes));
    // The files read back as the tools read them (train/step_table.hpp): every row checked.
    bool ok = train::read_step_table(steps.file(), train::steps_csv_header).rows.size() == step_count &&
              train::read_step_table(probes.file(), train::landscape_csv_header).rows.size() == probe_count &&
              s.probes == probe_count;
    for (std::size_t e = 0; e < without.history.size(); ++e)
        ok = ok && with.history[e].train_loss == without.history[e].train_loss;
    if (!ok) std::fprintf(stderr, "landscape: %s: the files or the metrics are not what they should be\n", name);
    return ok;
}

int main(int argc, char** argv) {
    const bool temporary = argc < 2;
    const std::filesystem::path dir = temporary ? std::filesystem::temp_directory_path() /
                                                      ("typenet-landscape-" + std::to_string(::getpid()))
                                                : std::filesystem::path(argv[1]);
    std::filesystem::create_directories(dir);
    const points train = make_points(640, 3);
    const bool ok = run<mlp_bn>("with BN", "bn", train, dir) && run<mlp>("no BN", "nobn", train, dir);
    if (temporary) std::filesystem::remove_all(dir);
    else std::printf("steps.csv and landscape.csv of both runs in %s (typenet-plot --steps, --landscape)\n", dir.c_str());
    return ok ? 0 : 1;
}
