// typenet-grad-accuracy: how far one float32 training step on the fast kernels lands from the
// same step in double on the reference kernels (bench/grad_accuracy.hpp), per model, batch,
// convolution algorithm and instruction set; and the kink control (--perturb).
//
//   typenet-grad-accuracy [--model NAME|all] [--batch 16,32,33,64,128] [--winograd on,off]
//                         [--isa auto|all|avx512,avx2,sse2] [--seed N] [--unit-affine]
//                         [--perturb REL] [--smooth] [--tensors]
//
// One row per configuration: relative errors (||a - b|| / ||b||, b = double) of the logits, the
// loss, the running statistics after the step, the eval-mode logits, the gradient of the network
// input and of all parameters together, and the worst single parameter tensor. --tensors adds a
// row per parameter tensor. --perturb REL runs the double network against itself with its
// weights multiplied by (1 + REL N(0,1)): what the forward error alone does to the gradient of a
// piecewise-linear network; --smooth measures the kink-free twin of each model (every ReLU the
// identity, every max pool an average pool: grad_accuracy.hpp), whose errors are the
// arithmetic's alone (docs/numerics.md). Exit codes: 0 ok, 2 bad arguments.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "grad_accuracy.hpp"
#include "typenet/models.hpp"

namespace {

namespace tn = typenet;

struct config {
    std::vector<std::string> models{"cnn-bn"};
    std::vector<std::size_t> batches{16, 32, 33, 64, 128};
    std::vector<bool> winograd{true, false};
    std::vector<std::string> isas{"auto"};
    std::uint64_t seed = 1;
    bool unit_affine = false, tensors = false, smooth = false;
    double perturb = 0;
};

template <class Net>
void run_net(const std::string& name, const config& c) {
    using D = tn::rebind_scalar<double, Net>;
    for (const std::size_t b : c.batches) {
        tn::numerics::step_setup s;
        s.batch = b, s.seed = c.seed, s.random_affine = !c.unit_affine;
        const auto weights = tn::numerics::initial_weights<Net>(s);
        const auto ref = tn::numerics::run_step<D>(weights, s);
        auto row = [&](const char* isa, const char* wino, const tn::numerics::step_values& v) {
            const auto e = tn::numerics::compare(v, ref);
            const auto* w = e.worst();
            std::printf("%-9s %-7s %-8s %4zu  %8.1e %8.1e %8.1e %8.1e %8.1e %8.1e %8.1e  %s\n", name.c_str(), isa, wino, b,
                        e.logits, e.loss, e.running_stats, e.eval_logits, e.input_grad, e.param_grads, w ? w->rel : 0.0,
                        w ? w->name.c_str() : "");
            if (c.tensors)
                for (const auto& t : e.tensors) std::printf("%47s %-32s %8.1e\n", "", t.name.c_str(), t.rel);
            std::fflush(stdout);
        };
        if (c.perturb > 0) {
            s.perturb = c.perturb;
            row("double", "-", tn::numerics::run_step<D>(weights, s));
            continue;
        }
        for (const auto& isa : c.isas) {
            tn::kernels::set_isa(isa);
            for (const bool wino : c.winograd) {
                tn::kernels::set_winograd(wino);
                row(tn::kernels::isa_name().c_str(), wino ? "on" : "off", tn::numerics::run_step<Net>(weights, s));
            }
        }
    }
}
template <class Net>
void run(const std::string& name, const config& c) {
    if (c.smooth) run_net<tn::numerics::smooth<Net>>(name + "~", c);
    else run_net<Net>(name, c);
}

struct model_entry {
    const char* name;
    void (*run)(const std::string&, const config&);
};
const model_entry models[] = {
    {"cnn-bn", run<tn::models::cifar_cnn_bn>},   {"cnn-nobn", run<tn::models::cifar_cnn_nobn>},
    {"resnet20", run<tn::models::resnet20>},     {"resnet56", run<tn::models::resnet56>},
    {"resnet18", run<tn::models::resnet18>},     {"resnet34", run<tn::models::resnet34>},
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> r;
    std::stringstream in(s);
    for (std::string t; std::getline(in, t, ',');)
        if (!t.empty()) r.push_back(t);
    return r;
}

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "typenet-grad-accuracy: %s (see --help)\n", msg.c_str());
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--help") {
                std::printf("usage: typenet-grad-accuracy [--model NAME|all] [--batch 16,32,33,64,128] "
                            "[--winograd on,off] [--isa auto|all|LIST] [--seed N] [--unit-affine] [--perturb REL] "
                            "[--smooth] [--tensors]\nmodels:");
                for (const auto& m : models) std::printf(" %s", m.name);
                std::printf("\n");
                return 0;
            } else if (a == "--model") {
                const std::string v = value();
                c.models.clear();
                for (const auto& m : models)
                    if (v == "all") c.models.push_back(m.name);
                if (v != "all") c.models = split(v);
            } else if (a == "--batch") {
                c.batches.clear();
                for (const auto& t : split(value())) {
                    std::size_t pos = 0;
                    const unsigned long b = std::stoul(t, &pos);
                    if (pos != t.size() || b < 2) usage_error("--batch: '" + t + "' is not a whole number >= 2");
                    c.batches.push_back(b);
                }
            } else if (a == "--winograd") {
                c.winograd.clear();
                for (const auto& t : split(value())) {
                    if (t != "on" && t != "off") usage_error("--winograd: '" + t + "' is not on or off");
                    c.winograd.push_back(t == "on");
                }
            } else if (a == "--isa") {
                const std::string v = value();
                c.isas = v == "all" ? tn::kernels::supported_isas() : split(v);
            } else if (a == "--seed") {
                c.seed = std::stoull(value());
            } else if (a == "--perturb") {
                c.perturb = std::stod(value());
                if (!(c.perturb > 0)) usage_error("--perturb: needs a relative size > 0");
            } else if (a == "--smooth") {
                c.smooth = true;
            } else if (a == "--unit-affine") {
                c.unit_affine = true;
            } else if (a == "--tensors") {
                c.tensors = true;
            } else {
                usage_error("unknown argument '" + a + "'");
            }
        } catch (const std::logic_error& e) {  // stoul / stod
            usage_error(a + ": not a number");
        }
    }
    for (const auto& isa : c.isas) try {
            tn::kernels::set_isa(isa);
        } catch (const std::exception& e) {
            usage_error(std::string("--isa: ") + e.what());
        }
    std::printf("%-9s %-7s %-8s %4s  %8s %8s %8s %8s %8s %8s %8s  %s\n", "model", "isa", "winograd", "batch", "logits",
                "loss", "run.stat", "eval", "d input", "d params", "worst", "worst tensor");
    for (const auto& name : c.models) {
        const model_entry* m = nullptr;
        for (const auto& e : models)
            if (name == e.name) m = &e;
        if (!m) usage_error("--model: unknown model '" + name + "'");
        m->run(name, c);
    }
    return 0;
}
