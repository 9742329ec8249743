// typenet/layers/batch_norm.hpp - batch normalisation, per channel (C, H, W) or per feature (N).
//
//   batch_norm<Eps = std::ratio<1, 100000>>   (eps = 1e-5; a compile-time std::ratio, must be > 0)
//
// Train mode: statistics of the current batch, per channel over n = batch * H * W values:
//   mean = sum x / n,  var = sum (x - mean)^2 / n  (biased),  istd = 1 / sqrt(var + eps)
//   xhat = (x - mean) * istd,  y = gamma * xhat + beta
//   running_mean <- (1 - momentum) * running_mean + momentum * mean
//   running_var  <- (1 - momentum) * running_var  + momentum * var * n / (n - 1)   (unbiased)
// momentum is the weight of the NEW batch (PyTorch's convention), 0.1 by default, set at run
// time with set_momentum(). Train mode needs batch >= 2 (a clear std::invalid_argument otherwise).
// Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta; works at batch 1
// and does not depend on the other samples of the batch.
// Backward (train mode) is the closed-form three-term VJP, per channel:
//   dx = gamma * istd / n * (n * dy - sum(dy) - xhat * sum(dy * xhat))
//   dgamma += sum(dy * xhat),  dbeta += sum(dy)
// See docs/batch-norm.md for the derivation and the conventions against PyTorch.
#pragma once

#include <ratio>
#include <stdexcept>

#include "typenet/layers/common.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class batch_norm_layer;

template <class Spec, class In>
inline constexpr std::size_t bn_channels = In::dims[0];
template <class In>
inline constexpr std::size_t bn_spatial = In::size / In::dims[0];

template <class Where, class Spec, class In>
consteval bool check_eps() {
    if constexpr (Spec::eps_ratio::num <= 0) {
        (void)error::reported<error::eps_must_be_positive<Where, Spec, error::expects<error::positive_eps>,
                                                 error::got<typename Spec::eps_ratio>>>;
        return false;
    } else {
        return true;
    }
}
}  // namespace detail

template <class Eps = std::ratio<1, 100000>>
struct batch_norm {
    using eps_ratio = typename Eps::type;
    static constexpr double eps = double(eps_ratio::num) / double(eps_ratio::den);

    template <class Where, class In> static consteval bool check() { return detail::check_eps<Where, batch_norm, In>(); }
    template <class In> using output_shape = In;
    template <class T, class In> using bind = detail::batch_norm_layer<T, batch_norm, In>;
    static std::string describe() {
        if constexpr (std::is_same_v<eps_ratio, std::ratio<1, 100000>>) return "batch_norm";
        else return "batch_norm<eps=" + std::to_string(eps_ratio::num) + "/" + std::to_string(eps_ratio::den) + ">";
    }
};

namespace detail {

// The arithmetic of one batch-norm over a (batch, C, spatial) buffer, shared by batch_norm
// and conv_bn. Holds parameters, running statistics and the buffers saved for backward.
template <class T, std::size_t C, std::size_t Spatial>
class batch_norm_core {
public:
    // What forward keeps for backward: per channel the batch mean and istd. xhat is not stored:
    // backward recomputes it from the forward's input, (x - mean) * istd, exactly as the forward
    // computed it (kernels::batch_norm_backward_from_input), which saves one activation-sized
    // buffer per batch-norm layer.
    struct saved {
        xt::xtensor<T, 1> mean = zeros<T>(C);
        xt::xtensor<T, 1> istd = zeros<T>(C);
    };

    batch_norm_core()
        : gamma_(zeros<T>(C)), beta_(gamma_), gamma_grad_(gamma_), beta_grad_(gamma_), running_mean_(gamma_),
          running_var_(gamma_), batch_mean_(gamma_), batch_var_(gamma_) {
        reset();
    }
    void reset() {
        gamma_.fill(T(1));
        beta_.fill(T(0));
        running_mean_.fill(T(0));
        running_var_.fill(T(1));
    }

    static kernels::bn_geometry geometry(std::size_t batch) { return {batch, C, Spatial}; }

