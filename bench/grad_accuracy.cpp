// typenet-grad-accuracy: how far one float32 training step on the fast kernels lands from the
// same step in double on the reference kernels (bench/grad_accuracy.hpp), per model, batch,
// convolution algorithm and instruction set; and the kink control (--perturb).
//
//   typenet-grad-accuracy [--model NAME|all] [--batch 16,32,33,64,128] [--winograd on,off]
//                         [--isa auto|all|avx512,avx2,sse2] [--seed N] [--unit-affine]
//                         [--perturb REL] [--smooth] [--tensors] [--dump DIR] [--check]
//
// One row per configuration: relative errors (||a - b|| / ||b||, b = double) of the logits, the
// loss, the running statistics after the step, the eval-mode logits, the gradient of the network
// input and of all parameters together, and the worst single parameter tensor. --tensors adds a
// row per parameter tensor. --perturb REL runs the double network against itself with its
// weights multiplied by (1 + REL N(0,1)): what the forward error alone does to the gradient of a
// piecewise-linear network; --smooth measures the kink-free twin of each model (every ReLU the
// identity, every max pool an average pool: grad_accuracy.hpp), whose errors are the
// arithmetic's alone (docs/numerics.md).
//
// --check holds every row to the model's bounds (grad_accuracy.hpp says which and why): the
// forward quantities, and with --smooth the gradients too; each row beyond them is printed as
// a FAILED line, and the exit code is 1. The CTest cases float_vs_double.* run it.
//
// --dump DIR writes each case for bench/torch_oracle.py, which runs the same step in PyTorch:
// DIR/<model>[-twin]-<batch>/case.json (the model, its structure() text, the parameter and
// state tensors' names and shapes, the result files), weights.f64 (every parameter, the
// network's order), input.f64 and labels.i32 (the images and labels), and one .f64 file per
// result: logits, loss, input gradient, parameter gradients, running statistics, eval logits,
// concatenated, little-endian float64. Exit codes: 0 ok, 1 a check failed or a file could not
// be written, 2 bad arguments.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/train/text_numbers.hpp"
#include "grad_accuracy.hpp"
#include "typenet/models.hpp"
#include "typenet/train/escape.hpp"
#include "typenet/train/report.hpp"  // write_file_atomic

namespace {

namespace tn = typenet;

namespace fs = std::filesystem;
namespace nm = tn::numerics;

struct config {
    std::vector<std::string> models{"cnn-bn"};
    std::vector<std::size_t> batches{16, 32, 33, 64, 128};
    std::vector<bool> winograd{true, false};
    std::vector<std::string> isas{"auto"};
    std::uint64_t seed = 1;
    bool unit_affine = false, tensors = false, smooth = false, check = false;
    double perturb = 0;
    fs::path dump;  // empty: no dump
};

// ---- --dump --------------------------------------------------------------------------------------
template <class V>
void write_raw(const fs::path& file, const V& v) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(v[0])));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string json_dims(const std::vector<std::size_t>& d) {
    std::string s = "[";
    for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
}
std::string json_tensors(const std::vector<std::string>& names, const std::vector<std::vector<std::size_t>>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < names.size(); ++i)
        s += std::string(i ? ",\n    " : "\n    ") + "{\"name\": " + tn::train::json_string(names[i]) +
             ", \"dims\": " + json_dims(dims[i]) + "}";
    return s + "]";
}

