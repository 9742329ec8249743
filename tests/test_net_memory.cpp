// The network's memory savers (net.hpp, "Memory") change no bit of any result:
//   - the two shared gradient buffers, the layers' in-place VJPs on dy (the rvalue overloads of
//     layer.hpp), backward_params() for the first layer and flatten's aliasing give exactly
//     the gradients of the plain chain rule with a buffer per tensor and the const-dy VJPs,
//     in float with the fast kernels and in double with the reference ones;
//   - the caller's dy is never written; backward() can be repeated;
//   - set_input_gradient(false) and release_buffers() behave as documented;
//   - tensor views (tensor.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <ratio>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {

// The chain rule the plain way, on copies of a network's layers: every layer has its own
// output, saved values and input-gradient tensor, and gets the const-dy backward().
template <class Net, class Seq = std::make_index_sequence<Net::depth>>
struct unshared_chain;
template <class Net, std::size_t... I>
struct unshared_chain<Net, std::index_sequence<I...>> {
    using T = typename Net::value_type;
    template <std::size_t K> using L = typename Net::template layer_type<K>;
    static constexpr std::size_t last = Net::depth - 1;

    std::tuple<L<I>...> layers;
    std::tuple<tn::tensor<T, typename L<I>::output_shape>...> outs;
    std::tuple<tn::tensor<T, typename L<I>::input_shape>...> grads;
    std::tuple<typename L<I>::saved_type...> saved;
    typename Net::input_tensor x;

    explicit unshared_chain(Net& net) : layers(net.template layer<I>()...) {}

    template <std::size_t K> const auto& input_of() const {
        if constexpr (K == 0) return x;
        else return std::get<K - 1>(outs);
    }
    const auto& forward(const typename Net::input_tensor& in) {
        x = in;
        (forward_step<I>(), ...);
        return std::get<last>(outs);
    }
    template <std::size_t K> void forward_step() {
        auto& y = std::get<K>(outs);
        y.resize(x.batch());
        std::get<K>(layers).forward(input_of<K>(), y, std::get<K>(saved));
    }
    void backward(const typename Net::output_tensor& dy) { (backward_step<last - I>(dy), ...); }
    template <std::size_t K> void backward_step(const typename Net::output_tensor& dy) {
        const auto& upstream = [&]() -> const auto& {
            if constexpr (K == last) return dy;
            else return std::get<K + 1>(grads);
        }();
        auto& dx = std::get<K>(grads);
        dx.resize(x.batch());
        std::get<K>(layers).backward(input_of<K>(), std::get<K>(outs), upstream, dx, std::get<K>(saved));
    }
    template <class F> void for_each_parameter(F&& f) {
        (std::get<I>(layers).for_each_parameter(f), ...);
    }
};

template <class T>
std::vector<std::vector<T>> gradients_of(auto& model) {
    std::vector<std::vector<T>> g;
    model.for_each_parameter([&](tn::parameter_view<T> p) { g.emplace_back(p.gradient.begin(), p.gradient.end()); });
    return g;
}

template <class T, class S>
bool bit_equal(const tn::tensor<T, S>& a, const tn::tensor<T, S>& b) {
    return a.batch() == b.batch() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}
template <class T>
bool bit_equal(const std::vector<std::vector<T>>& a, const std::vector<std::vector<T>>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (a[k].size() != b[k].size() || std::memcmp(a[k].data(), b[k].data(), a[k].size() * sizeof(T)) != 0)
            return false;
    return true;
}

template <class T, class S>
void fill_normal(tn::tensor<T, S>& t, tn::rng& g) {
    for (auto& v : t.flat()) v = T(g.normal());
}

