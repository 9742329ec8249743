// typenet/loss.hpp - softmax cross-entropy (stable, with label smoothing) and accuracy.
//
// For logits z (batch B, K classes) and labels y:
//   log p_k = z_k - logsumexp(z),  logsumexp(z) = m + log sum_j exp(z_j - m),  m = max_j z_j
//   target q = (1 - s) * onehot(y) + s / K   (s = label_smoothing, 0 by default)
//   loss = mean over the batch of -sum_k q_k log p_k
//   dloss/dz = (softmax(z) - q) / B
// Computed in double internally, so large logits (1e4) neither overflow nor lose the answer.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/tensor.hpp"

namespace typenet {

namespace detail {
template <std::size_t K>
void check_labels(std::size_t batch, std::span<const std::int32_t> labels) {
    if (labels.size() != batch)
        throw std::invalid_argument("softmax_cross_entropy: " + std::to_string(labels.size()) + " labels for a batch of " +
                                    std::to_string(batch));
    for (std::size_t b = 0; b < batch; ++b)
        if (labels[b] < 0 || std::size_t(labels[b]) >= K)
            throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(labels[b]) + " of sample " +
                                        std::to_string(b) + " is outside 0.." + std::to_string(K - 1));
}
}  // namespace detail

class softmax_cross_entropy {
public:
    explicit softmax_cross_entropy(double label_smoothing = 0.0) : smoothing_(label_smoothing) {
        if (!(label_smoothing >= 0.0 && label_smoothing < 1.0))
            throw std::invalid_argument("softmax_cross_entropy: label smoothing must be in [0, 1), got " +
                                        std::to_string(label_smoothing));
    }
    double label_smoothing() const { return smoothing_; }

    // Mean loss over the batch.
    template <class T, std::size_t K>
    double loss(const tensor<T, shape<K>>& logits, std::span<const std::int32_t> labels) const {
        return run<T, K>(logits, labels, nullptr);
    }
    // Mean loss, and its gradient with respect to the logits written into dlogits (resized).
    template <class T, std::size_t K>
    double loss_and_gradient(const tensor<T, shape<K>>& logits, std::span<const std::int32_t> labels,
                             tensor<T, shape<K>>& dlogits) const {
        dlogits.resize(logits.batch());
        return run(logits, labels, &dlogits);
    }

private:
    template <class T, std::size_t K>
    double run(const tensor<T, shape<K>>& z, std::span<const std::int32_t> labels, tensor<T, shape<K>>* dz) const {
        const std::size_t B = z.batch();
        detail::check_labels<K>(B, labels);
        const double off = smoothing_ / double(K), on = 1.0 - smoothing_ + off;
        double total = 0;
        std::vector<double> e(K);
        for (std::size_t b = 0; b < B; ++b) {
            const T* zb = z.data() + b * K;
            double m = zb[0];
            for (std::size_t k = 1; k < K; ++k) m = std::max(m, double(zb[k]));
            double sum = 0;
            for (std::size_t k = 0; k < K; ++k) sum += (e[k] = std::exp(double(zb[k]) - m));
            const double lse = m + std::log(sum);
            double cross = 0;
            for (std::size_t k = 0; k < K; ++k) cross += (k == std::size_t(labels[b]) ? on : off) * (double(zb[k]) - lse);
            total -= cross;
            if (dz)
                for (std::size_t k = 0; k < K; ++k)
                    dz->data()[b * K + k] = T((e[k] / sum - (k == std::size_t(labels[b]) ? on : off)) / double(B));
        }
        return total / double(B);
    }
    double smoothing_;
};

// Number of samples whose largest logit is at their label (the first maximum on ties).
template <class T, std::size_t K>
std::size_t count_correct(const tensor<T, shape<K>>& logits, std::span<const std::int32_t> labels) {
    detail::check_labels<K>(logits.batch(), labels);
    std::size_t correct = 0;
    for (std::size_t b = 0; b < logits.batch(); ++b) {
        const T* zb = logits.data() + b * K;
        std::size_t best = 0;
        for (std::size_t k = 1; k < K; ++k)
            if (zb[k] > zb[best]) best = k;
        correct += best == std::size_t(labels[b]);
    }
    return correct;
}

template <class T, std::size_t K>
double accuracy(const tensor<T, shape<K>>& logits, std::span<const std::int32_t> labels) {
    return logits.batch() ? double(count_correct(logits, labels)) / double(logits.batch()) : 0.0;
}

}  // namespace typenet