// One batch size of one model: the inputs once, then every result handed to add().
class case_writer {
public:
    template <class Net>
    static case_writer open(const fs::path& root, const std::string& model, bool twin, const nm::step_setup& s,
                            const std::vector<double>& weights) {
        case_writer w;
        w.dir_ = root / (model + (twin ? "-twin-" : "-") + std::to_string(s.batch));
        fs::create_directories(w.dir_);
        fs::remove(w.dir_ / "case.json");  // a dump over an older one: list nothing until rewritten
        write_raw(w.dir_ / "weights.f64", weights);
        const auto in = nm::make_inputs<Net>(s);
        write_raw(w.dir_ / "input.f64", in.x);
        write_raw(w.dir_ / "labels.i32", in.labels);
        w.head_ = "{\n  \"model\": " + tn::train::json_string(model) + ",\n  \"twin\": " + (twin ? "true" : "false") +
                  ",\n  \"batch\": " + std::to_string(s.batch) + ",\n  \"seed\": " + std::to_string(s.seed) +
                  ",\n  \"random_affine\": " + (s.random_affine ? "true" : "false") +
                  ",\n  \"structure\": " + tn::train::json_string(Net::structure()) +
                  ",\n  \"input\": " + json_dims({Net::input_shape::dims.begin(), Net::input_shape::dims.end()}) +
                  ",\n  \"classes\": " + std::to_string(Net::output_shape::size);
        return w;
    }
    // label e.g. "typenet float32 avx512 winograd on"; the first result also sets the tensor lists.
    void add(const std::string& label, const std::string& stem, const nm::step_values& v) {
        if (tensors_.empty())
            tensors_ = ",\n  \"parameters\": " + json_tensors(v.names, v.dims) +
                       ",\n  \"states\": " + json_tensors(v.state_names, v.state_dims);
        std::vector<double> all;
        for (const auto* part : {&v.logits, &v.input_grad, &v.grads, &v.states, &v.eval_logits}) {
            all.insert(all.end(), part->begin(), part->end());
            if (part == &v.logits) all.push_back(v.loss);
        }
        write_raw(dir_ / (stem + ".f64"), all);
        results_ += std::string(results_.empty() ? "\n    " : ",\n    ") + "{\"label\": " + tn::train::json_string(label) +
                    ", \"file\": " + tn::train::json_string(stem + ".f64") + "}";
        // case.json after each result's file, atomically: it lists only results that are complete,
        // so a dump interrupted in a long sweep keeps every result it finished (and a case folder
        // without case.json was interrupted before its first result).
        tn::train::write_file_atomic(dir_ / "case.json", head_ + tensors_ + ",\n  \"results\": [" + results_ + "]\n}\n");
    }

private:
    fs::path dir_;
    std::string head_, tensors_, results_;
};

std::size_t failures = 0;  // --check: rows beyond their bounds

template <class Net>
void run_net(const std::string& name, bool twin, const nm::bounds& bounds, const config& c) {
    nm::step_setup s;
    s.seed = c.seed, s.random_affine = !c.unit_affine, s.perturb = c.perturb;
    const std::string label = twin ? name + "~" : name;
    case_writer dump;
    std::size_t dumped_batch = 0;
    nm::sweep_steps<Net>(s, c.batches, c.isas, c.winograd, [&](std::size_t b, const std::string& isa, bool wino,
                                                             const nm::step_values& a, const nm::step_values& ref,
                                                             const std::vector<double>& weights) {
        const auto e = nm::compare(a, ref);
        const auto* w = e.worst();
        std::printf("%-9s %-7s %-8s %4zu  %8.1e %8.1e %8.1e %8.1e %8.1e %8.1e %8.1e  %s\n", label.c_str(), isa.c_str(),
                    c.perturb > 0 ? "-" : (wino ? "on" : "off"), b, e.logits, e.loss, e.running_stats, e.eval_logits,
                    e.input_grad, e.param_grads, w ? w->rel : 0.0, w ? w->name.c_str() : "");
        if (c.tensors)
            for (const auto& t : e.tensors) std::printf("%47s %-32s %8.1e\n", "", t.name.c_str(), t.rel);
        if (c.check)
            for (const auto& v : nm::violations(e, bounds, twin)) {
                std::printf("FAILED: %s batch %zu, %s, Winograd %s: %s\n", label.c_str(), b, isa.c_str(),
                            wino ? "on" : "off", v.c_str());
                ++failures;
            }
        std::fflush(stdout);
        if (c.dump.empty()) return;
        if (dumped_batch != b) {
            auto sb = s;
            sb.batch = b;
            dump = case_writer::open<Net>(c.dump, name, twin, sb, weights);
            dump.add("typenet float64 reference", "typenet-float64-reference", ref);
            dumped_batch = b;
        }
        const std::string wname = wino ? "on" : "off";
        dump.add("typenet float32 " + isa + " winograd " + wname, "typenet-float32-" + isa + "-winograd-" + wname, a);
    });
}
template <class Net>
void run(const std::string& name, const nm::bounds& bounds, const config& c) {
    if (c.smooth) run_net<nm::smooth<Net>>(name, true, bounds, c);
    else run_net<Net>(name, false, bounds, c);
}

