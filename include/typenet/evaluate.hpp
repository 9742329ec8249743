// typenet/evaluate.hpp - a network's loss and accuracy on a data source (data/source.hpp).
//
//   const auto n = typenet::data::compute_normalization(train_source);
//   const typenet::evaluation e = typenet::evaluate(model, test_source, n);
//   // e.loss (mean softmax cross-entropy), e.accuracy, e.correct, e.samples
//
// The loss is softmax cross-entropy, with the label smoothing of `loss` when one is given (fit
// passes its training loss, so a validation loss is comparable with the training loss).
// The network runs in eval mode (batch normalisation from its running statistics, no dropout),
// over the samples in order, `batch` at a time (the last batch smaller); its mode is restored
// afterwards. Network and source must fit (data::fits): the source's sample shape is the
// network's input shape and its number of classes the network's output size, or this does not
// compile and the error names both shapes. An empty source gives samples 0, loss and accuracy 0.
//
// Over several processes (data-parallel training), evaluate(..., &comm): each rank evaluates its
// share of the samples (consecutive, sizes differing by at most one: data::slice_of) and the ranks
// add their sums, so every rank returns the whole source's evaluation: the same correct and
// samples as one process, and the loss to within the rounding of a sum in another order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>

#include "typenet/data/loader.hpp"
#include "typenet/data/source.hpp"
#include "typenet/dist/communicator.hpp"
#include "typenet/loss.hpp"

namespace typenet {

namespace detail {
// Eval mode for the guard's lifetime, then the mode it found (a throw included).
template <class Net>
struct eval_guard {
    Net& net;
    bool was_training;
    explicit eval_guard(Net& n) : net(n), was_training(n.training()) { net.eval(); }
    eval_guard(const eval_guard&) = delete;
    eval_guard& operator=(const eval_guard&) = delete;
    ~eval_guard() {
        if (was_training) net.train();
    }
};

// The eval-mode forward pass over the samples [begin, end) of a source (default: all), in order,
// `batch` at a time (the last batch smaller): f(logits, labels) per batch. What evaluate and
// predict_logits share.
template <class Net, class S, class F>
void for_each_eval_batch(Net& net, const S& source, const data::normalization& norm, std::size_t batch, F&& f,
                         std::size_t begin = 0, std::size_t end = std::size_t(-1)) {
    const eval_guard<Net> guard(net);
    const std::size_t n = std::min(end, source.size());
    typename Net::input_tensor x(std::min(batch, n > begin ? n - begin : 0));
    std::vector<std::size_t> indices;
    std::vector<std::int32_t> labels;
    for (std::size_t first = begin; first < n; first += batch) {
        const std::size_t count = std::min(batch, n - first);
        indices.resize(count);
        std::iota(indices.begin(), indices.end(), first);
        labels.resize(count);
        x.resize(count);
        data::fill_batch(source, indices, norm, x.data(), labels.data());
        f(net.forward(x), std::span<const std::int32_t>(labels));
    }
}
}  // namespace detail

struct evaluation {
    double loss = 0;      // mean softmax cross-entropy over the samples
    double accuracy = 0;  // correct / samples
    std::size_t correct = 0, samples = 0;
};

template <class Net, data::source S>
evaluation evaluate(Net& net, const S& source, const data::normalization& norm, std::size_t batch = 256,
                    const softmax_cross_entropy& loss = softmax_cross_entropy{}, dist::communicator* comm = nullptr) {
    evaluation e;
    if constexpr (data::fits<Net, S>) {
        if (batch == 0) throw std::invalid_argument("evaluate: the batch size must be at least 1");
        const std::size_t n = source.size();
        const data::shard_slice mine =
            comm ? data::slice_of(n, std::size_t(comm->rank()), std::size_t(comm->size())) : data::shard_slice{0, n};
        double total = 0;
        detail::for_each_eval_batch(
            net, source, norm, batch,
            [&](const auto& logits, std::span<const std::int32_t> labels) {
                total += loss.loss(logits, labels) * double(labels.size());
                e.correct += count_correct(logits, labels);
            },
            mine.first, mine.first + mine.size);
        if (comm) {  // every rank's sums, added: the whole source's
            std::vector<double> sums{total, double(e.correct)};
            comm->sum(std::span<double>(sums));
            total = sums[0];
            e.correct = std::size_t(sums[1]);
        }
        e.samples = n;
        if (n > 0) {
            e.loss = total / double(n);
            e.accuracy = double(e.correct) / double(n);
        }
    }
    return e;
}

}  // namespace typenet
