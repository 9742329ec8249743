// typenet-predict: the likeliest classes of images, by a checkpoint alone (docs/training.md#predict).
//
//   typenet-predict --checkpoint runs/full/best.ckpt [--top K] cat.png dog.jpg test:0-9
//
// A thin program over the public API: the checkpoint names its network (src/cli/model_list.hpp
// finds the type), typenet::load_for_inference restores it with the normalisation and class
// names it was trained with, data::load_image decodes PNG and JPEG, typenet::predict_logits
// runs the network in eval mode. The logits are the ones typenet-train --eval-only computes for
// the same images, bit for bit (tests/cli/cli_case.sh, case predict: the CRC-32 of all logits).
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model_list.hpp"
#include "typenet/data/cifar10.hpp"
#include "typenet/data/image_folder.hpp"
#include "typenet/data/source.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/predict.hpp"

namespace {

constexpr int exit_ok = 0, exit_bad_input = 2;

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

struct options {
    std::string checkpoint;
    std::size_t top = 3, batch = 256;
    bool logits = false, crc = false;
    std::optional<std::filesystem::path> data_dir;
    std::vector<std::string> inputs;
};

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min) {
    std::size_t out = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || out < min)
        throw bad_usage(flag + ": expected a whole number >= " + std::to_string(min) + ", got '" + v + "'");
    return out;
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

// "test:I" or "test:I-J" (also train:): the set and the inclusive range; nullopt for a file name.
struct record_range {
    bool test;
    std::size_t first, last;
};
std::optional<record_range> parse_records(const std::string& s) {
    bool test;
    std::string_view rest;
    if (s.rfind("test:", 0) == 0) test = true, rest = std::string_view(s).substr(5);
    else if (s.rfind("train:", 0) == 0) test = false, rest = std::string_view(s).substr(6);
    else return std::nullopt;
    const auto number = [&](std::string_view t) {
        std::size_t v = 0;
        const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || p != t.data() + t.size())
            throw typenet::data::data_error(s + ": expected test:I or test:I-J with whole numbers (a file of that name: ./" + s + ")");
        return v;
    };
    const auto dash = rest.find('-');
    const std::size_t first = number(rest.substr(0, dash));
    const std::size_t last = dash == std::string_view::npos ? first : number(rest.substr(dash + 1));
    if (last < first) throw typenet::data::data_error(s + ": the range ends before it starts");
    return record_range{test, first, last};
}

template <class Net>
int run(const options& o) {
    using shape_t = typename Net::input_shape;
    constexpr std::size_t classes = Net::output_shape::size;
    auto net = std::make_unique<Net>(0);
    const typenet::io::inference_info info = typenet::load_for_inference(*net, o.checkpoint);
    const typenet::data::image_geometry geometry{shape_t::dims[0], shape_t::dims[1], shape_t::dims[2]};

    std::vector<std::uint8_t> pixels;  // the inputs that could be read, sample after sample
    std::vector<std::string> names;
    int bad = 0;
    std::optional<typenet::data::cifar10_set> sets[2];  // test, train: read when first asked for
    for (const auto& in : o.inputs) {
        try {
            if (const auto r = parse_records(in)) {
                if (geometry.channels != 3 || geometry.height != 32 || geometry.width != 32)
                    throw typenet::data::data_error(in + ": CIFAR-10 records are 3 x 32 x 32, this network takes " +
                                                    shape_t::to_string());
                auto& set = sets[r->test ? 0 : 1];
                if (!set) {
                    const auto dir = typenet::data::find_cifar10_dir(o.data_dir);
                    set = r->test ? typenet::data::load_cifar10_test(dir) : typenet::data::load_cifar10_train(dir);
                }
                if (r->last >= set->size())
                    throw typenet::data::data_error(in + ": the " + (r->test ? "test" : "training") + " set has " +
                                                    std::to_string(set->size()) + " records (0-" +
                                                    std::to_string(set->size() - 1) + ")");
                for (std::size_t i = r->first; i <= r->last; ++i) {
                    const auto* p = set->pixels.data() + i * typenet::data::cifar10_image_bytes;
                    pixels.insert(pixels.end(), p, p + typenet::data::cifar10_image_bytes);
                    names.push_back((r->test ? "test:" : "train:") + std::to_string(i));
                }
            } else {
                const auto image = typenet::data::load_image(in, geometry);
                pixels.insert(pixels.end(), image.begin(), image.end());
                names.push_back(in);
            }
        } catch (const typenet::data::data_error& e) {
            std::fprintf(stderr, "typenet-predict: %s\n", e.what());
            ++bad;
        }
    }

    const typenet::data::memory_source<shape_t, classes, std::uint8_t> source(
        std::move(pixels), std::vector<std::int32_t>(names.size(), 0), info.class_names);
    const std::vector<double> logits = typenet::predict_logits(*net, source, info.normalization, o.batch);
    const std::vector<double> p = typenet::softmax_rows(logits, classes);
    std::uint32_t crc = 0;
    for (std::size_t s = 0; s < names.size(); ++s) {
        const std::span<const double> row(p.data() + s * classes, classes);
        std::string line = names[s] + ":";
        char buf[64];
        for (const auto& [k, prob] : typenet::top_k(row, o.top)) {
            std::snprintf(buf, sizeof buf, " %.4f", prob);
            line += (line.back() == ':' ? " " : ", ") + info.class_names[k] + buf;
        }
        if (o.logits) {
            line += " | logits";
            for (std::size_t k = 0; k < classes; ++k) {
                std::snprintf(buf, sizeof buf, " %.9g", logits[s * classes + k]);
                line += buf;
            }
        }
        std::printf("%s\n", line.c_str());
        for (std::size_t k = 0; k < classes; ++k) {  // the network's float32 logits, exactly
            const float v = float(logits[s * classes + k]);
            crc = typenet::io::crc32(reinterpret_cast<const unsigned char*>(&v), sizeof v, crc);
        }
    }
    if (o.crc) std::printf("logits crc32 %08x (%zu inputs)\n", unsigned(crc), names.size());
    return bad ? exit_bad_input : exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const auto o = parse(argc, argv);
        if (!o) return exit_ok;
        const std::string network = typenet::io::read_checkpoint(o->checkpoint).network;
        int rc = exit_bad_input;
        if (!typenet::cli::with_model(network, [&](auto m) { rc = run<typename decltype(m)::type>(*o); }))
            throw typenet::io::checkpoint_error(o->checkpoint + ": written by network '" + network +
                                                "', which typenet-predict does not know (it knows " +
                                                typenet::cli::model_names() + ")");
        return rc;
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
