// typenet/models.hpp - the reference networks.
//
// cifar_cnn_bn and cifar_cnn_nobn are the two networks of the BatchNorm ablation: identical
// but for conv_bn (conv without bias -> batch norm -> ReLU) against conv2d with bias and a
// fused ReLU. resnet20/56 and resnet18/34 are the residual networks for CIFAR (residual.hpp).
#pragma once

#include "typenet/layers.hpp"
#include "typenet/net.hpp"
#include "typenet/residual.hpp"

namespace typenet::models {

// The CIFAR CNN with the normalisation Norm after every convolution (batch_norm<>: conv_bn).
template <class Norm>
using cifar_cnn = net<
    input<3, 32, 32>,
    conv_then_norm<3, 32, 3, 1, same, Norm>,
    conv_then_norm<32, 32, 3, 1, same, Norm>,
    max_pool<2, 2>,
    conv_then_norm<32, 64, 3, 1, same, Norm>,
    conv_then_norm<64, 64, 3, 1, same, Norm>,
    max_pool<2, 2>,
    flatten,
    dense<4096, 512, relu>,
    dense<512, 512, relu>,
    dense<512, 10, identity>>;
using cifar_cnn_bn = cifar_cnn<batch_norm<>>;
using cifar_cnn_gn = cifar_cnn<group_norm<8>>;  // 4 or 8 channels per group

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

// The CIFAR ResNets of He et al. 2016 (section 4.2): 6N + 2 layers. A 3x3 stem with 16
// channels, three stages of N basic blocks with 16, 32, 64 channels (the first block of the
// second and third stage halves the map with stride 2 and a projection shortcut), global
// average pooling, a dense layer to 10 classes. N = 3: ResNet-20, N = 9: ResNet-56.
// Norm: the normalisation after every convolution (batch_norm<> by default; group_norm<G>,
// layer_norm<>, instance_norm<>, or no_norm for convolutions with biases and nothing after them).
template <std::size_t N, class Norm = batch_norm<>>
using cifar_resnet = net<
    input<3, 32, 32>,
    conv_then_norm<3, 16, 3, 1, same, Norm>,
    repeat<N, basic_block<16, 16, 1, Norm>>,
    basic_block<16, 32, 2, Norm>, repeat<N - 1, basic_block<32, 32, 1, Norm>>,
    basic_block<32, 64, 2, Norm>, repeat<N - 1, basic_block<64, 64, 1, Norm>>,
    global_avg_pool,
    dense<64, 10, identity>>;
using resnet20 = cifar_resnet<3>;
using resnet56 = cifar_resnet<9>;
// ResNet-20 with other normalisations: group norm with 8 groups (2, 4 and 8 channels per group
// in the three stages; Wu and He use 32 groups on ImageNet's wider layers), layer norm, batch
// renormalisation, none.
using resnet20_gn = cifar_resnet<3, group_norm<8>>;
using resnet20_ln = cifar_resnet<3, layer_norm<>>;
using resnet20_brn = cifar_resnet<3, batch_renorm<>>;  // batch renormalisation (Ioffe 2017)
using resnet20_nonorm = cifar_resnet<3, no_norm>;      // no normalisation: convolutions with biases

// ResNet-18 and ResNet-34 (He et al. 2016, table 1) with the CIFAR stem: one 3x3 conv_bn with
// 64 channels and no max pool, four stages of basic blocks with 64, 128, 256, 512 channels
// (B1..B4 blocks; stages 2-4 start with stride 2 and a projection), global average pooling,
// dense to 10 classes. Norm as in cifar_resnet.
template <std::size_t B1, std::size_t B2, std::size_t B3, std::size_t B4, class Norm = batch_norm<>>
using cifar_resnet_wide = net<
    input<3, 32, 32>,
    conv_then_norm<3, 64, 3, 1, same, Norm>,
    repeat<B1, basic_block<64, 64, 1, Norm>>,
    basic_block<64, 128, 2, Norm>, repeat<B2 - 1, basic_block<128, 128, 1, Norm>>,
    basic_block<128, 256, 2, Norm>, repeat<B3 - 1, basic_block<256, 256, 1, Norm>>,
    basic_block<256, 512, 2, Norm>, repeat<B4 - 1, basic_block<512, 512, 1, Norm>>,
    global_avg_pool,
    dense<512, 10, identity>>;
using resnet18 = cifar_resnet_wide<2, 2, 2, 2>;
using resnet18_nonorm = cifar_resnet_wide<2, 2, 2, 2, no_norm>;  // no normalisation: convolutions with biases
using resnet34 = cifar_resnet_wide<3, 4, 6, 3>;

}  // namespace typenet::models
