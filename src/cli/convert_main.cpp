// typenet-convert: a checkpoint's weights to and from NumPy .npz (typenet/train/npz_io.hpp), so
// that PyTorch (or any NumPy code) can read typenet's weights and typenet can load PyTorch's.
//   typenet-convert export CKPT OUT.npz
//   typenet-convert import --model NAME [--class-names A,B,...] IN.npz OUT.ckpt
//   typenet-convert init --model NAME [--seed N] OUT.ckpt
//   typenet-convert logits CKPT IN.npz OUT.npz
//   typenet-convert structure --model NAME
// export: every parameter and running statistic under its checkpoint name, PyTorch's shapes,
// float32, plus data.mean / data.std when the checkpoint has inference information. import:
// the reverse; every tensor of the model must be there with its shape (the message lists what
// is missing, unexpected or of another shape); with data.mean / data.std the checkpoint gets
// inference information (class names from --class-names, default CIFAR-10's), so typenet-predict
// and typenet-train --eval-only need no training data; without them --eval-only recomputes the
// normalisation from the training data. init: a freshly initialised network. logits: the
// eval-mode logits of the array 'x' (N, C, H, W: network inputs as they are, already
// normalised), written as the array 'logits' (N, classes). structure: the network's structure()
// text (what bench/torch_oracle.py builds a PyTorch twin from). Exit codes: 0 done, 2 bad arguments
// or input (the message names the file).
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model_list.hpp"
#include "typenet/data/source.hpp"  // cifar10_class_names
#include "typenet/io/checkpoint.hpp"
#include "typenet/train/checkpoint_io.hpp"
#include "typenet/train/npz_io.hpp"

