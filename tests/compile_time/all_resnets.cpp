// The compile-time budget of issue 5: ONE translation unit that holds all four ResNets, each
// instantiated for a training step (forward, loss, backward, SGD step) and for evaluation.
// tests/compile_time/CMakeLists.txt times its compilation at -O3 (compile_time.all_resnets)
// and the program itself runs one step of each at batch 2 (compile_time.all_resnets_run).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "typenet/optim.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

template <class Net>
bool one_step(const char* name) {
    auto model = std::make_unique<Net>(1);
    model->set_input_gradient(false);
    typename Net::input_tensor x(2);
    tn::rng g(3);
    for (auto& v : x.flat()) v = float(g.normal());
    const std::vector<std::int32_t> labels = {1, 7};
    tn::optimizer_config oc;
    oc.kind = tn::optimizer_kind::sgd;
    oc.momentum = 0.9;
    tn::optimizer<float> opt(tn::collect_parameters(*model), oc);
    const tn::softmax_cross_entropy loss;
    typename Net::output_tensor dy;
    const double l = loss.loss_and_gradient(model->forward(x), labels, dy);
    opt.zero_grad();
    model->backward(dy);
    opt.step(0.01);
    model->eval();
    const auto y = model->infer(x);
    std::printf("%-9s %10zu parameters, loss %.4f, eval logit %.4f\n", name, Net::parameter_count, l, double(y.data()[0]));
    return l > 0 && l < 10;
}

int main() {
    bool ok = one_step<tn::models::resnet20>("resnet20");
    ok &= one_step<tn::models::resnet56>("resnet56");
    ok &= one_step<tn::models::resnet18>("resnet18");
    ok &= one_step<tn::models::resnet34>("resnet34");
    return ok ? 0 : 1;
}
