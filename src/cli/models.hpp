// The networks typenet-train can train, by name. Each lives in its own translation unit so
// that the (template-heavy) instantiations compile in parallel and a new model costs one file.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace typenet::cli {

struct model_entry {
    const char* name;
    const char* description;
    int (*run)(const train::train_config&);
};

int run_cnn_bn(const train::train_config& c);
int run_cnn_nobn(const train::train_config& c);
int run_resnet20(const train::train_config& c);
int run_resnet56(const train::train_config& c);
int run_resnet18(const train::train_config& c);
int run_resnet34(const train::train_config& c);

inline const std::vector<model_entry>& model_registry() {
    static const std::vector<model_entry> models = {
        {"cnn-bn", "CIFAR CNN: 4 x conv_bn, 2 max pools, 3 dense (typenet::models::cifar_cnn_bn)", run_cnn_bn},
        {"cnn-nobn", "the same CNN with conv2d + bias + ReLU instead of conv_bn (cifar_cnn_nobn)", run_cnn_nobn},
        {"resnet20", "CIFAR ResNet-20 (He et al. 2016): 3 x 3 basic blocks, 16/32/64 channels, 0.27 M parameters",
         run_resnet20},
        {"resnet56", "CIFAR ResNet-56: 3 x 9 basic blocks, 16/32/64 channels, 0.86 M parameters", run_resnet56},
        {"resnet18", "ResNet-18 with the CIFAR stem: 2/2/2/2 basic blocks, 64-512 channels, 11.2 M parameters",
         run_resnet18},
        {"resnet34", "ResNet-34 with the CIFAR stem: 3/4/6/3 basic blocks, 64-512 channels, 21.3 M parameters",
         run_resnet34},
    };
    return models;
}

}  // namespace typenet::cli
