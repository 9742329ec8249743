// src/cli/legacy_metrics.hpp - internal: the "metrics" entry of a last.ckpt that typenet-train
// wrote before it ran on typenet::fit (the trainer upgrades such a checkpoint in place, trainer.hpp).
// A checkpoint is input from outside, so the entry is read as strictly as fit's own history.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "../train/text_numbers.hpp"
#include "typenet/io/checkpoint.hpp"
#include "typenet/train/report.hpp"

namespace typenet::train::detail {

// Per epoch, whitespace-separated: its number (decimal digits from 0 to 2^53), eight numbers in
// read_number's rule (nan and inf, as a diverged epoch wrote them, included: train loss and
// accuracy, test loss and accuracy, gradient norm, learning rate, seconds, images/s) and 0 or 1
// (diverged). Anything else is an io::checkpoint_error naming FILE and the value.
inline std::vector<epoch_metrics> metrics_from_text(const std::string& text, const std::string& file) {
    std::vector<std::string> t;
    std::istringstream s(text);
    for (std::string w; s >> w;) t.push_back(w);
    const std::string where = file + ": metrics: ";
    if (t.size() % 10 != 0)
        throw io::checkpoint_error(where + std::to_string(t.size()) + " values, not 10 for each epoch");
    std::vector<epoch_metrics> rows;
    for (std::size_t i = 0; i < t.size(); i += 10) {
        epoch_metrics r;
        const auto epoch = whole_count(t[i]);
        if (!epoch) throw io::checkpoint_error(where + "'" + t[i] + "' is not an epoch number");
        r.epoch = std::size_t(*epoch);
        double* const fields[] = {&r.train_loss, &r.train_accuracy, &r.test_loss, &r.test_accuracy,
                                  &r.grad_norm,  &r.lr,             &r.seconds,   &r.images_per_second};
        for (std::size_t k = 0; k < 8; ++k) *fields[k] = number_or_throw<io::checkpoint_error>(t[i + 1 + k], where);
        if (t[i + 9] != "0" && t[i + 9] != "1")
            throw io::checkpoint_error(where + "'" + t[i + 9] + "' is not 0 or 1 (diverged)");
        r.diverged = t[i + 9] == "1";
        rows.push_back(r);
    }
    return rows;
}

}  // namespace typenet::train::detail