    // relu = true applies ReLU to y in the same pass (conv_bn); backward then takes relu = true.
    // run_stats: null, or x's per-plane statistics from kernels::conv2d_forward_bn_stats.
    // addend: null, or a residual block's other branch: y = act(batch norm + addend), the ReLU
    // (relu) after the sum (kernels::batch_norm_add_forward_train); backward then takes
    // relu = false and dy already masked by the caller.
    void forward(std::string_view who, double eps, std::size_t batch, const T* x, T* y, saved& s, bool relu = false,
                 const double* run_stats = nullptr, const T* addend = nullptr) {
        if (batch < 2)
            throw std::invalid_argument(std::string(who) +
                                        ": train mode needs a batch of at least 2 samples to estimate batch "
                                        "statistics, got batch " + std::to_string(batch) +
                                        "; evaluate single samples in eval mode, or drop the last batch");
        if (addend)
            kernels::batch_norm_add_forward_train<T>(geometry(batch), x, gamma_.data(), beta_.data(), eps, addend, relu,
                                                     y, s.istd.data(), s.mean.data(), batch_var_.data(), run_stats);
        else if (relu)
            kernels::batch_norm_relu_forward_train<T>(geometry(batch), x, gamma_.data(), beta_.data(), eps, y, nullptr,
                                                      s.istd.data(), s.mean.data(), batch_var_.data(), run_stats);
        else
            kernels::batch_norm_forward_train<T>(geometry(batch), x, gamma_.data(), beta_.data(), eps, y, nullptr,
                                                 s.istd.data(), s.mean.data(), batch_var_.data(), run_stats);
        std::copy(s.mean.data(), s.mean.data() + C, batch_mean_.data());
        const double m = momentum_, count = double(batch * Spatial);
        const double unbias = count / (count - 1.0);
        for (std::size_t c = 0; c < C; ++c) {
            running_mean_[c] = T((1.0 - m) * running_mean_[c] + m * batch_mean_[c]);
            running_var_[c] = T((1.0 - m) * running_var_[c] + m * double(batch_var_[c]) * unbias);
        }
    }
    void infer(double eps, std::size_t batch, const T* x, T* y, bool relu = false, const T* addend = nullptr) const {
        if (addend)
            kernels::batch_norm_add_infer<T>(geometry(batch), x, gamma_.data(), beta_.data(), running_mean_.data(),
                                             running_var_.data(), eps, addend, relu, y);
        else if (relu)
            kernels::batch_norm_relu_infer<T>(geometry(batch), x, gamma_.data(), beta_.data(), running_mean_.data(),
                                              running_var_.data(), eps, y);
        else
            kernels::batch_norm_infer<T>(geometry(batch), x, gamma_.data(), beta_.data(), running_mean_.data(),
                                         running_var_.data(), eps, y);
    }
    // x: the forward's input, and gamma, beta: unchanged since. dx may equal dy or x. relu: the
    // forward ran with relu = true (dy is masked by its y > 0 first, the mask recomputed from x,
    // gamma and beta exactly as the forward computed y: y itself is not read).
    void backward(std::size_t batch, const T* x, const T* dy, T* dx, const saved& s, bool relu = false) {
        kernels::batch_norm_backward_from_input<T>(geometry(batch), x, s.mean.data(), s.istd.data(), gamma_.data(),
                                                   relu ? beta_.data() : nullptr, dy, dx, gamma_grad_.data(),
                                                   beta_grad_.data());
    }

    template <class F> void for_each_parameter(F&& f) {
        f(parameter_view<T>{"gamma", {gamma_.data(), C}, {gamma_grad_.data(), C}, gamma_.shape(), parameter_role::bn_gamma});
        f(parameter_view<T>{"beta", {beta_.data(), C}, {beta_grad_.data(), C}, beta_.shape(), parameter_role::bn_beta});
    }
    template <class F> void for_each_state(F&& f) {
        f(state_view<T>{"running_mean", {running_mean_.data(), C}, running_mean_.shape()});
        f(state_view<T>{"running_var", {running_var_.data(), C}, running_var_.shape()});
    }

    double momentum() const { return momentum_; }
    void set_momentum(double m) {
        if (!(m > 0.0 && m <= 1.0))
            throw std::invalid_argument("batch_norm: momentum (the weight of the new batch in the running "
                                        "statistics) must be in (0, 1], got " + std::to_string(m));
        momentum_ = m;
    }
    xt::xtensor<T, 1>& gamma() { return gamma_; }
    xt::xtensor<T, 1>& beta() { return beta_; }
    xt::xtensor<T, 1>& running_mean() { return running_mean_; }
    xt::xtensor<T, 1>& running_var() { return running_var_; }

private:
    xt::xtensor<T, 1> gamma_, beta_, gamma_grad_, beta_grad_, running_mean_, running_var_, batch_mean_, batch_var_;
    double momentum_ = 0.1;
};

template <class T, class Spec, class In>
class batch_norm_layer : public batch_norm_core<T, In::dims[0], In::size / In::dims[0]> {
    using core = batch_norm_core<T, In::dims[0], In::size / In::dims[0]>;
    static_assert(Spec::eps > 0, "typenet: batch_norm needs eps > 0 (bound outside a network, the shape scan "
                                 "did not check it)");

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = In;
    using saved_type = typename core::saved;
    static constexpr std::string_view kind = "batch_norm";
    static constexpr std::size_t parameter_count = 2 * In::dims[0];
    static constexpr std::size_t state_count = 2 * In::dims[0];
    static constexpr std::size_t forward_flops = 0;
    static std::string describe() { return Spec::describe(); }

    void forward(const tensor<T, In>& x, tensor<T, In>& y, saved_type& s) {
        core::forward("batch_norm", Spec::eps, x.batch(), x.data(), y.data(), s);
    }
    void infer(const tensor<T, In>& x, tensor<T, In>& y) const { core::infer(Spec::eps, x.batch(), x.data(), y.data()); }
    void backward(const tensor<T, In>& x, const tensor<T, In>&, const tensor<T, In>& dy, tensor<T, In>& dx,
                  const saved_type& s) {
        core::backward(dy.batch(), x.data(), dy.data(), dx.data(), s);
    }
    // The parameter gradients come out of the same kernel as dx: dx is written over dy (scratch).
    void backward_params(const tensor<T, In>& x, const tensor<T, In>&, tensor<T, In>&& dy, const saved_type& s) {
        core::backward(dy.batch(), x.data(), dy.data(), dy.data(), s);
    }
    void initialize(rng&) { core::reset(); }
};

}  // namespace detail
}  // namespace typenet
