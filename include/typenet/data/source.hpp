// typenet/data/source.hpp - labelled data sets of one static sample shape, and their batches.
//
// A data source is any type S with (const members: batches may be prepared on other threads
// while the network trains):
//   typename S::sample_shape  the typenet::shape of one sample: shape<C, H, W> or shape<N>
//   typename S::value_type    std::uint8_t (pixels 0-255, read as value / 255) or float
//   S::classes                the number of classes, static because a network's output size is
//   s.size()                  the number of samples
//   s.sample(i)               const value_type*: sample i, sample_shape::size values, (C, H, W) order
//   s.label(i)                its class, an std::int32_t in [0, classes)
//   s.class_names()           const std::vector<std::string>&: one name per class
//
// The sources here: memory_source (the caller's values, copied in and checked) and
// cifar10_source (CIFAR-10 records, data/cifar10.hpp). docs/library.md#data-sources.
//
// A network is fed from a source only when the two fit: fits<Net, Source> is true when the
// source's sample_shape is the network's input_shape and its classes the network's output size.
// Where they do not fit, the library functions that take both (evaluate, ...) do not compile,
// and the error names the network's shape and the source's (error::source_shape_mismatch,
// error::source_classes_mismatch; docs/shape-errors.md, section 8).
//
// Normalisation is per channel: (value * scale - mean[c]) / std[c], scale = 1/255 for bytes and
// 1 for floats, where the channels of shape<C, H, W> are its C planes of H * W values and the
// channels of a flat shape<N> are its N features (each standardised on its own).
// compute_normalization takes mean and std from a (training) source; a channel whose values
// are all equal gets std 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "typenet/data/cifar10.hpp"
#include "typenet/data/normalization.hpp"
#include "typenet/errors.hpp"
#include "typenet/shape.hpp"

namespace typenet::data {

template <class S>
concept source = requires(const S& s, std::size_t i) {
    requires any_shape<typename S::sample_shape>;
    requires std::same_as<typename S::value_type, std::uint8_t> || std::same_as<typename S::value_type, float>;
    { S::classes } -> std::convertible_to<std::size_t>;
    { s.size() } -> std::convertible_to<std::size_t>;
    { s.sample(i) } -> std::same_as<const typename S::value_type*>;
    { s.label(i) } -> std::convertible_to<std::int32_t>;
    { s.class_names() } -> std::convertible_to<const std::vector<std::string>&>;
};

namespace detail {
template <class Net, class Source>
consteval bool check_fit() {
    if constexpr (!std::is_same_v<typename Net::input_shape, typename Source::sample_shape>) {
        (void)error::reported<error::source_shape_mismatch<Source, Net, error::expects<typename Net::input_shape>,
                                                            error::got<typename Source::sample_shape>>>;
        return false;
    } else if constexpr (Net::output_shape::size != std::size_t(Source::classes)) {
        (void)error::reported<error::source_classes_mismatch<Source, Net, error::expects<typename Net::output_shape>,
                                                              error::got<error::classes<std::size_t(Source::classes)>>>>;
        return false;
    } else {
        return true;
    }
}
}  // namespace detail

// True when Net can be fed from Source; where false, reading it has already reported the
// error (the library's functions use it as `if constexpr (fits<Net, S>)` so that the one
// error is the only one).
template <class Net, source Source>
inline constexpr bool fits = detail::check_fit<Net, Source>();

// The names "0", "1", ... for sources whose classes have no names of their own.
inline std::vector<std::string> numbered_class_names(std::size_t classes) {
    std::vector<std::string> names(classes);
    for (std::size_t k = 0; k < classes; ++k) names[k] = std::to_string(k);
    return names;
}

// ---- memory_source ---------------------------------------------------------------------------
// The caller's samples: size() * Shape::size values (sample after sample, each in (C, H, W)
// order) and one label per sample, copied or moved in. The constructor throws data_error when
// the value count is not a whole number of samples or does not match the labels, when a label
// is outside [0, Classes) (naming the sample), or when the class names are not Classes.
// Memory: the values and labels, nothing else.
template <class Shape, std::size_t Classes, class Value = float>
class memory_source {
    static_assert(any_shape<Shape>, "typenet: memory_source<Shape, Classes, Value>: Shape is a typenet::shape<...>");
    static_assert(Classes >= 1, "typenet: memory_source<Shape, Classes, Value>: a data set has at least one class");
    static_assert(std::is_same_v<Value, float> || std::is_same_v<Value, std::uint8_t>,
                  "typenet: memory_source<Shape, Classes, Value>: Value is float or std::uint8_t (pixels 0-255)");

public:
    using sample_shape = Shape;
    using value_type = Value;
    static constexpr std::size_t classes = Classes;

