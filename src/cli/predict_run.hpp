// src/cli/predict_run.hpp (private to the tools) - typenet-predict's work for one network,
// predict_tool::run<Net> (declared in predict_tool.hpp): for the generated model_TYPE.cpp alone,
// which compiles it next to the network's training code and shares its instantiations (the
// network's forward, the checkpoint's restore); a file that saw this and took run<Net> for every
// network would compile every network again.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "predict_tool.hpp"
#include "typenet/data/cifar10.hpp"
#include "typenet/data/image_folder.hpp"
#include "typenet/data/source.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/predict.hpp"

namespace typenet::cli::predict_tool {

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

}  // namespace typenet::cli::predict_tool
