// The networks typenet-train can train, by name. Each lives in its own translation unit so
// that the (template-heavy) instantiations compile in parallel and a new model costs one file.
#pragma once

#include <string>
#include <vector>

#include "typenet/train/config.hpp"

namespace typenet::cli {

struct model_entry {
    const char* name;
    const char* description;
    int (*run)(const train::train_config&);
};

int run_cnn_bn(const train::train_config& c);
int run_cnn_nobn(const train::train_config& c);

inline const std::vector<model_entry>& model_registry() {
    static const std::vector<model_entry> models = {
        {"cnn-bn", "CIFAR CNN: 4 x conv_bn, 2 max pools, 3 dense (typenet::models::cifar_cnn_bn)", run_cnn_bn},
        {"cnn-nobn", "the same CNN with conv2d + bias + ReLU instead of conv_bn (cifar_cnn_nobn)", run_cnn_nobn},
    };
    return models;
}

}  // namespace typenet::cli
