// Optimizers and schedules against values computed by hand (the arithmetic is in the comments).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "typenet/optim.hpp"
#include "typenet/schedule.hpp"

using typenet::optimizer;
using typenet::optimizer_config;
using typenet::optimizer_kind;
using typenet::parameter_role;

namespace {
// One scalar parameter p = 1 with a gradient we set before every step.
struct scalar_param {
    std::vector<double> value{1.0}, grad{0.0};
    std::size_t dim = 1;
    typenet::named_parameter<double> named(parameter_role role = parameter_role::weight) {
        return {"p", typenet::parameter_view<double>{"p", value, grad, std::span<const std::size_t>(&dim, 1), role}};
    }
};
double run(optimizer_config cfg, double lr, std::vector<double> grads, parameter_role role = parameter_role::weight) {
    scalar_param p;
    optimizer<double> opt({p.named(role)}, cfg);
    for (double g : grads) {
        p.grad[0] = g;
        opt.step(lr);
    }
    return p.value[0];
}
}  // namespace

TEST_CASE("SGD: plain, momentum, Nesterov and weight decay follow PyTorch's rules") {
    optimizer_config c;
    // plain: p = 1 - 0.1 * 0.5 = 0.95
    CHECK(run(c, 0.1, {0.5}) == Approx(0.95).epsilon(1e-15));
    // momentum 0.9: v1 = 0.5, p1 = 0.95; v2 = 0.9*0.5 + 0.5 = 0.95, p2 = 0.95 - 0.095 = 0.855
    c.momentum = 0.9;
    CHECK(run(c, 0.1, {0.5, 0.5}) == Approx(0.855).epsilon(1e-15));
    // Nesterov: v1 = 0.5, step = 0.5 + 0.9*0.5 = 0.95, p1 = 0.905;
    //           v2 = 0.95, step = 0.5 + 0.9*0.95 = 1.355, p2 = 0.905 - 0.1355 = 0.7695
    c.nesterov = true;
    CHECK(run(c, 0.1, {0.5, 0.5}) == Approx(0.7695).epsilon(1e-15));
    // weight decay 0.1 without momentum: g = 0.5 + 0.1 * 1 = 0.6, p = 1 - 0.06 = 0.94
    optimizer_config d;
    d.weight_decay = 0.1;
    CHECK(run(d, 0.1, {0.5}) == Approx(0.94).epsilon(1e-15));
    // ... and no decay on a bias when norm and bias parameters are exempt: p = 0.95
    d.decay_norm_and_bias = false;
    CHECK(run(d, 0.1, {0.5}, parameter_role::bias) == Approx(0.95).epsilon(1e-15));
    CHECK(run(d, 0.1, {0.5}, parameter_role::norm_scale) == Approx(0.95).epsilon(1e-15));
    CHECK(run(d, 0.1, {0.5}, parameter_role::weight) == Approx(0.94).epsilon(1e-15));
}

TEST_CASE("Adam: bias correction makes the first steps lr-sized") {
    optimizer_config c;
    c.kind = optimizer_kind::adam;
    // step 1: m = 0.05, v = 0.00025, mhat = 0.05/0.1 = 0.5, vhat = 0.00025/0.001 = 0.25,
    //         p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    const double p1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8);
    CHECK(run(c, 0.1, {0.5}) == Approx(p1).epsilon(1e-14));
    // Without the correction the step would be 0.1 * 0.05 / sqrt(0.00025) = 0.316: make sure it is not.
    CHECK(std::abs((1 - run(c, 0.1, {0.5})) - 0.1) < 1e-6);
    // step 2 with the same gradient: m = 0.095, v = 0.00049975; mhat = 0.095/0.19 = 0.5,
    //         vhat = 0.00049975/0.001999 = 0.25: another step of lr * 0.5/(0.5 + 1e-8)
    CHECK(run(c, 0.1, {0.5, 0.5}) == Approx(p1 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-13));
    // step 2 with gradient -0.5 after 0.5: m = 0.9*0.05 - 0.05 = -0.005, mhat = -0.005/0.19;
    //         v = 0.00049975, vhat = 0.25 -> p2 = p1 + 0.1 * (0.005/0.19) / (0.5 + 1e-8)
    CHECK(run(c, 0.1, {0.5, -0.5}) == Approx(p1 + 0.1 * (0.005 / 0.19) / (0.5 + 1e-8)).epsilon(1e-13));
}

