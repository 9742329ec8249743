// typenet/optim.hpp - optimizers over a network's parameters: SGD (momentum, Nesterov,
// weight decay), Adam (L2 weight decay) and AdamW (decoupled decay), global-norm clipping.
//
// The update rules are PyTorch's (torch.optim, 1.13), so runs can be compared:
//   SGD:   g = grad + wd * p;  v = mu * v + g;  step = nesterov ? g + mu * v : v;  p -= lr * step
//   Adam:  g = grad + wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//          p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//   AdamW: p *= 1 - lr * wd;  then Adam with wd = 0
// With decay_norm_and_bias = false (the default is true, PyTorch's), the scale and shift of every
// normalisation layer (parameter_role::norm_scale, norm_shift)
// and biases get no weight decay. The learning rate is passed to every step() so that a
// schedule (schedule.hpp) owns it.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/kernels.hpp"
#include "typenet/layer.hpp"

namespace typenet {

template <class T>
struct named_parameter {
    std::string name;          // "0.conv_bn.weight"
    parameter_view<T> view;    // view.name points into `name`
};

// Every parameter of a network, with owned names (the views stay valid while the network lives
// and is not moved).
template <class Net>
std::vector<named_parameter<typename Net::value_type>> collect_parameters(Net& net) {
    std::vector<named_parameter<typename Net::value_type>> out;
    net.for_each_parameter([&](const parameter_view<typename Net::value_type>& p) {
        out.push_back({std::string(p.name), p});
    });
    for (auto& p : out) p.view.name = p.name;
    return out;
}

enum class optimizer_kind { sgd, adam, adamw };

struct optimizer_config {
    optimizer_kind kind = optimizer_kind::sgd;
    double momentum = 0.0;       // SGD
    bool nesterov = false;       // SGD (needs momentum > 0)
    double weight_decay = 0.0;
    bool decay_norm_and_bias = true;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam, AdamW

    void validate() const {
        auto bad = [](const std::string& m) { throw std::invalid_argument("optimizer: " + m); };
        if (!(momentum >= 0.0 && momentum < 1.0)) bad("momentum must be in [0, 1), got " + std::to_string(momentum));
        if (nesterov && momentum <= 0.0) bad("Nesterov momentum needs momentum > 0");
        if (!(weight_decay >= 0.0)) bad("weight decay must be >= 0, got " + std::to_string(weight_decay));
        if (!(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0)) bad("Adam betas must be in [0, 1)");
        if (!(eps > 0.0)) bad("Adam eps must be > 0");
    }
};

template <class T>
class optimizer {
public:
    optimizer(std::vector<named_parameter<T>> params, optimizer_config cfg) : params_(std::move(params)), cfg_(cfg) {
        cfg_.validate();
        for (const auto& p : params_) {
            first_.emplace_back(p.view.value.size(), T(0));
            if (cfg_.kind != optimizer_kind::sgd) second_.emplace_back(p.view.value.size(), T(0));
        }
    }

    const optimizer_config& config() const { return cfg_; }
    std::uint64_t steps() const { return steps_; }

    // One update with learning rate lr from the accumulated gradients.
    void step(double lr) {
        ++steps_;
        for (std::size_t i = 0; i < params_.size(); ++i) {
            const auto& v = params_[i].view;
            const bool decay = cfg_.decay_norm_and_bias || v.role == parameter_role::weight;
            const double wd = decay ? cfg_.weight_decay : 0.0;
            if (cfg_.kind == optimizer_kind::sgd) sgd_step(v, first_[i], lr, wd);
            else adam_step(v, first_[i], second_[i], lr, wd);
        }
    }

    void zero_grad() {
        for (auto& p : params_) std::fill(p.view.gradient.begin(), p.view.gradient.end(), T(0));
    }

    // L2 norm of all gradients together.
    double gradient_norm() const {
        double s = 0;
        for (const auto& p : params_)
            for (T g : p.view.gradient) s += double(g) * double(g);
        return std::sqrt(s);
    }
    // Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
    // before clipping.
    double clip_gradient_norm(double max_norm) {
        const double norm = gradient_norm();
        if (norm > max_norm && norm > 0) {
            const T scale = T(max_norm / norm);
            for (auto& p : params_)
                for (T& g : p.view.gradient) g *= scale;
        }
        return norm;
    }

    // Optimizer state for checkpoints: name -> buffer ("<param>.momentum", "<param>.adam_m",
    // "<param>.adam_v"), in a fixed order.
    template <class F> void for_each_state(F&& f) {
        for (std::size_t i = 0; i < params_.size(); ++i) {
            if (cfg_.kind == optimizer_kind::sgd) {
                f(params_[i].name + ".momentum", std::span<T>(first_[i]));
            } else {
                f(params_[i].name + ".adam_m", std::span<T>(first_[i]));
                f(params_[i].name + ".adam_v", std::span<T>(second_[i]));
            }
        }
    }
    void set_steps(std::uint64_t s) { steps_ = s; }
    const std::vector<named_parameter<T>>& parameters() const { return params_; }

private:
    // The updates are kernels (typenet/kernels.hpp): vectorised and threaded for float.
    void sgd_step(const parameter_view<T>& v, std::vector<T>& buf, double lr, double wd) {
        const kernels::sgd_hyper h{lr, wd, cfg_.momentum, cfg_.nesterov};
        kernels::sgd_update<T>(v.value.size(), v.value.data(), v.gradient.data(), buf.data(), h);
    }
    void adam_step(const parameter_view<T>& v, std::vector<T>& m, std::vector<T>& s, double lr, double wd) {
        const double t = double(steps_);
        const kernels::adam_hyper h{lr, wd, cfg_.beta1, cfg_.beta2, cfg_.eps, 1.0 - std::pow(cfg_.beta1, t),
                                    1.0 - std::pow(cfg_.beta2, t), cfg_.kind == optimizer_kind::adamw};
        kernels::adam_update<T>(v.value.size(), v.value.data(), v.gradient.data(), m.data(), s.data(), h);
    }

    std::vector<named_parameter<T>> params_;
    optimizer_config cfg_;
    std::vector<std::vector<T>> first_, second_;
    std::uint64_t steps_ = 0;
};

}  // namespace typenet