// One forward and backward of `Net` against the unshared chain, both from the same layers.
template <class Net>
void check_against_unshared_chain(bool input_gradient) {
    using T = typename Net::value_type;
    constexpr std::size_t batch = 4;
    auto net = std::make_unique<Net>(11);
    tn::rng g(12);
    // Batch-norm parameters away from gamma = 1, beta = 0, so that a VJP forgetting them shows.
    net->for_each_parameter([&](tn::parameter_view<T> p) {
        if (p.role == tn::parameter_role::norm_scale)
            for (auto& v : p.value) v = T(g.uniform(0.5, 1.5));
        if (p.role == tn::parameter_role::norm_shift)
            for (auto& v : p.value) v = T(0.3 * g.normal());
    });
    net->set_input_gradient(input_gradient);
    auto chain = std::make_unique<unshared_chain<Net>>(*net);  // copies of the layers, generators included

    typename Net::input_tensor x(batch);
    typename Net::output_tensor dy(batch);
    fill_normal(x, g);
    fill_normal(dy, g);
    const typename Net::output_tensor dy_before = dy;

    net->train();
    const auto& y = net->forward(x);
    const auto& y_ref = chain->forward(x);
    REQUIRE(bit_equal(y, y_ref));

    const auto& dx = net->backward(dy);
    chain->backward(dy);
    CHECK(bit_equal(dy, dy_before));  // the caller's dy is only read
    const auto grads = gradients_of<T>(*net);
    CHECK(bit_equal(grads, gradients_of<T>(*chain)));
    if (input_gradient) {
        CHECK(bit_equal(dx, std::get<0>(chain->grads)));
        CHECK(bit_equal(net->input_gradient(), std::get<0>(chain->grads)));
    } else {
        CHECK(dx.batch() == 0);
        CHECK_THROWS_AS(net->input_gradient(), std::logic_error);
    }

    // backward() again adds the same gradients once more: what a second plain backward adds.
    net->backward(dy);
    chain->backward(dy);
    CHECK(bit_equal(dy, dy_before));
    CHECK(bit_equal(gradients_of<T>(*net), gradients_of<T>(*chain)));
    CHECK_FALSE(bit_equal(gradients_of<T>(*net), grads));
}

// Flatten first and last, dropout in the middle: the aliasing paths, including a last layer
// whose dx is a view of the caller's dy.
using odd_net = tn::net<tn::input<2, 6, 6>, tn::flatten, tn::dense<72, 8, tn::relu>, tn::dropout<std::ratio<1, 4>>,
                        tn::batch_norm<>, tn::dense<8, 3>, tn::flatten>;
using bn_first_net = tn::basic_net<double, tn::input<5>, tn::batch_norm<>, tn::dense<5, 4, tn::relu>, tn::dense<4, 2>>;

}  // namespace

TEST_CASE("shared gradient buffers and in-place VJPs give the plain chain rule's bits", "[net][memory]") {
    const bool input_gradient = GENERATE(true, false);
    INFO("input gradient " << (input_gradient ? "on" : "off"));
    {
        SECTION("cifar_cnn_bn, float, fast kernels") { check_against_unshared_chain<tn::models::cifar_cnn_bn>(input_gradient); }
        SECTION("cifar_cnn_nobn, float, fast kernels") { check_against_unshared_chain<tn::models::cifar_cnn_nobn>(input_gradient); }
        SECTION("cifar_cnn_bn, double, reference kernels") {
            check_against_unshared_chain<tn::rebind_scalar<double, tn::models::cifar_cnn_bn>>(input_gradient);
        }
        SECTION("flatten first and last, dropout, float") { check_against_unshared_chain<odd_net>(input_gradient); }
        SECTION("batch_norm first (its backward_params), double") { check_against_unshared_chain<bn_first_net>(input_gradient); }
    }
}

TEST_CASE("flatten shares its input's memory in a network", "[net][memory]") {
    odd_net net(3);
    tn::tensor<float, tn::shape<2, 6, 6>> x(2);
    tn::rng g(4);
    fill_normal(x, g);
    net.train();
    net.forward(x);
    CHECK(net.output_of<4>().data() == net.output_of<5>().data());  // the last flatten
    CHECK(net.output_of<5>().is_view());
    // The first flatten views the network's train-mode copy of x, not the caller's x ...
    CHECK(net.output_of<0>().data() != x.data());
    // ... and in eval mode it copies x rather than view memory the network does not own.
    net.eval();
    net.forward(x);
    CHECK(net.output_of<0>().data() != x.data());
    CHECK_FALSE(net.output_of<0>().is_view());
    // infer() returns an owning tensor equal to the eval forward.
    const auto y = net.infer(x);
    CHECK_FALSE(y.is_view());
    CHECK(bit_equal(y, net.forward(x)));
}

