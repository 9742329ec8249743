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
// or input (the message names the file). The commands' work for one network is convert_run.hpp,
// compiled once per network with the other tools' code for it (models.hpp,
// build/generated/model_TYPE.cpp); this file finds the network and reads the command line.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "../train/text_numbers.hpp"
#include "convert_tool.hpp"
#include "models.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/io/npz.hpp"

namespace {
std::vector<std::string> model_type_names() {
    std::vector<std::string> v;
    for (const auto& m : typenet::cli::model_registry()) v.push_back(m.name);
    return v;
}

using namespace typenet;
using cli::convert_tool::usage_error;

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

// The network called `name` (src/cli/models.hpp's registry: its commands are compiled in
// build/generated/model_TYPE.cpp); a usage error when there is none.
const cli::model_entry& model_named(const std::string& name) {
    const cli::model_entry* m = cli::find_model(name);
    if (!m) throw usage_error("--model: unknown model '" + name + "' (choose one of: " + models_text() + ")");
    return *m;
}

// The checkpoint's network.
const cli::model_entry& checkpoint_model(const io::checkpoint& ck, const std::string& file) {
    const cli::model_entry* m = cli::find_model(ck.network);
    if (!m)
        throw usage_error(file + ": written by network '" + ck.network + "', which typenet-convert does not know (" +
                          models_text() + ")");
    return *m;
}

int do_export(const std::string& ckpt, const std::string& out) {
    const io::checkpoint ck = io::read_checkpoint(ckpt);
    return checkpoint_model(ck, ckpt).convert_export(ck, ckpt, out);
}

int do_import(const std::string& model, const std::string& class_names, const std::string& in, const std::string& out) {
    return model_named(model).convert_import(model, class_names, in, out);
}

int do_init(const std::string& model, std::uint64_t seed, const std::string& out) {
    return model_named(model).convert_init(model, seed, out);
}

int do_logits(const std::string& ckpt, const std::string& in, const std::string& out) {
    const io::checkpoint ck = io::read_checkpoint(ckpt);
    const io::npz_archive inputs = io::read_npz(in);
    return checkpoint_model(ck, ckpt).convert_logits(ck, ckpt, inputs, in, out);
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
            else if (a == "--seed") seed = typenet::train::detail::whole_flag<usage_error>(a, value(), 0);  // strtoull made " -3" 2^64 - 3
            else if (a.rfind("--", 0) == 0) throw usage_error(a + ": unknown flag");
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
            return model_named(model).structure();
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