TEST_CASE("AdamW decays the weight directly, Adam adds L2 to the gradient") {
    optimizer_config w;
    w.kind = optimizer_kind::adamw;
    w.weight_decay = 0.1;
    // AdamW: p = 1 * (1 - 0.1 * 0.1) = 0.99, then the Adam step 0.1 * 0.5/(0.5 + 1e-8)
    CHECK(run(w, 0.1, {0.5}) == Approx(0.99 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
    // Adam with L2: g = 0.5 + 0.1 = 0.6; the first step is lr * 0.6/(0.6 + 1e-8)
    optimizer_config a = w;
    a.kind = optimizer_kind::adam;
    CHECK(run(a, 0.1, {0.5}) == Approx(1 - 0.1 * 0.6 / (0.6 + 1e-8)).epsilon(1e-14));
    // An exempt bias is not decayed by AdamW.
    w.decay_norm_and_bias = false;
    CHECK(run(w, 0.1, {0.5}, parameter_role::bias) == Approx(1 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("global gradient norm and clipping") {
    std::vector<double> a{1, 1}, ga{3, 0}, b{1}, gb{4};
    std::size_t da = 2, db = 1;
    optimizer<double> opt({{"a", {"a", a, ga, std::span<const std::size_t>(&da, 1), parameter_role::weight}},
                           {"b", {"b", b, gb, std::span<const std::size_t>(&db, 1), parameter_role::weight}}},
                          {});
    CHECK(opt.gradient_norm() == Approx(5.0));
    CHECK(opt.clip_gradient_norm(10.0) == Approx(5.0));  // under the limit: unchanged
    CHECK(ga[0] == 3.0);
    CHECK(opt.clip_gradient_norm(1.0) == Approx(5.0));
    CHECK(ga[0] == Approx(0.6));
    CHECK(gb[0] == Approx(0.8));
    CHECK(opt.gradient_norm() == Approx(1.0));
}

TEST_CASE("optimizer settings are validated") {
    optimizer_config c;
    c.nesterov = true;  // without momentum
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("Nesterov"));
    c = {};
    c.momentum = 1.0;
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("momentum"));
    c = {};
    c.weight_decay = -1;
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("weight decay"));
}

TEST_CASE("schedules at chosen steps") {
    using typenet::lr_schedule;
    using typenet::schedule_config;
    using typenet::schedule_kind;
    // 10 steps per epoch, 5 epochs = 50 steps.
    schedule_config constant{schedule_kind::constant, 0.1, {}, 0.1, 0.0};
    CHECK(lr_schedule(constant, 10, 5).at(0) == 0.1);
    CHECK(lr_schedule(constant, 10, 5).at(49) == 0.1);

    schedule_config step{schedule_kind::step, 0.1, {2, 4}, 0.1, 0.0};
    lr_schedule s(step, 10, 5);
    CHECK(s.at(19) == Approx(0.1));   // epoch 1.9
    CHECK(s.at(20) == Approx(0.01));  // epoch 2.0: first milestone
    CHECK(s.at(39) == Approx(0.01));
    CHECK(s.at(40) == Approx(0.001)); // epoch 4.0: second milestone

    // Cosine with one warmup epoch (10 steps): warmup lr = 0.1 * (t + 1) / 10, then
    // 0.05 * (1 + cos(pi * (t - 10) / 40)).
    schedule_config cosine{schedule_kind::cosine, 0.1, {}, 0.1, 1.0};
    lr_schedule c(cosine, 10, 5);
    CHECK(c.warmup_steps() == 10);
    CHECK(c.at(0) == Approx(0.01));
    CHECK(c.at(4) == Approx(0.05));
    CHECK(c.at(9) == Approx(0.1));
    CHECK(c.at(10) == Approx(0.1));                  // cos(0)
    CHECK(c.at(30) == Approx(0.05));                 // cos(pi/2)
    CHECK(c.at(20) == Approx(0.05 * (1 + std::cos(3.141592653589793 / 4))));
    CHECK(c.at(50) == Approx(0.0).margin(1e-15));    // the end
    // Without warmup the first step has the full rate.
    schedule_config cosine0{schedule_kind::cosine, 0.1, {}, 0.1, 0.0};
    CHECK(lr_schedule(cosine0, 10, 5).at(0) == Approx(0.1));

    CHECK_THROWS_WITH(lr_schedule(schedule_config{schedule_kind::cosine, 0.1, {}, 0.1, 5.0}, 10, 5),
                      Catch::Contains("warmup"));
    CHECK_THROWS_WITH(lr_schedule(schedule_config{schedule_kind::constant, -1, {}, 0.1, 0.0}, 10, 5),
                      Catch::Contains("learning rate"));
}
