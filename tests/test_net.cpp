// Network-level tests: compile-time facts of the reference networks, stable tensor names,
// summary(), train/eval modes and their errors, seeding, and the softmax cross-entropy loss.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <ratio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/typenet.hpp"

namespace tn = typenet;
using tn::models::cifar_cnn_bn;
using tn::models::cifar_cnn_nobn;

namespace {

// ---------------------------------------------------------------------------------------
// (a) Compile-time facts, by hand.
//
// Shapes (both networks): 3x32x32 -> conv 32x32x32 -> conv 32x32x32 -> pool 32x16x16
//   -> conv 64x16x16 -> conv 64x16x16 -> pool 64x8x8 -> flatten 4096 -> 512 -> 512 -> 10.
//
// Parameters. Conv weights are OutC * InC * 3 * 3:
//   3->32: 864,  32->32: 9216,  32->64: 18432,  64->64: 36864     (sum 65376)
// cifar_cnn_bn: conv_bn adds gamma + beta = 2 * OutC per block:
//   864 + 64 = 928;  9216 + 64 = 9280;  18432 + 128 = 18560;  36864 + 128 = 36992   (sum 65760)
// cifar_cnn_nobn: conv2d adds a bias of OutC per conv:
//   864 + 32 = 896;  9216 + 32 = 9248;  18432 + 64 = 18496;  36864 + 64 = 36928    (sum 65568)
// Dense (weight In * Out + bias Out), both networks:
//   4096 * 512 + 512 = 2097664;  512 * 512 + 512 = 262656;  512 * 10 + 10 = 5130   (sum 2365450)
// Totals: bn 65760 + 2365450 = 2431210;  nobn 65568 + 2365450 = 2431018.
//
// State (running mean + running var per BN channel): bn 2 * (32 + 32 + 64 + 64) = 384; nobn 0.
//
// Forward FLOPs per sample (multiply-add = 2; bias, BN, ReLU, pooling = 0), same for both:
//   conv 3->32 at 32x32:  2 * 864   * 1024 =  1769472
//   conv 32->32 at 32x32: 2 * 9216  * 1024 = 18874368
//   conv 32->64 at 16x16: 2 * 18432 * 256  =  9437184
//   conv 64->64 at 16x16: 2 * 36864 * 256  = 18874368
//   dense 4096->512: 2 * 2097152 = 4194304;  512->512: 2 * 262144 = 524288;  512->10: 2 * 5120 = 10240
//   total 1769472 + 18874368 + 9437184 + 18874368 + 4194304 + 524288 + 10240 = 53684224
//
// Activation bytes per sample: float (4 bytes) times the input and every layer's output:
//   3072 + 32768 + 32768 + 8192 + 16384 + 16384 + 4096 + 4096 + 512 + 512 + 10 = 118794
//   118794 * 4 = 475176 (same for both: conv_bn and conv2d have the same output shapes).
// ---------------------------------------------------------------------------------------
static_assert(cifar_cnn_bn::parameter_count == 2'431'210);
static_assert(cifar_cnn_bn::state_count == 384);
static_assert(cifar_cnn_bn::forward_flops == 53'684'224);
static_assert(cifar_cnn_bn::activation_bytes_per_sample == 475'176);
static_assert(cifar_cnn_nobn::parameter_count == 2'431'018);
static_assert(cifar_cnn_nobn::state_count == 0);
static_assert(cifar_cnn_nobn::forward_flops == 53'684'224);
static_assert(cifar_cnn_nobn::activation_bytes_per_sample == 475'176);
// In double every activation takes 8 bytes.
static_assert(tn::rebind_scalar<double, cifar_cnn_bn>::activation_bytes_per_sample == 2 * 475'176);
static_assert(tn::rebind_scalar<double, cifar_cnn_bn>::parameter_count == 2'431'210);
static_assert(cifar_cnn_bn::depth == 10 && cifar_cnn_nobn::depth == 10);
static_assert(std::is_same_v<cifar_cnn_bn::input_shape, tn::shape<3, 32, 32>>);
static_assert(std::is_same_v<cifar_cnn_bn::output_shape, tn::shape<10>>);
static_assert(std::is_same_v<cifar_cnn_bn::layer_type<5>::output_shape, tn::shape<64, 8, 8>>);
static_assert(std::is_same_v<cifar_cnn_bn::layer_type<6>::output_shape, tn::shape<4096>>);
static_assert(cifar_cnn_bn::shapes_ok && cifar_cnn_nobn::shapes_ok);

// A small network with a standalone batch norm (layer 1) and a dropout (layer 4).
using small_bn_net = tn::basic_net<double, tn::input<4>, tn::dense<4, 6>, tn::batch_norm<>, tn::relu,
                                   tn::dense<6, 5, tn::relu>, tn::dropout<>, tn::dense<5, 2>>;
static_assert(small_bn_net::parameter_count == (4 * 6 + 6) + 2 * 6 + (6 * 5 + 5) + (5 * 2 + 2));
static_assert(small_bn_net::state_count == 2 * 6);

template <class T, class Shape>
void fill_normal(tn::rng& g, tn::tensor<T, Shape>& t, double scale = 1.0) {
    for (auto& v : t.flat()) v = T(scale * g.normal());
}

template <class T, class Shape>
bool bit_equal(const tn::tensor<T, Shape>& a, const tn::tensor<T, Shape>& b) {
    return a.batch() == b.batch() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

struct tensor_info {
    std::string name;
    std::vector<std::size_t> dims;
    tn::parameter_role role = tn::parameter_role::weight;
    std::vector<float> values;
};

// The parameter views of a network, copied (a view's name is only valid during the call).
template <class Net>
std::vector<tensor_info> parameters_of(Net& net) {
    std::vector<tensor_info> out;
    net.for_each_parameter([&](const tn::parameter_view<typename Net::value_type>& p) {
        out.push_back({std::string(p.name), {p.dims.begin(), p.dims.end()}, p.role, {p.value.begin(), p.value.end()}});
    });
    return out;
}
template <class Net>
std::vector<tensor_info> states_of(Net& net) {
    std::vector<tensor_info> out;
    net.for_each_state([&](const tn::state_view<typename Net::value_type>& s) {
        out.push_back({std::string(s.name), {s.dims.begin(), s.dims.end()}, tn::parameter_role::weight,
                       {s.value.begin(), s.value.end()}});
    });
    return out;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}
std::vector<std::string> words_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// One summary row: "<index> <describe> <output> <params> <flops>", the description may contain spaces.
void check_row(const std::string& line, const std::string& index, const std::string& name, const std::string& out,
               const std::string& params, const std::string& flops) {
    INFO("row: [" << line << "]");
    const auto at = line.find(name);
    REQUIRE(at != std::string::npos);
    CHECK(words_of(line.substr(0, at)) == std::vector<std::string>{index});
    CHECK(words_of(line.substr(at + name.size())) == std::vector<std::string>{out, params, flops});
}

}  // namespace

TEST_CASE("compile-time facts are static constexpr and match the summary", "[net][facts]") {
    // The static_asserts above pin the numbers; here they are also usable as constants.
    constexpr std::size_t p = cifar_cnn_bn::parameter_count;
    std::array<char, cifar_cnn_bn::state_count> arr{};  // a constant expression
    STATIC_REQUIRE(p == 2431210);
    STATIC_REQUIRE(arr.size() == 384);

    cifar_cnn_bn bn(1);
    std::size_t params = 0, states = 0;
    for (auto& t : parameters_of(bn)) params += t.values.size();
    for (auto& t : states_of(bn)) states += t.values.size();
    CHECK(params == cifar_cnn_bn::parameter_count);
    CHECK(states == cifar_cnn_bn::state_count);

    cifar_cnn_nobn nobn(1);
    params = 0;
    for (auto& t : parameters_of(nobn)) params += t.values.size();
    CHECK(params == cifar_cnn_nobn::parameter_count);
    CHECK(states_of(nobn).empty());
}

TEST_CASE("tensor names are stable: <layer index>.<kind>.<tensor>", "[net][names]") {
    using R = tn::parameter_role;
    SECTION("cifar_cnn_bn") {
        cifar_cnn_bn net(3);
        const std::vector<tensor_info> expected_params = {
            {"0.conv_bn.weight", {32, 3, 3, 3}, R::weight, {}},  {"0.conv_bn.gamma", {32}, R::norm_scale, {}},
            {"0.conv_bn.beta", {32}, R::norm_shift, {}},            {"1.conv_bn.weight", {32, 32, 3, 3}, R::weight, {}},
            {"1.conv_bn.gamma", {32}, R::norm_scale, {}},          {"1.conv_bn.beta", {32}, R::norm_shift, {}},
            {"3.conv_bn.weight", {64, 32, 3, 3}, R::weight, {}}, {"3.conv_bn.gamma", {64}, R::norm_scale, {}},
            {"3.conv_bn.beta", {64}, R::norm_shift, {}},            {"4.conv_bn.weight", {64, 64, 3, 3}, R::weight, {}},
            {"4.conv_bn.gamma", {64}, R::norm_scale, {}},          {"4.conv_bn.beta", {64}, R::norm_shift, {}},
            {"7.dense.weight", {512, 4096}, R::weight, {}},      {"7.dense.bias", {512}, R::bias, {}},
            {"8.dense.weight", {512, 512}, R::weight, {}},       {"8.dense.bias", {512}, R::bias, {}},
            {"9.dense.weight", {10, 512}, R::weight, {}},        {"9.dense.bias", {10}, R::bias, {}},
        };
        const auto params = parameters_of(net);
        REQUIRE(params.size() == expected_params.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            INFO("tensor " << i << ": " << params[i].name);
            CHECK(params[i].name == expected_params[i].name);
            CHECK(params[i].dims == expected_params[i].dims);
            CHECK(params[i].role == expected_params[i].role);
        }
        const std::vector<std::string> expected_states = {
            "0.conv_bn.running_mean", "0.conv_bn.running_var", "1.conv_bn.running_mean", "1.conv_bn.running_var",
            "3.conv_bn.running_mean", "3.conv_bn.running_var", "4.conv_bn.running_mean", "4.conv_bn.running_var"};
        const auto states = states_of(net);
        REQUIRE(states.size() == expected_states.size());
        for (std::size_t i = 0; i < states.size(); ++i) {
            CHECK(states[i].name == expected_states[i]);
            CHECK(states[i].dims == std::vector<std::size_t>{i < 4 ? 32u : 64u});
        }
    }
    SECTION("cifar_cnn_nobn") {
        cifar_cnn_nobn net(3);
        std::vector<std::string> names;
        for (auto& t : parameters_of(net)) names.push_back(t.name);
        CHECK(names == std::vector<std::string>{"0.conv2d.weight", "0.conv2d.bias", "1.conv2d.weight", "1.conv2d.bias",
                                                "3.conv2d.weight", "3.conv2d.bias", "4.conv2d.weight", "4.conv2d.bias",
                                                "7.dense.weight", "7.dense.bias", "8.dense.weight", "8.dense.bias",
                                                "9.dense.weight", "9.dense.bias"});
    }
    SECTION("a standalone batch_norm") {
        small_bn_net net(3);
        std::vector<std::string> names;
        for (auto& t : parameters_of(net)) names.push_back(t.name);
        CHECK(names == std::vector<std::string>{"0.dense.weight", "0.dense.bias", "1.batch_norm.gamma",
                                                "1.batch_norm.beta", "3.dense.weight", "3.dense.bias",
                                                "5.dense.weight", "5.dense.bias"});
        names.clear();
        for (auto& t : states_of(net)) names.push_back(t.name);
        CHECK(names == std::vector<std::string>{"1.batch_norm.running_mean", "1.batch_norm.running_var"});
    }
}

TEST_CASE("summary() lists every layer and the totals", "[net][summary]") {
    SECTION("cifar_cnn_bn") {
        const auto lines = lines_of(cifar_cnn_bn::summary());
        REQUIRE(lines.size() == 13);  // header, input, 10 layers, totals
        CHECK(words_of(lines[0]) == std::vector<std::string>{"#", "layer", "output", "params", "FLOPs"});
        CHECK(words_of(lines[1]) == std::vector<std::string>{"input", "3x32x32", "0", "0"});
        check_row(lines[2], "0", "conv_bn<3, 32, 3, 1, same>", "32x32x32", "928", "1769472");
        check_row(lines[3], "1", "conv_bn<32, 32, 3, 1, same>", "32x32x32", "9280", "18874368");
        check_row(lines[4], "2", "max_pool<2, 2>", "32x16x16", "0", "0");
        check_row(lines[5], "3", "conv_bn<32, 64, 3, 1, same>", "64x16x16", "18560", "9437184");
        check_row(lines[6], "4", "conv_bn<64, 64, 3, 1, same>", "64x16x16", "36992", "18874368");
        check_row(lines[7], "5", "max_pool<2, 2>", "64x8x8", "0", "0");
        check_row(lines[8], "6", "flatten", "4096", "0", "0");
        check_row(lines[9], "7", "dense<4096, 512, relu>", "512", "2097664", "4194304");
        check_row(lines[10], "8", "dense<512, 512, relu>", "512", "262656", "524288");
        check_row(lines[11], "9", "dense<512, 10, identity>", "10", "5130", "10240");
        CHECK(lines[12] == "parameters: 2431210  state: 384  forward FLOPs/sample: 53684224  "
                           "activation bytes/sample: 475176");
    }
    SECTION("cifar_cnn_nobn") {
        const auto lines = lines_of(cifar_cnn_nobn::summary());
        REQUIRE(lines.size() == 13);
        check_row(lines[2], "0", "conv2d<3, 32, 3, 1, same, relu>", "32x32x32", "896", "1769472");
        check_row(lines[3], "1", "conv2d<32, 32, 3, 1, same, relu>", "32x32x32", "9248", "18874368");
        check_row(lines[4], "2", "max_pool<2, 2>", "32x16x16", "0", "0");
        check_row(lines[5], "3", "conv2d<32, 64, 3, 1, same, relu>", "64x16x16", "18496", "9437184");
        check_row(lines[6], "4", "conv2d<64, 64, 3, 1, same, relu>", "64x16x16", "36928", "18874368");
        check_row(lines[9], "7", "dense<4096, 512, relu>", "512", "2097664", "4194304");
        check_row(lines[11], "9", "dense<512, 10, identity>", "10", "5130", "10240");
        CHECK(lines[12] == "parameters: 2431018  state: 0  forward FLOPs/sample: 53684224  "
                           "activation bytes/sample: 475176");
    }
    SECTION("describe() spells the other arguments") {
        const auto lines = lines_of(small_bn_net::summary());
        REQUIRE(lines.size() == 9);
        check_row(lines[3], "1", "batch_norm", "6", "12", "0");
        check_row(lines[4], "2", "relu", "6", "0", "0");
        check_row(lines[6], "4", "dropout<1/2>", "5", "0", "0");
    }
}

TEST_CASE("eval mode is per sample and infer() equals eval forward", "[net][modes]") {
    cifar_cnn_bn net(11);
    tn::rng g(5);
    // Move the running statistics away from (0, 1) with a few train-mode batches.
    net.set_bn_momentum(0.5);
    net.train();
    for (int step = 0; step < 2; ++step) {
        tn::tensor<float, tn::shape<3, 32, 32>> xt(3);
        fill_normal(g, xt, 2.0);
        for (auto& v : xt.flat()) v += 0.5f;
        net.forward(xt);
    }
    bool moved = false;
    net.for_each_state([&](const tn::state_view<float>& s) {
        for (float v : s.value)
            if (v != 0.0f && v != 1.0f) moved = true;
    });
    REQUIRE(moved);

    constexpr std::size_t B = 5;
    tn::tensor<float, tn::shape<3, 32, 32>> x(B);
    fill_normal(g, x);
    net.eval();
    REQUIRE_FALSE(net.training());
    const auto full = net.forward(x);  // a copy: forward's result is valid until the next forward
    REQUIRE(full.batch() == B);
    for (std::size_t b = 0; b < B; ++b) {
        tn::tensor<float, tn::shape<3, 32, 32>> x1(1);
        std::copy(x.sample(b).begin(), x.sample(b).end(), x1.data());
        const auto& y1 = net.forward(x1);
        REQUIRE(y1.batch() == 1);
        INFO("sample " << b);
        CHECK(std::memcmp(y1.data(), full.sample(b).data(), 10 * sizeof(float)) == 0);
    }
    const cifar_cnn_bn& cnet = net;
    const auto inferred = cnet.infer(x);
    CHECK(bit_equal(inferred, full));
    // Eval forward is not something backward() can differentiate.
    tn::tensor<float, tn::shape<10>> dy(B);
    CHECK_THROWS_AS(net.backward(dy), std::logic_error);
}

TEST_CASE("mode errors", "[net][modes]") {
    SECTION("backward() without a train-mode forward throws std::logic_error") {
        small_bn_net net(1);
        tn::tensor<double, tn::shape<2>> dy(3);
        CHECK_THROWS_AS(net.backward(dy), std::logic_error);
        // ... also after an eval-mode forward.
        tn::tensor<double, tn::shape<4>> x(3);
        tn::rng g(2);
        fill_normal(g, x);
        net.eval();
        net.forward(x);
        CHECK_THROWS_AS(net.backward(dy), std::logic_error);
        // A train-mode forward makes it legal; a dy of another batch size is not.
        net.train();
        net.forward(x);
        CHECK_NOTHROW(net.backward(dy));
        tn::tensor<double, tn::shape<2>> dy2(2);
        CHECK_THROWS_AS(net.backward(dy2), std::invalid_argument);
    }
    SECTION("train mode at batch 1 names the batch-norm layer") {
        small_bn_net net(1);
        tn::tensor<double, tn::shape<4>> x(1);
        tn::rng g(2);
        fill_normal(g, x);
        net.train();
        try {
            net.forward(x);
            FAIL("no exception");
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(what.rfind("layer 1 (batch_norm): ", 0) == 0);
            CHECK(what.find("at least 2") != std::string::npos);
            CHECK(what.find("got batch 1") != std::string::npos);
        }
        // Eval mode handles batch 1.
        net.eval();
        CHECK_NOTHROW(net.forward(x));
    }
    SECTION("conv_bn at batch 1 names layer 0 with its spelling") {
        cifar_cnn_bn net(1);
        tn::tensor<float, tn::shape<3, 32, 32>> x(1);
        CHECK_THROWS_WITH(net.forward(x), Catch::StartsWith("layer 0 (conv_bn<3, 32, 3, 1, same>): conv_bn: "));
    }
    SECTION("a failed train forward leaves nothing for backward() to differentiate") {
        // A successful train forward at batch 3, then one that throws at batch 1 half-way
        // through the network: backward() must not run the VJPs of a half-updated forward
        // (whose stored activations now mix batch 1 and batch 3).
        small_bn_net net(1);
        tn::rng g(2);
        tn::tensor<double, tn::shape<4>> x3(3), x1(1);
        fill_normal(g, x3);
        fill_normal(g, x1);
        net.train();
        net.forward(x3);
        CHECK_THROWS_AS(net.forward(x1), std::invalid_argument);
        tn::tensor<double, tn::shape<2>> dy1(1), dy3(3);
        CHECK_THROWS_AS(net.backward(dy1), std::logic_error);
        CHECK_THROWS_AS(net.backward(dy3), std::logic_error);
        // And the network recovers with the next successful train forward.
        net.forward(x3);
        CHECK_NOTHROW(net.backward(dy3));
    }
    SECTION("an empty batch is rejected, and leaves nothing to differentiate") {
        small_bn_net net(1);
        tn::rng g(2);
        tn::tensor<double, tn::shape<4>> x3(3), x0(0);
        fill_normal(g, x3);
        net.forward(x3);
        CHECK_THROWS_AS(net.forward(x0), std::invalid_argument);
        tn::tensor<double, tn::shape<2>> dy0(0);
        CHECK_THROWS_AS(net.backward(dy0), std::logic_error);
    }
}

TEST_CASE("seeding: the same seed gives the same network, another seed another network", "[net][seed]") {
    cifar_cnn_bn a(42), b(42), c(43);
    const auto pa = parameters_of(a), pb = parameters_of(b), pc = parameters_of(c);
    REQUIRE(pa.size() == pc.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        INFO(pa[i].name);
        CHECK(pa[i].values == pb[i].values);
        if (pa[i].role == tn::parameter_role::weight || pa[i].role == tn::parameter_role::bias) {
            CHECK(pa[i].values != pc[i].values);
            // Not merely one element: most of them differ.
            std::size_t differ = 0;
            for (std::size_t k = 0; k < pa[i].values.size(); ++k) differ += pa[i].values[k] != pc[i].values[k];
            CHECK(differ > pa[i].values.size() / 2);
        } else {
            CHECK(pa[i].values == pc[i].values);  // gamma = 1, beta = 0 whatever the seed
        }
    }
    // Re-initialising with a seed gives the network that seed constructs, state included.
    tn::rng g(1);
    tn::tensor<float, tn::shape<3, 32, 32>> x(2);
    fill_normal(g, x);
    c.train();
    c.forward(x);  // changes the running statistics
    c.initialize(42);
    const auto pc2 = parameters_of(c);
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].values == pc2[i].values);
    const auto sa = states_of(a), sc = states_of(c);
    for (std::size_t i = 0; i < sa.size(); ++i) CHECK(sa[i].values == sc[i].values);

    SECTION("dropout masks follow the seed too") {
        small_bn_net n1(7), n2(7), n3(8);
        tn::tensor<double, tn::shape<4>> xs(6);
        fill_normal(g, xs);
        const auto y1 = n1.forward(xs);
        const auto y2 = n2.forward(xs);
        CHECK(bit_equal(y1, y2));
        const auto y3 = n3.forward(xs);
        CHECK_FALSE(bit_equal(y1, y3));
    }
}

// ---------------------------------------------------------------------------------------
// (f) softmax cross-entropy
// ---------------------------------------------------------------------------------------
TEST_CASE("softmax cross-entropy: gradient against finite differences", "[loss]") {
    constexpr std::size_t B = 4, K = 5;
    tn::rng g(99);
    tn::tensor<double, tn::shape<K>> z(B);
    fill_normal(g, z, 3.0);
    const std::vector<std::int32_t> labels = {0, 4, 2, 2};
    for (double smoothing : {0.0, 0.1, 0.35}) {
        INFO("label smoothing " << smoothing);
        const tn::softmax_cross_entropy ce(smoothing);
        tn::tensor<double, tn::shape<K>> dz;
        const double loss = ce.loss_and_gradient(z, labels, dz);
        REQUIRE(dz.batch() == B);
        CHECK(loss == ce.loss(z, labels));
        // Relative error in the max norm, max|a - b| / max(1e-8, max|a|, max|b|).
        const double h = 1e-6;
        double diff = 0, scale = 1e-8;
        auto zp = z;
        for (std::size_t i = 0; i < z.size(); ++i) {
            const double orig = zp.data()[i];
            zp.data()[i] = orig + h;
            const double lp = ce.loss(zp, labels);
            zp.data()[i] = orig - h;
            const double lm = ce.loss(zp, labels);
            zp.data()[i] = orig;
            const double numeric = (lp - lm) / (2 * h);
            diff = std::max(diff, std::abs(numeric - dz.data()[i]));
            scale = std::max({scale, std::abs(numeric), std::abs(dz.data()[i])});
        }
        INFO("relative error " << diff / scale);
        CHECK(diff / scale <= 1e-7);
        // Each row of the gradient sums to zero (softmax and the target both sum to one).
        for (std::size_t b = 0; b < B; ++b) {
            double row = 0;
            for (std::size_t k = 0; k < K; ++k) row += dz(b, k);
            CHECK(std::abs(row) <= 1e-15);
        }
    }
}

TEST_CASE("softmax cross-entropy: hand-computed values", "[loss]") {
    SECTION("logits [0, ln 3], label 1: p = [1/4, 3/4], loss = ln(4/3), gradient [1/4, -1/4]") {
        tn::tensor<double, tn::shape<2>> z(1);
        z(0, 0) = 0.0;
        z(0, 1) = std::log(3.0);
        const std::vector<std::int32_t> label = {1};
        tn::tensor<double, tn::shape<2>> dz;
        const double loss = tn::softmax_cross_entropy().loss_and_gradient(z, label, dz);
        CHECK(loss == Approx(std::log(4.0 / 3.0)).epsilon(1e-15));
        CHECK(dz(0, 0) == Approx(0.25).epsilon(1e-15));
        CHECK(dz(0, 1) == Approx(-0.25).epsilon(1e-15));
        // Label smoothing s = 0.2 with K = 2: target q = [0.1, 0.9];
        // loss = -(0.1 ln(1/4) + 0.9 ln(3/4)), gradient p - q = [0.15, -0.15].
        const double smoothed = tn::softmax_cross_entropy(0.2).loss_and_gradient(z, label, dz);
        CHECK(smoothed == Approx(-(0.1 * std::log(0.25) + 0.9 * std::log(0.75))).epsilon(1e-14));
        CHECK(dz(0, 0) == Approx(0.15).epsilon(1e-14));
        CHECK(dz(0, 1) == Approx(-0.15).epsilon(1e-14));
    }
    SECTION("the loss is the batch mean and the gradient is divided by the batch") {
        tn::tensor<double, tn::shape<2>> z(2);
        z(0, 0) = 0.0, z(0, 1) = std::log(3.0);  // label 1: ln(4/3)
        z(1, 0) = 0.0, z(1, 1) = 0.0;            // label 0: ln 2
        const std::vector<std::int32_t> labels = {1, 0};
        tn::tensor<double, tn::shape<2>> dz;
        const double loss = tn::softmax_cross_entropy().loss_and_gradient(z, labels, dz);
        CHECK(loss == Approx((std::log(4.0 / 3.0) + std::log(2.0)) / 2).epsilon(1e-15));
        CHECK(dz(0, 0) == Approx(0.125).epsilon(1e-15));
        CHECK(dz(1, 0) == Approx(-0.25).epsilon(1e-15));
        CHECK(dz(1, 1) == Approx(0.25).epsilon(1e-15));
    }
}

TEST_CASE("softmax cross-entropy: large logits are stable", "[loss]") {
    const tn::softmax_cross_entropy ce;
    SECTION("double, 1e4") {
        tn::tensor<double, tn::shape<3>> z(3);
        // Sample 0: the label holds the huge logit -> loss ~ 0 (exactly: log(1 + 2 e^-1e4) = 0).
        z(0, 0) = 1e4, z(0, 1) = 0, z(0, 2) = -1e4;
        // Sample 1: the label holds 0 while another holds 1e4 -> loss = 1e4 (+ e^-1e4 terms).
        z(1, 0) = 1e4, z(1, 1) = 0, z(1, 2) = -1e4;
        // Sample 2: all equal and huge -> loss = ln 3.
        z(2, 0) = 1e4, z(2, 1) = 1e4, z(2, 2) = 1e4;
        const std::vector<std::int32_t> labels = {0, 1, 2};
        tn::tensor<double, tn::shape<3>> dz;
        const double loss = ce.loss_and_gradient(z, labels, dz);
        REQUIRE(std::isfinite(loss));
        CHECK(loss == Approx((0.0 + 1e4 + std::log(3.0)) / 3).epsilon(1e-15));
        for (double d : dz.flat()) CHECK(std::isfinite(d));
        CHECK(dz(0, 0) == 0.0);  // softmax 1 - target 1, over B = 3
        CHECK(dz(1, 0) == Approx(1.0 / 3));
        CHECK(dz(1, 1) == Approx(-1.0 / 3));
        CHECK(dz(2, 2) == Approx((1.0 / 3 - 1.0) / 3));
    }
    SECTION("float, 1e4 and -1e4") {
        tn::tensor<float, tn::shape<2>> z(1);
        z(0, 0) = 1e4f, z(0, 1) = -1e4f;
        const std::vector<std::int32_t> label = {1};
        tn::tensor<float, tn::shape<2>> dz;
        const double loss = ce.loss_and_gradient(z, label, dz);
        CHECK(loss == Approx(2e4).epsilon(1e-15));
        CHECK(dz(0, 0) == 1.0f);
        CHECK(dz(0, 1) == -1.0f);
    }
}

TEST_CASE("softmax cross-entropy: invalid labels and smoothing", "[loss]") {
    tn::tensor<double, tn::shape<3>> z(2);
    const tn::softmax_cross_entropy ce;
    CHECK_THROWS_AS(ce.loss(z, std::vector<std::int32_t>{0, 3}), std::invalid_argument);
    CHECK_THROWS_AS(ce.loss(z, std::vector<std::int32_t>{-1, 0}), std::invalid_argument);
    CHECK_THROWS_AS(ce.loss(z, std::vector<std::int32_t>{0}), std::invalid_argument);
    CHECK_THROWS_WITH(ce.loss(z, std::vector<std::int32_t>{0, 3}), Catch::Contains("outside 0..2"));
    CHECK_NOTHROW(ce.loss(z, std::vector<std::int32_t>{2, 0}));
    CHECK_THROWS_AS(tn::softmax_cross_entropy(1.0), std::invalid_argument);
    CHECK_THROWS_AS(tn::softmax_cross_entropy(-0.1), std::invalid_argument);
    CHECK_THROWS_AS(tn::count_correct(z, std::vector<std::int32_t>{0, 5}), std::invalid_argument);
}

TEST_CASE("count_correct and accuracy", "[loss]") {
    tn::tensor<float, tn::shape<3>> z(4);
    const float rows[4][3] = {{1, 2, 3}, {5, -1, 0}, {0, 7, 7}, {2, 2, 1}};
    for (std::size_t b = 0; b < 4; ++b)
        for (std::size_t k = 0; k < 3; ++k) z(b, k) = rows[b][k];
    // argmax per row: 2, 0, 1 (first of the tie 7, 7), 0 (first of the tie 2, 2).
    CHECK(tn::count_correct(z, std::vector<std::int32_t>{2, 0, 1, 0}) == 4);
    CHECK(tn::count_correct(z, std::vector<std::int32_t>{2, 0, 2, 1}) == 2);
    CHECK(tn::count_correct(z, std::vector<std::int32_t>{0, 1, 0, 2}) == 0);
    CHECK(tn::accuracy(z, std::vector<std::int32_t>{2, 1, 1, 2}) == 0.5);
    CHECK(tn::accuracy(z, std::vector<std::int32_t>{2, 0, 1, 2}) == 0.75);
    tn::tensor<float, tn::shape<3>> empty(0);
    CHECK(tn::accuracy(empty, std::vector<std::int32_t>{}) == 0.0);
}
