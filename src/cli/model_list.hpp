// src/cli/model_list.hpp (private to the tools) - the networks the tools know, by name: the one
// list that typenet-train, typenet-predict and typenet-bench read. A new model is one line here
// (CMakeLists.txt generates typenet-train's translation unit for it).
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "typenet/models.hpp"

namespace typenet::cli {

template <class Net>
struct model {
    using type = Net;
    const char* name;
    const char* description;
};

// Calls f(model<Net>{name, description}) for every network, in this order.
template <class F>
void for_each_model(F&& f) {
    f(model<models::cifar_cnn_bn>{"cnn-bn", "CIFAR CNN: 4 x conv_bn, 2 max pools, 3 dense (typenet::models::cifar_cnn_bn)"});
    f(model<models::cifar_cnn_nobn>{"cnn-nobn",
                                    "the same CNN with conv2d + bias + ReLU instead of conv_bn (cifar_cnn_nobn)"});
    f(model<models::cifar_cnn_gn>{"cnn-gn", "the CIFAR CNN with group norm, 8 groups, instead of batch norm "
                                            "(cifar_cnn<group_norm<8>>)"});
    f(model<models::resnet20>{"resnet20",
                              "CIFAR ResNet-20 (He et al. 2016): 3 x 3 basic blocks, 16/32/64 channels, 0.27 M parameters"});
    f(model<models::resnet20_gn>{"resnet20-gn", "ResNet-20 with group norm, 8 groups, instead of batch norm "
                                                "(cifar_resnet<3, group_norm<8>>)"});
    f(model<models::resnet20_ln>{"resnet20-ln",
                                 "ResNet-20 with layer norm instead of batch norm (cifar_resnet<3, layer_norm<>>)"});
    f(model<models::resnet20_brn>{"resnet20-brn", "ResNet-20 with batch renormalisation (Ioffe 2017) instead of batch "
                                                  "norm (cifar_resnet<3, batch_renorm<>>)"});
    f(model<models::resnet20_nonorm>{"resnet20-nonorm", "ResNet-20 without normalisation: convolutions with biases "
                                                        "(cifar_resnet<3, no_norm>)"});
    f(model<models::resnet56>{"resnet56", "CIFAR ResNet-56: 3 x 9 basic blocks, 16/32/64 channels, 0.86 M parameters"});
    f(model<models::resnet18>{"resnet18",
                              "ResNet-18 with the CIFAR stem: 2/2/2/2 basic blocks, 64-512 channels, 11.2 M parameters"});
    f(model<models::resnet18_nonorm>{"resnet18-nonorm", "ResNet-18 without normalisation: convolutions with biases "
                                                        "(cifar_resnet_wide<2, 2, 2, 2, no_norm>)"});
    f(model<models::resnet34>{"resnet34",
                              "ResNet-34 with the CIFAR stem: 3/4/6/3 basic blocks, 64-512 channels, 21.3 M parameters"});
}

// The names, comma-separated (for error messages and --help).
inline std::string model_names() {
    std::string s;
    for_each_model([&](auto m) { s += (s.empty() ? "" : ", ") + std::string(m.name); });
    return s;
}

// f(model<Net>{...}) for the network called `name`; false when there is none.
template <class F>
bool with_model(std::string_view name, F&& f) {
    bool found = false;
    for_each_model([&](auto m) {
        if (!found && name == m.name) {
            found = true;
            f(m);
        }
    });
    return found;
}

}  // namespace typenet::cli
