// typenet-predict: the likeliest classes of images, by a checkpoint alone (docs/training.md#predict).
//
//   typenet-predict --checkpoint runs/full/best.ckpt [--top K] cat.png dog.jpg test:0-9
//
// A thin program over the public API: the checkpoint names its network (src/cli/models.hpp's
// registry finds its code, predict_run.hpp compiled in build/generated/model_TYPE.cpp with the
// network's training), typenet::load_for_inference restores it with the normalisation and class
// names it was trained with, data::load_image decodes PNG and JPEG, typenet::predict_logits
// runs the network in eval mode. The logits are the ones typenet-train --eval-only computes for
// the same images, bit for bit (tests/cli/cli_case.sh, case predict: the CRC-32 of all logits).
#include <cstdint>
#include <limits>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../train/text_numbers.hpp"
#include "models.hpp"
#include "predict_tool.hpp"
#include "typenet/data/error.hpp"
#include "typenet/io/checkpoint.hpp"

namespace {

const char* const usage =
    "usage: typenet-predict --checkpoint FILE [--top K] [--logits] [--crc] [--batch N] [--data DIR] INPUT...\n"
    "Prints the K likeliest classes (default 3) with their probabilities for each INPUT, by the\n"
    "network, normalisation and class names stored in FILE (written by typenet-train or typenet::fit):\n"
    "  INPUT    a PNG or JPEG file of the network's input size (32 x 32 RGB for the CIFAR networks;\n"
    "           nothing is resized), or CIFAR-10 records by index: test:I, test:I-J (inclusive),\n"
    "           train:I, train:I-J (a file named like that: write ./test:1)\n"
    "  --top K      classes per input (default 3; at most the number of classes)\n"
    "  --logits     also print each input's eval-mode logits\n"
    "  --crc        end with the CRC-32 of all inputs' float32 logits, in input order: for test:0-(N-1)\n"
    "               the figure typenet-train --eval-only --limit-test N prints\n"
    "  --batch N    images per forward pass (default 256; the logits do not depend on it)\n"
    "  --data DIR   CIFAR-10 binary folder for test:/train: inputs (default: $TYPENET_DATA,\n"
    "               data/cifar-10-batches-bin, ../shared/data/cifar10/cifar-10-batches-bin)\n"
    "Output: one line per input, 'INPUT: class 0.9123, class 0.0456, ...'. An input that cannot be\n"
    "read (not PNG or JPEG, corrupt, another size, an index past the end) gets an error on stderr\n"
    "naming it; the others are still predicted. Exit codes: 0 all predicted, 2 bad flags, a bad\n"
    "checkpoint or a bad input, 1 anything else.\n";

struct bad_usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using typenet::cli::predict_tool::exit_bad_input, typenet::cli::predict_tool::exit_ok, typenet::cli::predict_tool::options;

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min) {
    return typenet::train::detail::whole_flag<bad_usage>(flag, v, min, std::numeric_limits<std::size_t>::max());
}

std::optional<options> parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw bad_usage(a + ": missing value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(usage, stdout);
            return std::nullopt;
        } else if (a == "--checkpoint") o.checkpoint = value();
        else if (a == "--top") o.top = parse_count(a, value(), 1);
        else if (a == "--batch") o.batch = parse_count(a, value(), 1);
        else if (a == "--data") o.data_dir = value();
        else if (a == "--logits") o.logits = true;
        else if (a == "--crc") o.crc = true;
        else if (a.rfind("--", 0) == 0) throw bad_usage("unknown flag '" + a + "' (see --help)");
        else o.inputs.push_back(a);
    }
    if (o.checkpoint.empty()) throw bad_usage("--checkpoint FILE is required (see --help)");
    if (o.inputs.empty()) throw bad_usage("no input: name PNG or JPEG files, or test:I / train:I records (see --help)");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const auto o = parse(argc, argv);
        if (!o) return exit_ok;
        const std::string network = typenet::io::read_checkpoint(o->checkpoint).network;
        const typenet::cli::model_entry* m = typenet::cli::find_model(network);
        if (!m)
            throw typenet::io::checkpoint_error(o->checkpoint + ": written by network '" + network +
                                                "', which typenet-predict does not know (it knows " +
                                                typenet::cli::model_names() + ")");
        return m->predict(*o);
    } catch (const bad_usage& e) {
        std::fprintf(stderr, "typenet-predict: %s\n", e.what());
        return exit_bad_input;
    } catch (const typenet::io::checkpoint_error& e) {
        std::fprintf(stderr, "typenet-predict: checkpoint: %s\n", e.what());
        return exit_bad_input;
    } catch (const typenet::data::data_error& e) {
        std::fprintf(stderr, "typenet-predict: data: %s\n", e.what());
        return exit_bad_input;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "typenet-predict: error: %s\n", e.what());
        return 1;
    }
}