    memory_source(std::vector<Value> values, std::vector<std::int32_t> labels,
                  std::vector<std::string> class_names = numbered_class_names(Classes))
        : values_(std::move(values)), labels_(std::move(labels)), names_(std::move(class_names)) {
        const std::string what = "memory_source<" + Shape::to_string() + ", " + std::to_string(Classes) + ">: ";
        if (values_.size() % Shape::size != 0)
            throw data_error(what + std::to_string(values_.size()) + " values are not a whole number of samples of " +
                             std::to_string(Shape::size));
        if (values_.size() / Shape::size != labels_.size())
            throw data_error(what + std::to_string(values_.size() / Shape::size) + " samples but " +
                             std::to_string(labels_.size()) + " labels");
        for (std::size_t i = 0; i < labels_.size(); ++i)
            if (labels_[i] < 0 || std::size_t(labels_[i]) >= Classes)
                throw data_error(what + "sample " + std::to_string(i) + " has label " + std::to_string(labels_[i]) +
                                 ", outside 0.." + std::to_string(Classes - 1));
        if (names_.size() != Classes)
            throw data_error(what + std::to_string(names_.size()) + " class names for " + std::to_string(Classes) +
                             " classes");
    }

    std::size_t size() const { return labels_.size(); }
    const Value* sample(std::size_t i) const { return values_.data() + i * Shape::size; }
    std::int32_t label(std::size_t i) const { return labels_[i]; }
    const std::vector<std::string>& class_names() const { return names_; }

private:
    std::vector<Value> values_;
    std::vector<std::int32_t> labels_;
    std::vector<std::string> names_;
};

// ---- cifar10_source --------------------------------------------------------------------------
// A loaded CIFAR-10 file set (load_cifar10_train / _test) as a source: cifar10_source(set) owns
// the set (moved in; 3,076 bytes per image: the pixels and an int32 label);
// cifar10_source::view(set) reads a set the caller keeps alive, without copying it. The class
// names are the data set's. Throws data_error for a set whose pixels are not 3,072 per label or
// whose labels are outside 0-9 (a set built by hand rather than loaded).
inline const std::vector<std::string>& cifar10_class_names() {
    static const std::vector<std::string> names{"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};
    return names;
}

class cifar10_source {
public:
    using sample_shape = shape<3, 32, 32>;
    using value_type = std::uint8_t;
    static constexpr std::size_t classes = cifar10_classes;

    explicit cifar10_source(cifar10_set set) : set_(std::make_shared<const cifar10_set>(std::move(set))) { check(); }
    static cifar10_source view(const cifar10_set& set) {
        return cifar10_source(std::shared_ptr<const cifar10_set>(std::shared_ptr<void>(), &set));
    }

    std::size_t size() const { return set_->size(); }
    const std::uint8_t* sample(std::size_t i) const { return set_->pixels.data() + i * cifar10_image_bytes; }
    std::int32_t label(std::size_t i) const { return set_->labels[i]; }
    const std::vector<std::string>& class_names() const { return cifar10_class_names(); }
    const cifar10_set& set() const { return *set_; }

private:
    explicit cifar10_source(std::shared_ptr<const cifar10_set> set) : set_(std::move(set)) { check(); }
    void check() const {
        if (set_->pixels.size() != set_->labels.size() * cifar10_image_bytes)
            throw data_error("cifar10_source: " + std::to_string(set_->pixels.size()) + " pixel bytes for " +
                             std::to_string(set_->labels.size()) + " labels (3,072 per image)");
        for (std::size_t i = 0; i < set_->labels.size(); ++i)
            if (set_->labels[i] < 0 || set_->labels[i] >= std::int32_t(classes))
                throw data_error("cifar10_source: image " + std::to_string(i) + " has label " +
                                 std::to_string(set_->labels[i]) + ", outside 0-9");
    }
    std::shared_ptr<const cifar10_set> set_;  // owning, or not (view)
};

// ---- normalisation and batches ---------------------------------------------------------------
template <class Shape> inline constexpr std::size_t norm_channels = Shape::dims[0];
template <class Shape> inline constexpr std::size_t norm_plane = Shape::size / Shape::dims[0];
template <class Value> inline constexpr double value_range = std::is_same_v<Value, std::uint8_t> ? 255.0 : 1.0;

// Mean and standard deviation of every channel over all samples of s, in double and in two
// passes (the mean, then the squared deviations from it, so a nearly constant channel does not
// cancel to noise); a channel whose values are all equal gets std exactly 1, an empty source
// mean 0 and std 1.
template <source S>
normalization compute_normalization(const S& s) {
    using Shape = typename S::sample_shape;
    constexpr std::size_t C = norm_channels<Shape>, P = norm_plane<Shape>;
    constexpr double range = value_range<typename S::value_type>;
    using V = typename S::value_type;
    std::vector<double> sum(C, 0.0), dev(C, 0.0);
    std::vector<V> lo(C), hi(C);
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto* x = s.sample(i);
        for (std::size_t c = 0; c < C; ++c) {
            if (i == 0) lo[c] = hi[c] = x[c * P];
            for (std::size_t j = 0; j < P; ++j) {
                const V v = x[c * P + j];
                sum[c] += double(v) / range;
                lo[c] = std::min(lo[c], v);
                hi[c] = std::max(hi[c], v);
            }
        }
    }
    const double count = double(s.size()) * double(P);
    normalization n;
    n.mean.assign(C, 0.0f);
    n.std.assign(C, 1.0f);
    if (s.size() == 0) return n;
    std::vector<double> mean(C);
    for (std::size_t c = 0; c < C; ++c) mean[c] = sum[c] / count;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto* x = s.sample(i);
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t j = 0; j < P; ++j) {
                const double d = double(x[c * P + j]) / range - mean[c];
                dev[c] += d * d;
            }
    }
    for (std::size_t c = 0; c < C; ++c) {
        n.mean[c] = float(mean[c]);
        const double var = dev[c] / count;
        n.std[c] = lo[c] == hi[c] || !(var > 0) ? 1.0f : float(std::sqrt(var));
    }
    return n;
}

