// typenet/predict.hpp - class probabilities from a trained network, in eval mode.
//
//   const auto p = typenet::predict(model, test_source, norm);        // p.size() == samples * classes
//   const auto pixels = data::load_image("cat.png", {3, 32, 32});     // one PNG or JPEG
//   const auto q = typenet::predict(model, std::span<const std::uint8_t>(pixels), norm);
//   for (const auto& [k, prob] : typenet::top_k(q, 3)) ...            // the 3 likeliest classes
//
//   typenet::io::inference_info info = typenet::load_for_inference(model, "run/best.ckpt");
//   // info.normalization, info.class_names, info.model: nothing else is needed to predict
//
// The network runs in eval mode (running statistics, no dropout) and its mode is restored
// afterwards; the logits are turned into probabilities by a softmax computed in double. The
// samples are normalised exactly as fit and evaluate normalise them (data::normalize_sample),
// so predict's logits for a sample are the ones evaluate computes for it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "typenet/data/source.hpp"
#include "typenet/evaluate.hpp"  // detail::for_each_eval_batch
#include "typenet/io/checkpoint.hpp"
#include "typenet/train/checkpoint_io.hpp"

namespace typenet {

namespace detail {
// Raw samples of Net's input shape as a source, for predict on values without labels.
template <class Shape, std::size_t Classes, class V>
struct span_source {
    using sample_shape = Shape;
    using value_type = V;
    static constexpr std::size_t classes = Classes;
    std::span<const V> values;
    std::size_t size() const { return values.size() / Shape::size; }
    const V* sample(std::size_t i) const { return values.data() + i * Shape::size; }
    std::int32_t label(std::size_t) const { return 0; }
    const std::vector<std::string>& class_names() const {
        static const std::vector<std::string> names = data::numbered_class_names(Classes);
        return names;
    }
};
}  // namespace detail

// Softmax of each row of `logits` (rows of `classes` values), in double.
inline std::vector<double> softmax_rows(std::span<const double> logits, std::size_t classes) {
    std::vector<double> p(logits.size());
    for (std::size_t r = 0; r + classes <= logits.size(); r += classes) {
        const double m = *std::max_element(logits.begin() + std::ptrdiff_t(r), logits.begin() + std::ptrdiff_t(r + classes));
        double sum = 0;
        for (std::size_t k = 0; k < classes; ++k) sum += p[r + k] = std::exp(logits[r + k] - m);
        for (std::size_t k = 0; k < classes; ++k) p[r + k] /= sum;
    }
    return p;
}

// The eval-mode logits of every sample of a source, sample after sample (samples x classes),
// in batches of `batch`.
template <class Net, data::source S>
std::vector<double> predict_logits(Net& net, const S& source, const data::normalization& norm, std::size_t batch = 256) {
    std::vector<double> out;
    if constexpr (data::fits<Net, S>) {
        if (batch == 0) throw std::invalid_argument("predict: the batch size must be at least 1");
        constexpr std::size_t classes = Net::output_shape::size;
        out.reserve(source.size() * classes);
        detail::for_each_eval_batch(net, source, norm, batch, [&](const auto& y, std::span<const std::int32_t> labels) {
            for (std::size_t i = 0; i < labels.size() * classes; ++i) out.push_back(double(y.data()[i]));
        });
    }
    return out;
}

// Class probabilities of every sample of a source (samples x classes).
template <class Net, data::source S>
std::vector<double> predict(Net& net, const S& source, const data::normalization& norm, std::size_t batch = 256) {
    return softmax_rows(predict_logits(net, source, norm, batch), Net::output_shape::size);
}

// Class probabilities of raw samples of the network's input shape, one after another (bytes
// 0-255 or floats, as a source of that value type would hold them). Throws
// std::invalid_argument when the values are not a whole number of samples.
template <class Net, class V>
    requires(std::is_same_v<V, std::uint8_t> || std::is_same_v<V, float>)
std::vector<double> predict(Net& net, std::span<const V> samples, const data::normalization& norm, std::size_t batch = 256) {
    using shape_t = typename Net::input_shape;
    if (samples.size() % shape_t::size != 0)
        throw std::invalid_argument("predict: " + std::to_string(samples.size()) + " values are not a whole number of " +
                                    shape_t::to_string() + " samples");
    const detail::span_source<shape_t, Net::output_shape::size, V> s{samples};
    return predict(net, s, norm, batch);
}

// Loads the parameters and running statistics of a checkpoint written by typenet::fit (or
// typenet-train) into net, and returns what the checkpoint says inference needs. Throws
// io::checkpoint_error naming the file when it cannot be read, was written by another network
// structure, has no inference information, or was trained on samples of another shape or another
// number of classes.
template <class Net>
io::inference_info load_for_inference(Net& net, const std::filesystem::path& file) {
    const io::checkpoint ck = io::read_checkpoint(file);
    io::inference_info info = io::read_inference_info(ck, file.string());
    const std::string shape_text = Net::input_shape::to_string();
    if (info.input_shape != shape_text)
        throw io::checkpoint_error(file.string() + ": trained on samples of " + info.input_shape + ", this network takes " +
                                   shape_text);
    if (info.class_names.size() != Net::output_shape::size)
        throw io::checkpoint_error(file.string() + ": trained for " + std::to_string(info.class_names.size()) +
                                   " classes, this network has " + std::to_string(Net::output_shape::size) + " outputs");
    if (info.normalization.mean.size() != data::norm_channels<typename Net::input_shape>)
        throw io::checkpoint_error(file.string() + ": its normalisation has " + std::to_string(info.normalization.mean.size()) +
                                   " channels, this network's samples " +
                                   std::to_string(data::norm_channels<typename Net::input_shape>));
    train::restore_checkpoint(ck, file.string(), net, ck.network, nullptr);
    return info;
}

// The k most probable classes of one row of probabilities, most probable first (ties: the
// lower class first); k is capped at the number of classes.
inline std::vector<std::pair<std::size_t, double>> top_k(std::span<const double> probabilities, std::size_t k) {
    std::vector<std::size_t> idx(probabilities.size());
    std::iota(idx.begin(), idx.end(), 0);
    k = std::min(k, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(k), idx.end(), [&](std::size_t a, std::size_t b) {
        return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
    });
    std::vector<std::pair<std::size_t, double>> out;
    for (std::size_t i = 0; i < k; ++i) out.emplace_back(idx[i], probabilities[idx[i]]);
    return out;
}

}  // namespace typenet
