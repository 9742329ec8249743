// typenet/data/split.hpp - a part of a source, and a seeded per-class hold-out split.
//
//   auto [train_part, val_part] = data::split_per_class(train, 5000, seed);  // 45,000 + 5,000
//   fit(net, train_part, val_part, options);
//
// subset_source<S> is the samples of a source S at given indices, in that order; it satisfies
// the source concept with S's shape, value type, classes and class names. It reads the source
// it was made from (no copy: the memory is one index per sample), so that source must outlive it.
//
// split_per_class(s, n, seed) holds out n samples for validation, stratified: each class gives
// the share of n it has of s (its count * n / size, rounded down, the samples left over going
// to the classes with the largest remainders, ties to the lower class), chosen within the class
// by a Fisher-Yates shuffle drawn from epoch_rng(seed, 0, 4) (a stream of its own: the training
// order and augmentation draws are unchanged by it). Both parts keep the source's order. The
// same (source, n, seed) gives the same split on every platform. Throws std::invalid_argument
// when n is not below the source's size or when a class would be left without training samples.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "typenet/data/loader.hpp"
#include "typenet/data/source.hpp"

namespace typenet::data {

template <source S>
class subset_source {
public:
    using sample_shape = typename S::sample_shape;
    using value_type = typename S::value_type;
    static constexpr std::size_t classes = S::classes;

    // Throws std::out_of_range for an index past the end of s.
    subset_source(const S& s, std::vector<std::size_t> indices) : s_(&s), idx_(std::move(indices)) {
        for (const std::size_t i : idx_)
            if (i >= s.size())
                throw std::out_of_range("subset_source: index " + std::to_string(i) + " of a source of " +
                                        std::to_string(s.size()) + " samples");
    }

    std::size_t size() const { return idx_.size(); }
    const value_type* sample(std::size_t i) const { return s_->sample(idx_[i]); }
    std::int32_t label(std::size_t i) const { return s_->label(idx_[i]); }
    const std::vector<std::string>& class_names() const { return s_->class_names(); }
    const std::vector<std::size_t>& indices() const { return idx_; }  // into the source

private:
    const S* s_;
    std::vector<std::size_t> idx_;
};

template <source S>
struct split_parts {
    subset_source<S> train, validation;
};

// The indices of split_per_class: {training, validation}, each ascending.
template <source S>
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_indices_per_class(const S& s, std::size_t n,
                                                                                      std::uint64_t seed) {
    const std::size_t size = s.size();
    if (n >= size)
        throw std::invalid_argument("split: holding out " + std::to_string(n) + " of " + std::to_string(size) +
                                    " samples leaves none to train on");
    std::vector<std::vector<std::size_t>> by_class(S::classes);
    for (std::size_t i = 0; i < size; ++i) by_class[std::size_t(s.label(i))].push_back(i);
    // quota_c = floor(count_c * n / size), then one more for the largest remainders
    std::vector<std::size_t> quota(S::classes);
    std::vector<std::pair<std::size_t, std::size_t>> remainder;  // (count_c * n mod size, c)
    std::size_t given = 0;
    for (std::size_t c = 0; c < S::classes; ++c) {
        const unsigned __int128 p = (unsigned __int128)by_class[c].size() * n;
        quota[c] = std::size_t(p / size);
        remainder.emplace_back(std::size_t(p % size), c);
        given += quota[c];
    }
    std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; given < n; ++k, ++given) ++quota[remainder[k].second];
    rng g = epoch_rng(seed, 0, 4);
    std::vector<char> held(size, 0);
    for (std::size_t c = 0; c < S::classes; ++c) {
        auto& v = by_class[c];
        if (!v.empty() && quota[c] >= v.size())
            throw std::invalid_argument("split: holding out " + std::to_string(n) + " of " + std::to_string(size) +
                                        " samples takes all " + std::to_string(v.size()) + " of class " +
                                        std::to_string(c) + " (" + s.class_names()[c] + ")");
        for (std::size_t k = 0; k < quota[c]; ++k) {  // the first quota_c of a Fisher-Yates shuffle
            const std::size_t j = k + std::size_t(g.below(v.size() - k));
            std::swap(v[k], v[j]);
            held[v[k]] = 1;
        }
    }
    std::vector<std::size_t> train, val;
    train.reserve(size - n), val.reserve(n);
    for (std::size_t i = 0; i < size; ++i) (held[i] ? val : train).push_back(i);
    return {std::move(train), std::move(val)};
}

template <source S>
split_parts<S> split_per_class(const S& s, std::size_t n, std::uint64_t seed) {
    auto [train, val] = split_indices_per_class(s, n, seed);
    return {subset_source<S>(s, std::move(train)), subset_source<S>(s, std::move(val))};
}

}  // namespace typenet::data