// The bounds of --check: 1e-5 for the CNNs, 3e-5 for the ResNets (grad_accuracy.hpp).
constexpr nm::bounds cnn_bounds{}, resnet_bounds{3e-5, 3e-5, 3e-5};
// The oracle's probe of the per-sample normalisations (not a model of the tools; the name "norms"
// here only): layer and instance norm after a convolution, group, layer and instance norm alone,
// group norm inside a residual block with a projection, and layer and group norm on flat
// features. PyTorch's twins: nn.GroupNorm, nn.InstanceNorm2d(affine=True) (bench/torch_oracle.py).
// No layer with a per-channel shift (beta) feeds an instance norm directly, which would remove the
// shift and leave its gradient exactly 0 (a relative error of noise) -- except on the kink-free
// twin, whose conv_in has no ReLU: there 1.conv_in.beta's gradient is 0 and its row is noise.
using norm_probe = tn::net<tn::input<3, 32, 32>,
                           tn::conv_norm<3, 16, 3, 2, tn::same, tn::layer_norm<>>,
                           tn::conv_norm<16, 16, 3, 1, tn::same, tn::instance_norm<>>,
                           tn::instance_norm<>, tn::group_norm<4>, tn::layer_norm<>,
                           tn::basic_block<16, 32, 2, tn::group_norm<8>>,
                           tn::global_avg_pool,
                           tn::layer_norm<>, tn::group_norm<4>,
                           tn::dense<32, 10, tn::identity>>;

struct model_entry {
    const char* name;
    void (*run)(const std::string&, const nm::bounds&, const config&);
    nm::bounds bounds;
};
const model_entry models[] = {
    {"cnn-bn", run<tn::models::cifar_cnn_bn>, cnn_bounds},  {"cnn-nobn", run<tn::models::cifar_cnn_nobn>, cnn_bounds},
    {"resnet20", run<tn::models::resnet20>, resnet_bounds}, {"resnet56", run<tn::models::resnet56>, resnet_bounds},
    {"resnet18", run<tn::models::resnet18>, resnet_bounds}, {"resnet34", run<tn::models::resnet34>, resnet_bounds},
    {"resnet20-gn", run<tn::models::resnet20_gn>, resnet_bounds}, {"norms", run<norm_probe>, resnet_bounds},
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

using typenet::train::detail::number_flag, typenet::train::detail::whole_flag;

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
                            "[--smooth] [--tensors] [--dump DIR] [--check]\nmodels:");
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
                const std::string v = value();
                for (const auto& t : split(v)) c.batches.push_back(whole_flag<std::runtime_error>(a, t, 2));
                if (c.batches.empty()) whole_flag<std::runtime_error>(a, v, 2);  // "" or ",": says so
            } else if (a == "--winograd") {
                c.winograd.clear();
                for (const auto& t : split(value())) {
                    if (t != "on" && t != "off") usage_error("--winograd: '" + t + "' is not on or off");
                    c.winograd.push_back(t == "on");
                }
            } else if (a == "--isa") {
                const std::string v = value();
                c.isas = v == "all" ? tn::kernels::supported_isas() : split(v);
                if (v == "all" && c.isas.empty()) c.isas = {"auto"};  // a build without the x86 kernels
            } else if (a == "--seed") {
                c.seed = whole_flag<std::runtime_error>(a, value(), 0);
            } else if (a == "--perturb") {
                c.perturb = number_flag<std::runtime_error>(a, value(), "a relative size > 0", 0.0);
            } else if (a == "--smooth") {
                c.smooth = true;
            } else if (a == "--unit-affine") {
                c.unit_affine = true;
            } else if (a == "--check") {
                c.check = true;
            } else if (a == "--dump") {
                c.dump = value();
            } else if (a == "--tensors") {
                c.tensors = true;
            } else {
                usage_error("unknown argument '" + a + "'");
            }
        } catch (const std::runtime_error& e) {  // whole_flag, number_flag
            usage_error(e.what());
        }
    }
    if (c.models.empty()) usage_error("--model: no model named");  // "--model ''" or ","
    if (c.winograd.empty()) usage_error("--winograd: neither on nor off given");
    if (c.isas.empty()) usage_error("--isa: no instruction set named");
    if (!c.dump.empty() && c.perturb > 0) usage_error("--dump: not with --perturb (there is no float32 step to dump)");
    if (c.check && c.perturb > 0) usage_error("--check: not with --perturb (there is no float32 step to check)");
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
        try {
            m->run(name, m->bounds, c);
        } catch (const std::exception& e) {  // --dump: a file that could not be written
            std::fprintf(stderr, "typenet-grad-accuracy: %s\n", e.what());
            return 1;
        }
    }
    if (failures) std::printf("%zu row(s) beyond their bounds\n", failures);
    return failures ? 1 : 0;
}