TEST_CASE("release_buffers() frees the activations, not the parameters, gradients or state", "[net][memory]") {
    tn::models::cifar_cnn_bn net(5);
    net.set_input_gradient(false);
    tn::tensor<float, tn::shape<3, 32, 32>> x(3);
    tn::tensor<float, tn::shape<10>> dy(3);
    tn::rng g(6);
    fill_normal(x, g);
    fill_normal(dy, g);
    net.train();
    net.forward(x);
    net.backward(dy);
    const auto grads = gradients_of<float>(net);

    net.release_buffers();
    CHECK(bit_equal(gradients_of<float>(net), grads));
    CHECK(net.output_of<0>().batch() == 0);
    CHECK_THROWS_AS(net.backward(dy), std::logic_error);  // no train-mode forward to differentiate
    net.eval();
    const auto y_eval = net.forward(x);  // eval mode allocates its outputs again
    CHECK(bit_equal(y_eval, net.infer(x)));
    net.release_buffers();

    // Training goes on as before: the buffers come back with the next train-mode forward. The
    // batch-norm running statistics moved, but the batch statistics (train mode) did not.
    net.zero_grad();
    net.train();
    net.forward(x);
    net.backward(dy);
    CHECK(bit_equal(gradients_of<float>(net), grads));
}

TEST_CASE("set_input_gradient: the input gradient is on by default and can be turned back on", "[net][memory]") {
    tn::models::cifar_cnn_nobn net(7);
    CHECK(net.input_gradient_enabled());
    tn::tensor<float, tn::shape<3, 32, 32>> x(2);
    tn::tensor<float, tn::shape<10>> dy(2);
    tn::rng g(8);
    fill_normal(x, g);
    fill_normal(dy, g);
    net.forward(x);
    const auto dx_on = net.backward(dy);  // a copy: the view is reused by the next backward()
    CHECK(dx_on.batch() == 2);
    net.set_input_gradient(false);
    CHECK(net.backward(dy).batch() == 0);
    CHECK_THROWS_WITH(net.input_gradient(), Catch::Contains("set_input_gradient(true)"));
    net.set_input_gradient(true);
    CHECK(bit_equal(net.backward(dy), dx_on));
}

TEST_CASE("tensor views: writes reach the viewed memory, copies own their elements", "[tensor][memory]") {
    using t3 = tn::tensor<float, tn::shape<3>>;
    std::vector<float> memory(6, 1.0f);
    auto v = t3::view(memory.data(), 2);
    CHECK(v.is_view());
    CHECK(v.batch() == 2);
    CHECK(v.data() == memory.data());
    v(1, 2) = 5.0f;
    CHECK(memory[5] == 5.0f);
    CHECK_NOTHROW(v.resize(2));
    CHECK_THROWS_AS(v.resize(3), std::logic_error);
    CHECK_THROWS_AS(v.storage(), std::logic_error);

    t3 copy = v;  // owning
    CHECK_FALSE(copy.is_view());
    CHECK(copy.data() != memory.data());
    CHECK(copy(1, 2) == 5.0f);
    t3 moved = std::move(v);  // a moved view is an owning copy too
    CHECK_FALSE(moved.is_view());
    CHECK(moved(1, 2) == 5.0f);

    t3 other(2);
    other.fill(2.0f);
    auto w = t3::view(memory.data(), 2);
    w = other;  // assigning to a view writes into the viewed memory
    CHECK(w.data() == memory.data());
    CHECK(memory[0] == 2.0f);
    CHECK(memory[5] == 2.0f);

    w.reset();
    CHECK_FALSE(w.is_view());
    CHECK(w.batch() == 0);
    w.resize(1);
    CHECK(w.data() != memory.data());
}