namespace {
// f(model) for the network called `name` (src/cli/model_list.hpp, the tools' one list); `otherwise`
// when there is none.
template <class F>
int with_model_type(const std::string& name, int otherwise, F&& f) {
    int r = otherwise;
    typenet::cli::with_model(name, [&](auto m) { r = f(m); });
    return r;
}
std::vector<std::string> model_type_names() {
    std::vector<std::string> v;
    typenet::cli::for_each_model([&](auto m) { v.push_back(m.name); });
    return v;
}

namespace fs = std::filesystem;
using namespace typenet;

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

const char* usage_text =
    "usage: typenet-convert export CKPT OUT.npz\n"
    "       typenet-convert import --model NAME [--class-names A,B,...] IN.npz OUT.ckpt\n"
    "       typenet-convert init --model NAME [--seed N] OUT.ckpt\n"
    "       typenet-convert logits CKPT IN.npz OUT.npz\n"
    "       typenet-convert structure --model NAME\n"
    "       typenet-convert --list-models\n"
    "export writes every parameter and running statistic of a checkpoint's network as float32\n"
    "arrays named as in the checkpoint, in PyTorch's layouts (conv weight O,I,KH,KW; dense\n"
    "weight Out,In), plus data.mean and data.std when the checkpoint has them (numpy.load reads it).\n"
    "import checks that IN.npz holds exactly the tensors of model NAME with their shapes and\n"
    "writes a checkpoint typenet-train --eval-only and typenet-predict load. init writes a freshly\n"
    "initialised network; logits writes the eval-mode logits of IN.npz's array 'x' (N, C, H, W,\n"
    "already normalised) as the array 'logits'. Exit codes: 0 done, 2 bad arguments or input.\n";

std::string models_text() {
    std::string s;
    for (const auto& n : model_type_names()) s += (s.empty() ? "" : ", ") + n;
    return s;
}

template <class Net>
std::unique_ptr<Net> load_checkpoint_net(const io::checkpoint& ck, const std::string& file) {
    auto net = std::make_unique<Net>(0);
    train::restore_checkpoint(ck, file, *net, ck.network, nullptr);
    return net;
}

// Calls f(model_tag<Net>) for the checkpoint's network.
template <class F>
int with_checkpoint_model(const io::checkpoint& ck, const std::string& file, F&& f) {
    const int r = with_model_type(ck.network, -1, f);
    if (r == -1)
        throw usage_error(file + ": written by network '" + ck.network + "', which typenet-convert does not know (" +
                          models_text() + ")");
    return r;
}

int do_export(const std::string& ckpt, const std::string& out) {
    const io::checkpoint ck = io::read_checkpoint(ckpt);
    return with_checkpoint_model(ck, ckpt, [&](auto tag) {
        using Net = typename decltype(tag)::type;
        auto net = load_checkpoint_net<Net>(ck, ckpt);
        std::optional<data::normalization> norm;
        if (io::has_inference_info(ck)) norm = io::read_inference_info(ck, ckpt).normalization;
        train::save_npz(*net, out, norm ? &*norm : nullptr);
        const auto arrays = train::network_arrays(*net);
        std::size_t values = 0;
        for (const auto& a : arrays) values += a.values.size();
        std::printf("%s: %zu arrays of %s (%zu values)%s -> %s\n", ckpt.c_str(), arrays.size(), ck.network.c_str(), values,
                    norm ? " and data.mean, data.std" : "", out.c_str());
        return 0;
    });
}

std::vector<std::string> split_names(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
}

int do_import(const std::string& model, const std::string& class_names, const std::string& in, const std::string& out) {
    const int r = with_model_type(model, -1, [&](auto tag) {
        using Net = typename decltype(tag)::type;
        auto net = std::make_unique<Net>(0);
        const std::optional<data::normalization> norm = train::load_npz(*net, fs::path(in));
        io::checkpoint ck = train::make_checkpoint(*net, model, nullptr, {{"imported_from", in}});
        if (norm) {
            std::vector<std::string> names =
                class_names.empty() ? data::cifar10_class_names() : split_names(class_names);
            if (names.size() != Net::output_shape::size)
                throw usage_error(std::string("--class-names: ") + std::to_string(names.size()) + " names for " + model + "'s " +
                                  std::to_string(Net::output_shape::size) + " classes");
            io::store_inference_info(ck, {model, Net::input_shape::to_string(), names, *norm});
        }
        io::write_checkpoint(out, ck);
        std::printf("%s: %zu tensors of %s%s -> %s%s\n", in.c_str(), ck.tensors.size() - (norm ? 2 : 0), model.c_str(),
                    norm ? " and data.mean, data.std" : "", out.c_str(),
                    norm ? "" : " (no data.mean / data.std: typenet-train --eval-only will recompute the normalisation)");
        return 0;
    });
    if (r == -1) throw usage_error("--model: unknown model '" + model + "' (choose one of: " + models_text() + ")");
    return r;
}

int do_init(const std::string& model, std::uint64_t seed, const std::string& out) {
    const int r = with_model_type(model, -1, [&](auto tag) {
        using Net = typename decltype(tag)::type;
        auto net = std::make_unique<Net>(seed);
        io::write_checkpoint(out, train::make_checkpoint(*net, model, nullptr, {{"seed", std::to_string(seed)}}));
        std::printf("%s: a fresh %s (seed %llu)\n", out.c_str(), model.c_str(), static_cast<unsigned long long>(seed));
        return 0;
    });
    if (r == -1) throw usage_error("--model: unknown model '" + model + "' (choose one of: " + models_text() + ")");
    return r;
}

int do_logits(const std::string& ckpt, const std::string& in, const std::string& out) {
    const io::checkpoint ck = io::read_checkpoint(ckpt);
    const io::npz_archive inputs = io::read_npz(in);
    return with_checkpoint_model(ck, ckpt, [&](auto tag) {
        using Net = typename decltype(tag)::type;
        auto net = load_checkpoint_net<Net>(ck, ckpt);
        const io::npy_array* x = inputs.find("x");
        if (!x) throw io::npz_error(in + ": no array 'x' (the network's inputs, N x " + Net::input_shape::to_string() + ")");
        std::vector<std::uint64_t> want{0};
        for (auto d : Net::input_shape::dims) want.push_back(d);
        want[0] = x->shape.empty() ? 0 : x->shape[0];
        if (x->shape != want || want[0] == 0)
            throw io::npz_error(in + ": array 'x' is " + io::shape_text(x->shape) + ", the network takes (N, " +
                                io::shape_text(std::vector<std::uint64_t>(want.begin() + 1, want.end())).substr(1) +
                                " with N at least 1");
        constexpr std::size_t in_size = Net::input_shape::size, classes = Net::output_shape::size;
        const std::size_t n = std::size_t(want[0]);
        io::npy_array logits{"logits", {n, classes}, std::vector<float>(n * classes), 4};
        net->eval();
        for (std::size_t first = 0; first < n; first += 64) {
            const std::size_t count = std::min<std::size_t>(64, n - first);
            typename Net::input_tensor batch(count);
            std::copy_n(x->values.data() + first * in_size, count * in_size, batch.data());
            const auto& y = net->forward(batch);
            std::copy_n(y.data(), count * classes, logits.values.data() + first * classes);
        }
        io::write_npz(out, {logits});
        std::printf("%s: logits of %zu inputs from %s -> %s\n", ckpt.c_str(), n, in.c_str(), out.c_str());
        return 0;
    });
}
}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::fputs(usage_text, stderr);
        return 2;
    }
    if (args[0] == "--help" || args[0] == "-h") {
        std::fputs(usage_text, stdout);
        return 0;
    }
    if (args[0] == "--list-models") {
        for (const auto& n : model_type_names()) std::printf("%s\n", n.c_str());
        return 0;
    }
    try {
        const std::string cmd = args[0];
        std::string model, class_names;
        std::uint64_t seed = 0;
        std::vector<std::string> files;
        for (std::size_t i = 1; i < args.size(); ++i) {
            const std::string& a = args[i];
            const auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) throw usage_error(a + ": needs a value");
                return args[++i];
            };
            if (a == "--model") model = value();
            else if (a == "--class-names") class_names = value();
            else if (a == "--seed") {
                const std::string& v = value();
                char* end = nullptr;
                seed = std::strtoull(v.c_str(), &end, 10);
                if (v.empty() || *end || v[0] == '-') throw usage_error("--seed: '" + v + "' is not a whole number");
            } else if (a.rfind("--", 0) == 0) throw usage_error(a + ": unknown flag");
            else files.push_back(a);
        }
        const auto need = [&](std::size_t n, bool with_model) {
            if (files.size() != n) throw usage_error(cmd + ": expects " + std::to_string(n) + " file arguments");
            if (with_model && model.empty()) throw usage_error(cmd + ": needs --model NAME (" + models_text() + ")");
            if (!with_model && !model.empty()) throw usage_error(cmd + ": takes the model from the checkpoint, not --model");
        };
        if (cmd == "export") return need(2, false), do_export(files[0], files[1]);
        if (cmd == "import") return need(2, true), do_import(model, class_names, files[0], files[1]);
        if (cmd == "init") return need(1, true), do_init(model, seed, files[0]);
        if (cmd == "structure") {
            need(0, true);
            const int r = with_model_type(model, -1, [](auto tag) {
                std::printf("%s\n", decltype(tag)::type::structure().c_str());
                return 0;
            });
            if (r == -1) throw usage_error("--model: unknown model '" + model + "' (choose one of: " + models_text() + ")");
            return r;
        }
        if (cmd == "logits") return need(3, false), do_logits(files[0], files[1], files[2]);
        throw usage_error("unknown command '" + cmd + "' (export, import, init, logits, structure)");
    } catch (const usage_error& e) {
        std::fprintf(stderr, "typenet-convert: %s\n%s", e.what(), usage_text);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-convert: %s\n", e.what());
        return 2;
    }
}