// No normalisation at all (mean 0, std 1 on every channel): values pass through as value * scale.
template <source S>
normalization identity_normalization() {
    constexpr std::size_t C = norm_channels<typename S::sample_shape>;
    return {std::vector<float>(C, 0.0f), std::vector<float>(C, 1.0f)};
}

// One sample of S (sample_shape::size values) normalised into out, unchecked: n has one mean
// and one positive std per channel (fill_batch checks that).
template <source S, class T>
void normalize_sample(const typename S::value_type* x, const normalization& n, T* out) {
    using Shape = typename S::sample_shape;
    constexpr std::size_t C = norm_channels<Shape>, P = norm_plane<Shape>;
    constexpr float range = std::is_same_v<typename S::value_type, std::uint8_t> ? 255.0f : 1.0f;
    for (std::size_t c = 0; c < C; ++c) {
        const float a = 1.0f / (range * n.std[c]), b = n.mean[c] / n.std[c];
        for (std::size_t j = 0; j < P; ++j) out[c * P + j] = T(float(x[c * P + j]) * a - b);
    }
}

// Writes the samples indices[k] of s, normalised, to images (indices.size() * sample size values,
// float or double; the arithmetic is float's either way, as the trainer feeds float networks)
// and their labels to labels. Throws std::out_of_range for an index past the end and
// std::invalid_argument when n does not have one mean and one positive std per channel.
template <source S, class T>
void fill_batch(const S& s, std::span<const std::size_t> indices, const normalization& n, T* images,
                std::int32_t* labels) {
    static_assert(std::is_floating_point_v<T>, "typenet: fill_batch writes float or double samples");
    using Shape = typename S::sample_shape;
    constexpr std::size_t C = norm_channels<Shape>;
    if (n.mean.size() != C || n.std.size() != C)
        throw std::invalid_argument("fill_batch: the normalisation has " + std::to_string(n.mean.size()) + " means and " +
                                    std::to_string(n.std.size()) + " standard deviations for samples of " +
                                    Shape::to_string() + " (" + std::to_string(C) + " channels)");
    for (std::size_t c = 0; c < C; ++c)
        if (!(n.std[c] > 0) || !std::isfinite(n.std[c]) || !std::isfinite(n.mean[c]))
            throw std::invalid_argument("fill_batch: channel " + std::to_string(c) +
                                        " of the normalisation has mean " + std::to_string(n.mean[c]) + " and std " +
                                        std::to_string(n.std[c]) + " (std must be positive, both finite)");
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const std::size_t i = indices[k];
        if (i >= s.size())
            throw std::out_of_range("fill_batch: sample " + std::to_string(i) + " of a source of " +
                                    std::to_string(s.size()));
        normalize_sample<S>(s.sample(i), n, images + k * Shape::size);
        labels[k] = std::int32_t(s.label(i));
    }
}

}  // namespace typenet::data
