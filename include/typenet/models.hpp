// typenet/models.hpp - the reference networks.
//
// cifar_cnn_bn and cifar_cnn_nobn are the two networks of the BatchNorm ablation: identical
// but for conv_bn (conv without bias -> batch norm -> ReLU) against conv2d with bias and a
// fused ReLU.
#pragma once

#include "typenet/layers.hpp"
#include "typenet/net.hpp"

namespace typenet::models {

using cifar_cnn_bn = net<
    input<3, 32, 32>,
    conv_bn<3, 32, 3, 1, same>,
    conv_bn<32, 32, 3, 1, same>,
    max_pool<2, 2>,
    conv_bn<32, 64, 3, 1, same>,
    conv_bn<64, 64, 3, 1, same>,
    max_pool<2, 2>,
    flatten,
    dense<4096, 512, relu>,
    dense<512, 512, relu>,
    dense<512, 10, identity>>;

using cifar_cnn_nobn = net<
    input<3, 32, 32>,
    conv2d<3, 32, 3, 1, same, relu>,
    conv2d<32, 32, 3, 1, same, relu>,
    max_pool<2, 2>,
    conv2d<32, 64, 3, 1, same, relu>,
    conv2d<64, 64, 3, 1, same, relu>,
    max_pool<2, 2>,
    flatten,
    dense<4096, 512, relu>,
    dense<512, 512, relu>,
    dense<512, 10, identity>>;

}  // namespace typenet::models
