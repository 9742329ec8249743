// Residual blocks and the ResNets: forward = activation(main + shortcut), compile-time facts
// pinned against the published counts, repeat<> expansion, tensor names, eval independent of
// the batch. (The VJPs are checked against finite differences in test_net_gradients.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "typenet/optim.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {

// ---- compile-time facts ------------------------------------------------------------------
// Parameters, by hand. conv_bn<I, O, K>: O*I*K*K + 2*O; basic block <C, C, 1>: two of
// conv_bn<C, C, 3>; basic block <I, O, 2>: conv_bn<I, O, 3> + conv_bn<O, O, 3> + projection
// conv_bn<I, O, 1>.
constexpr std::size_t conv_bn_params(std::size_t i, std::size_t o, std::size_t k) { return o * i * k * k + 2 * o; }
constexpr std::size_t block_params(std::size_t i, std::size_t o) {
    return conv_bn_params(i, o, 3) + conv_bn_params(o, o, 3) + (i == o ? 0 : conv_bn_params(i, o, 1));
}
constexpr std::size_t cifar_resnet_params(std::size_t n) {
    return conv_bn_params(3, 16, 3) + n * block_params(16, 16) + block_params(16, 32) + (n - 1) * block_params(32, 32) +
           block_params(32, 64) + (n - 1) * block_params(64, 64) + (64 * 10 + 10);
}
constexpr std::size_t wide_params(std::size_t b1, std::size_t b2, std::size_t b3, std::size_t b4) {
    return conv_bn_params(3, 64, 3) + b1 * block_params(64, 64) + block_params(64, 128) +
           (b2 - 1) * block_params(128, 128) + block_params(128, 256) + (b3 - 1) * block_params(256, 256) +
           block_params(256, 512) + (b4 - 1) * block_params(512, 512) + (512 * 10 + 10);
}
static_assert(tn::models::resnet20::parameter_count == cifar_resnet_params(3));
static_assert(tn::models::resnet56::parameter_count == cifar_resnet_params(9));
static_assert(tn::models::resnet18::parameter_count == wide_params(2, 2, 2, 2));
static_assert(tn::models::resnet34::parameter_count == wide_params(3, 4, 6, 3));
// The published counts: ResNet-20 0.27 M, ResNet-56 0.85 M (He et al. 2016, table 6, with the
// parameter-free shortcut A; the projections here add 2,752 and 2,752 + 0 parameters), and the
// CIFAR ResNet-18 / ResNet-34 11.17 M / 21.28 M as counted by PyTorch for the same layers.
static_assert(tn::models::resnet20::parameter_count == 272'474);
static_assert(tn::models::resnet56::parameter_count == 855'770);
static_assert(tn::models::resnet18::parameter_count == 11'173'962);
static_assert(tn::models::resnet34::parameter_count == 21'282'122);
// Forward FLOPs (multiply-add = 2): ResNet-20 40.8 M multiply-adds per image (He et al. quote
// 41 M), ResNet-18 (CIFAR stem) 0.56 G multiply-adds.
static_assert(tn::models::resnet20::forward_flops == 81'626'368);
static_assert(tn::models::resnet18::forward_flops == 1'110'845'440);
static_assert(tn::models::resnet56::forward_flops == 251'495'680);  // 126 M multiply-adds (He et al.: 125 M)
// Depth after repeat<> expansion: stem + 3N blocks + pool + dense.
static_assert(tn::models::resnet20::depth == 1 + 9 + 2);
static_assert(tn::models::resnet56::depth == 1 + 27 + 2);
static_assert(tn::models::resnet34::depth == 1 + 16 + 2);

// repeat<N, S> is exactly N copies of S.
using with_repeat = tn::net<tn::input<4, 8, 8>, tn::repeat<3, tn::basic_block<4, 4, 1>>, tn::global_avg_pool>;
using spelled_out = tn::net<tn::input<4, 8, 8>, tn::basic_block<4, 4, 1>, tn::basic_block<4, 4, 1>,
                            tn::basic_block<4, 4, 1>, tn::global_avg_pool>;
static_assert(std::is_same_v<with_repeat::layers_type, spelled_out::layers_type>);
static_assert(tn::net<tn::input<4, 8, 8>, tn::repeat<2, tn::repeat<2, tn::relu>>>::depth == 4);

template <class T> std::vector<T> random_values(std::size_t n, std::uint64_t seed) {
    tn::rng g(seed);
    std::vector<T> v(n);
    for (auto& x : v) x = T(g.normal());
    return v;
}

// A resnet20 input of `batch` images of seeded values.
tn::models::resnet20::input_tensor resnet20_input(std::size_t batch, std::uint64_t seed) {
    tn::models::resnet20::input_tensor x(batch);
    const auto v = random_values<float>(x.size(), seed);
    std::copy(v.begin(), v.end(), x.data());
    return x;
}
}  // namespace

// In float too: there the fast kernels run, and the block's last batch norm writes the sum
// and ReLU in its own pass (conv_bn's forward_add / infer_add, from the convolution's statistics).
TEMPLATE_TEST_CASE("a residual block's output is the activation of the sum of its two branches", "[residual]", double,
                   float) {
    using T = TestType;
    using In = tn::shape<4, 8, 8>;
    using main_only = tn::basic_net<T, tn::input<4, 8, 8>, tn::conv_bn<4, 6, 3, 2, tn::same>,
                                    tn::conv_bn<6, 6, 3, 1, tn::same, tn::identity>>;
    using shortcut_only = tn::basic_net<T, tn::input<4, 8, 8>, tn::conv_bn<4, 6, 1, 2, tn::same, tn::identity>>;
    using block = typename tn::basic_block<4, 6, 2>::template bind<T, In>;
    static_assert(std::is_same_v<typename block::output_shape, tn::shape<6, 4, 4>>);
    const std::size_t B = 3;
    tn::tensor<T, In> x(B);
    const auto v = random_values<T>(x.size(), 7);
    std::copy(v.begin(), v.end(), x.data());

    // The same parameters in the block and in the two separate networks.
    block b;
    tn::rng g(11);
    b.initialize(g);
    main_only m(1);
    shortcut_only s(2);
    std::vector<std::vector<T>> values;
    b.for_each_parameter([&](tn::parameter_view<T> p) { values.emplace_back(p.value.begin(), p.value.end()); });
    REQUIRE(values.size() == 9);
    std::size_t k = 0;
    m.for_each_parameter([&](tn::parameter_view<T> p) { std::copy(values[k].begin(), values[k].end(), p.value.begin()), ++k; });
    s.for_each_parameter([&](tn::parameter_view<T> p) { std::copy(values[k].begin(), values[k].end(), p.value.begin()), ++k; });
    REQUIRE(k == 9);

    for (const bool train : {true, false}) {
        INFO((train ? "train mode" : "eval mode"));
        tn::tensor<T, typename block::output_shape> y(B);
        typename block::saved_type saved;
        if (train) {
            b.forward(x, y, saved);
            m.train(), s.train();
        } else {
            b.infer(x, y);
            m.eval(), s.eval();
        }
        const auto& ym = m.forward(x);
        const auto& ys = s.forward(x);
        for (std::size_t i = 0; i < y.size(); ++i) {
            const T sum = ym.data()[i] + ys.data()[i];
            REQUIRE(y.data()[i] == (sum > 0 ? sum : T(0)));  // the same operations in the same order: exact
        }
    }
}

TEST_CASE("identity shortcut and identity activation: y = main(x) + x exactly", "[residual]") {
    using In = tn::shape<3, 5, 5>;
    using spec = tn::residual<tn::branch<tn::conv2d<3, 3, 3, 1, tn::same, tn::relu>>, tn::identity_shortcut, tn::identity>;
    using block = spec::bind<double, In>;
    CHECK(spec::describe() == "residual<branch<conv2d<3, 3, 3, 1, same, relu>>, identity_shortcut, identity>");
    block b;
    tn::rng g(3);
    b.initialize(g);
    tn::tensor<double, In> x(2), y(2);
    const auto v = random_values<double>(x.size(), 5);
    std::copy(v.begin(), v.end(), x.data());
    b.infer(x, y);
    tn::basic_net<double, tn::input<3, 5, 5>, tn::conv2d<3, 3, 3, 1, tn::same, tn::relu>> conv(0);
    std::vector<std::vector<double>> values;
    b.for_each_parameter([&](tn::parameter_view<double> p) { values.emplace_back(p.value.begin(), p.value.end()); });
    std::size_t k = 0;
    conv.for_each_parameter([&](tn::parameter_view<double> p) { std::copy(values[k].begin(), values[k].end(), p.value.begin()), ++k; });
    conv.eval();
    const auto& ym = conv.forward(x);
    bool negative_seen = false;
    for (std::size_t i = 0; i < y.size(); ++i) {
        REQUIRE(y.data()[i] == ym.data()[i] + x.data()[i]);
        negative_seen |= y.data()[i] < 0;
    }
    CHECK(negative_seen);  // no ReLU after the sum
}

TEST_CASE("tensor names inside residual blocks are stable and unique", "[residual][names]") {
    auto net = std::make_unique<tn::models::resnet20>(1);
    std::vector<std::string> names;
    net->for_each_parameter([&](const tn::parameter_view<float>& p) { names.emplace_back(p.name); });
    std::set<std::string> unique(names.begin(), names.end());
    CHECK(unique.size() == names.size());
    CHECK(names.front() == "0.conv_bn.weight");
    CHECK(std::find(names.begin(), names.end(), "1.residual.main.0.conv_bn.weight") != names.end());
    CHECK(std::find(names.begin(), names.end(), "1.residual.main.1.conv_bn.beta") != names.end());
    CHECK(std::find(names.begin(), names.end(), "4.residual.shortcut.0.conv_bn.weight") != names.end());
    CHECK(names.back() == "11.dense.bias");
    std::vector<std::string> states;
    net->for_each_state([&](const tn::state_view<float>& s) { states.emplace_back(s.name); });
    CHECK(std::find(states.begin(), states.end(), "7.residual.shortcut.0.conv_bn.running_var") != states.end());
    std::size_t state_values = 0;
    net->for_each_state([&](const tn::state_view<float>& s) { state_values += s.value.size(); });
    CHECK(state_values == tn::models::resnet20::state_count);
}

TEST_CASE("resnet20: eval mode does not depend on the batch, and the momentum reaches blocks", "[residual][eval]") {
    auto net = std::make_unique<tn::models::resnet20>(5);
    using in_t = tn::models::resnet20::input_tensor;
    const std::size_t B = 4;
    in_t x = resnet20_input(B, 9);
    // Some train steps' worth of running statistics first (momentum 0.5 to move them).
    net->set_bn_momentum(0.5);
    net->train();
    (void)net->forward(x);
    net->eval();
    const auto all = net->infer(x);
    // The network's eval-mode forward (blocks keep their branch outputs in their saved values)
    // gives the same numbers as the const infer (blocks allocate them per call).
    for (int again = 0; again < 2; ++again) {
        const auto& yf = net->forward(x);
        for (std::size_t i = 0; i < yf.size(); ++i) REQUIRE(yf.data()[i] == all.data()[i]);
    }
    for (std::size_t b = 0; b < B; ++b) {
        in_t one(1);
        std::copy(x.data() + b * x.sample_size, x.data() + (b + 1) * x.sample_size, one.data());
        const auto y = net->infer(one);
        for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y.data()[i] == all.data()[b * y.sample_size + i]);
    }
    // The running statistics of a layer inside a block moved from (0, 1).
    bool moved = false;
    net->for_each_state([&](const tn::state_view<float>& s) {
        if (std::string(s.name) == "1.residual.main.0.conv_bn.running_mean")
            for (float m : s.value) moved |= m != 0.f;
    });
    CHECK(moved);
}

TEST_CASE("resnet20 trains: the loss of a fixed batch falls within a few SGD steps", "[residual][train]") {
    auto net = std::make_unique<tn::models::resnet20>(3);
    using in_t = tn::models::resnet20::input_tensor;
    const std::size_t B = 16;
    in_t x = resnet20_input(B, 13);
    std::vector<std::int32_t> labels(B);
    for (std::size_t b = 0; b < B; ++b) labels[b] = std::int32_t(b % 10);
    tn::optimizer_config oc;
    oc.kind = tn::optimizer_kind::sgd;
    oc.momentum = 0.9;
    tn::optimizer<float> opt(tn::collect_parameters(*net), oc);
    tn::softmax_cross_entropy ce;
    tn::models::resnet20::output_tensor dy;
    net->set_input_gradient(false);
    double first = 0, last = 0;
    for (int step = 0; step < 10; ++step) {
        const auto& y = net->forward(x);
        const double l = ce.loss_and_gradient(y, labels, dy);
        if (step == 0) first = l;
        last = l;
        opt.zero_grad();
        net->backward(dy);
        opt.step(0.05);
    }
    INFO("loss " << first << " -> " << last);
    CHECK(std::isfinite(last));
    CHECK(last < 0.5 * first);
}

TEST_CASE("release_buffers frees the blocks' tapes, and training and eval go on afterwards", "[residual][memory]") {
    auto net = std::make_unique<tn::models::resnet20>(4);
    using in_t = tn::models::resnet20::input_tensor;
    in_t x = resnet20_input(4, 21);
    tn::models::resnet20::output_tensor dy(4);
    dy.fill(0.01f);
    net->set_input_gradient(false);
    for (int round = 0; round < 2; ++round) {
        INFO("round " << round);
        net->train();
        (void)net->forward(x);
        net->backward(dy);
        REQUIRE(std::get<0>(net->saved_of<1>().main.outputs).batch() == 4);
        net->release_buffers();  // the trainer does this before every evaluation and checkpoint
        CHECK(std::get<0>(net->saved_of<1>().main.outputs).batch() == 0);
        CHECK(std::get<0>(net->saved_of<4>().shortcut.outputs).batch() == 0);
        net->eval();
        const auto y = net->infer(x);
        CHECK(y.batch() == 4);
        (void)net->forward(x);  // eval-mode forward through the network's own buffers
        net->release_buffers();
    }
}

// The main branch's last output is a view of the block's output (conv_bn's forward_add writes the
// sum there); moving the network drops the view. The backward must not depend on it.
TEST_CASE("a network moved between forward and backward gives the same gradients", "[residual][memory]") {
    using N = tn::basic_net<double, tn::input<4, 8, 8>, tn::basic_block<4, 4, 1>, tn::basic_block<4, 6, 2>,
                            tn::global_avg_pool>;
    N a(5), b(5);
    N::input_tensor x(3);
    const auto v = random_values<double>(x.size(), 9);
    std::copy(v.begin(), v.end(), x.data());
    N::output_tensor dy(3);
    const auto w = random_values<double>(dy.size(), 10);
    std::copy(w.begin(), w.end(), dy.data());
    auto grads = [](N& n) {
        std::vector<double> g;
        n.for_each_parameter([&](tn::parameter_view<double> p) { g.insert(g.end(), p.gradient.begin(), p.gradient.end()); });
        return g;
    };
    (void)a.forward(x);
    a.backward(dy);
    (void)b.forward(x);
    N c(std::move(b));
    c.backward(dy);
    const auto ga = grads(a), gc = grads(c);
    REQUIRE(ga.size() == gc.size());
    std::size_t nonzero = 0;
    for (double g : ga) nonzero += g != 0.0;
    CHECK(nonzero > ga.size() / 2);
    CHECK(gc == ga);
}
