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
// time with set_bn_momentum(). Train mode needs batch >= 2 (a clear std::invalid_argument otherwise).
// Statistics over groups of n samples ("ghost" batch norm, Hoffer et al. 2017): set_bn_group(n)
// (the network's set_bn_group) cuts the batch into consecutive groups of n samples (the remainder
// joins the last group), each normalised with its own mean and variance, and the VJP is the
// three-term formula per group; the running statistics take the batch mean and the pooled
// within-group variance (each group's with Bessel's correction): see batch_norm_core.
// Statistics over the samples of several processes (synchronized batch norm, data-parallel
// training): set_bn_sync(s) (the network's set_bn_sync, with a dist::batch_stats_sync) makes the
// whole-batch statistics, the VJP's sums and the running statistics those of every process's
// batch together, so N processes with batches b_1..b_N compute what one would with their
// concatenation. Groups of samples stay within each process's batch.
// Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta; works at batch 1
// and does not depend on the other samples of the batch.
// Backward (train mode) is the closed-form three-term VJP, per channel:
//   dx = gamma * istd / n * (n * dy - sum(dy) - xhat * sum(dy * xhat))
//   dgamma += sum(dy * xhat),  dbeta += sum(dy)
// See docs/batch-norm.md for the derivation and the conventions against PyTorch.
#pragma once

#include <ratio>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/layers/common.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class norm_layer;
template <class T, std::size_t C, std::size_t Spatial> class batch_norm_core;

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

// What every normalisation spec shares (batch_norm, batch_renorm, group_norm, layer_norm,
// instance_norm): eps as a compile-time ratio and the check that it is positive, the output
// shape (the input's), the bound layer (norm_layer), and the spelling: Derived::kind, then
// its own arguments and "eps=N/D" in angle brackets, the eps only when it is not 1e-5.
// Derived adds kind, conv_kind and core (and check, when it has more rules than eps > 0).
template <class Derived, class Eps>
struct norm_spec_base {
    using eps_ratio = typename Eps::type;
    static constexpr double eps = double(eps_ratio::num) / double(eps_ratio::den);

    template <class Where, class In> static consteval bool check() { return check_eps<Where, Derived, In>(); }
    template <class In> using output_shape = In;
    template <class T, class In> using bind = norm_layer<T, Derived, In>;

    // {} for the default eps, else {"eps=N/D"}: appended to the arguments of a spelling.
    static std::vector<std::string> eps_args() {
        if constexpr (std::is_same_v<eps_ratio, std::ratio<1, 100000>>) return {};
        else return {"eps=" + std::to_string(eps_ratio::num) + "/" + std::to_string(eps_ratio::den)};
    }
    static std::string spelled(std::vector<std::string> args) {
        for (auto& e : eps_args()) args.push_back(std::move(e));
        return args.empty() ? std::string(Derived::kind) : join_args(Derived::kind, args);
    }
    static std::string describe() { return spelled({}); }
};
}  // namespace detail

template <class Eps = std::ratio<1, 100000>>
struct batch_norm : detail::norm_spec_base<batch_norm<Eps>, Eps> {
    // As the normalisation of conv_norm (conv_norm.hpp): the core for C channels of Spatial values.
    template <class T, std::size_t C, std::size_t Spatial> using core = detail::batch_norm_core<T, C, Spatial>;
    static constexpr std::string_view kind = "batch_norm";
    static constexpr std::string_view conv_kind = "conv_bn";
};

namespace detail {

// The arithmetic of one batch-norm over a (batch, C, spatial) buffer, shared by batch_norm
// and conv_norm. Holds parameters, running statistics and the buffers saved for backward.
template <class T, std::size_t C, std::size_t Spatial>
class batch_norm_core {
public:
    // What forward keeps for backward: per channel the batch mean and istd. xhat is not stored:
    // backward recomputes it from the forward's input, (x - mean) * istd, exactly as the forward
    // computed it (kernels::norm_backward), which saves one activation-sized buffer per
    // batch-norm layer.
    // With statistics over groups of samples (set_bn_group): per group and channel, and the
    // group size the forward used (0: the whole batch).
    // synced: the statistics covered every process's batch (set_bn_sync), and so does the VJP.
    struct saved {
        std::vector<T> mean = std::vector<T>(C);
        std::vector<T> istd = std::vector<T>(C);
        std::size_t group = 0;
        bool synced = false;
    };

    static constexpr std::size_t state_count = 2 * C;  // running mean and variance

    batch_norm_core()
        : gamma_(zeros<T>(C)), beta_(gamma_), gamma_grad_(gamma_), beta_grad_(gamma_), running_mean_(gamma_),
          running_var_(gamma_) {
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
    // (relu) after the sum; backward then takes relu = false and dy already masked by the caller.
    // Over groups of samples (set_bn_group): each group normalised with its own statistics.
    void forward(std::string_view who, double eps, std::size_t batch, const T* x, T* y, saved& s, bool relu = false,
                 const double* run_stats = nullptr, const T* addend = nullptr) {
        const auto g = statistics(who, eps, batch, x, s, run_stats);
        kernels::norm_apply<T>(g, x, s.mean.data(), s.istd.data(), gamma_.data(), beta_.data(), false, addend, relu, y);
        update_running(g, s.mean.data(), group_var_.data());
    }
    void infer(double eps, std::size_t batch, const T* x, T* y, bool relu = false, const T* addend = nullptr) const {
        kernels::batch_norm_infer<T>(geometry(batch), x, gamma_.data(), beta_.data(), running_mean_.data(),
                                     running_var_.data(), eps, addend, relu, y);
    }
    // x: the forward's input, and gamma, beta: unchanged since. dx may equal dy or x. relu: the
    // forward ran with relu = true (dy is masked by its y > 0 first, the mask recomputed from x,
    // gamma and beta exactly as the forward computed y: y itself is not read).
    void backward(std::size_t batch, const T* x, const T* dy, T* dx, const saved& s, bool relu = false) {
        kernels::norm_backward<T>(statistics_geometry(batch, s.group), x, s.mean.data(), s.istd.data(), gamma_.data(),
                                  beta_.data(), false, relu, dy, dx, gamma_grad_.data(), beta_grad_.data(),
                                  s.synced ? sync_ : nullptr);
    }

    template <class F> void for_each_parameter(F&& f) {
        f(parameter_view<T>{"gamma", {gamma_.data(), C}, {gamma_grad_.data(), C}, gamma_.shape(), parameter_role::norm_scale});
        f(parameter_view<T>{"beta", {beta_.data(), C}, {beta_grad_.data(), C}, beta_.shape(), parameter_role::norm_shift});
    }
    template <class F> void for_each_state(F&& f) {
        f(state_view<T>{"running_mean", {running_mean_.data(), C}, running_mean_.shape()});
        f(state_view<T>{"running_var", {running_var_.data(), C}, running_var_.shape()});
    }

    // Train-mode statistics over groups of n consecutive samples (net.set_bn_group): 0 = the batch.
    std::size_t bn_group() const { return group_; }
    void set_bn_group(std::size_t n) {
        if (n == 1)
            throw std::invalid_argument("batch_norm: statistics over groups of 1 sample are not batch statistics; "
                                        "the group size must be at least 2 (or 0 for the whole batch)");
        group_ = n;
    }

    // Whole-batch statistics over every process's batch (net.set_bn_sync): null = this batch alone.
    kernels::norm_sync* bn_sync() const { return sync_; }
    void set_bn_sync(kernels::norm_sync* s) { sync_ = s; }

    double momentum() const { return momentum_; }
    void set_bn_momentum(double m) {
        if (!(m > 0.0 && m <= 1.0))
            throw std::invalid_argument("batch_norm: momentum (the weight of the new batch in the running "
                                        "statistics) must be in (0, 1], got " + std::to_string(m));
        momentum_ = m;
    }
    xt::xtensor<T, 1>& gamma() { return gamma_; }
    xt::xtensor<T, 1>& beta() { return beta_; }
    xt::xtensor<T, 1>& running_mean() { return running_mean_; }
    xt::xtensor<T, 1>& running_var() { return running_var_; }

protected:
    // The blocks of the train-mode statistics: per channel over groups of n samples (n = 0: the batch).
    static kernels::norm_geometry statistics_geometry(std::size_t batch, std::size_t n) {
        return {batch, C, Spatial, n ? n : batch, 1};
    }

    // The train-mode statistics of x into s.mean, s.istd and group_var_ (per group and channel),
    // over every process's batch when set_bn_sync set one and the whole batch is one group.
    kernels::norm_geometry statistics(std::string_view who, double eps, std::size_t batch, const T* x, saved& s,
                                      const double* run_stats) {
        s.group = group_for(batch);
        s.synced = sync_ != nullptr && s.group == 0;
        if (!s.synced || batch == 0) check_batch(who, batch);  // synchronized: the count over every process (below)
        const auto g = statistics_geometry(batch, s.group);
        const std::size_t blocks = g.sample_groups() * C;
        s.mean.resize(blocks);
        s.istd.resize(blocks);
        group_var_.resize(blocks);
        count_.resize(blocks);
        kernels::norm_statistics<T>(g, x, eps, s.mean.data(), group_var_.data(), s.istd.data(), run_stats,
                                    s.synced ? sync_ : nullptr, count_.data());
        if (s.synced && count_[0] < 2.0 * Spatial)  // the same count on every process: all of them throw
            check_batch(std::string(who) + " (batch statistics over every process's batch)",
                        std::size_t(count_[0]) / Spatial);
        return g;
    }

    // The running statistics from the per-group means and biased variances. With one group, the
    // whole-batch rule: the batch mean, and the variance times m / (m - 1) (Bessel's correction,
    // m = batch * Spatial values; over every process's batch when synchronized). Over groups of samples (the remainder joins the last group), the same
    // population values: the mean of the batch (the groups' means weighted by their sizes) and the
    // pooled within-group variance sum_g m_g var_g / sum_g (m_g - 1), i.e. each group's variance
    // with Bessel's correction, pooled (m_g = the group's samples times Spatial).
    void update_running(const kernels::norm_geometry& g, const T* mean, const T* var) {
        const std::size_t groups = g.sample_groups(), batch = g.batch;
        const double m = momentum_;
        for (std::size_t c = 0; c < C; ++c) {
            double batch_mean = mean[c], unbiased = 0;
            if (groups == 1) {
                const double count = count_[0];
                unbiased = double(var[c]) * (count / (count - 1.0));
            } else {
                double sum = 0, sq = 0, dof = 0;
                for (std::size_t k = 0; k < groups; ++k) {
                    const double count = double((g.group_begin(k + 1) - g.group_begin(k)) * Spatial);
                    sum += count * double(mean[k * C + c]);
                    sq += count * double(var[k * C + c]);
                    dof += count - 1.0;
                }
                batch_mean = double(T(sum / double(batch * Spatial)));
                unbiased = sq / dof;
            }
            running_mean_[c] = T((1.0 - m) * running_mean_[c] + m * batch_mean);
            running_var_[c] = T((1.0 - m) * running_var_[c] + m * unbiased);
        }
    }

    // The train-mode statistics group for a batch (0: the whole batch).
    std::size_t group_for(std::size_t batch) const { return group_ >= 2 && group_ < batch ? group_ : 0; }
    static void check_batch(std::string_view who, std::size_t batch) {
        if (batch < 2)
            throw std::invalid_argument(std::string(who) +
                                        ": train mode needs a batch of at least 2 samples to estimate batch "
                                        "statistics, got batch " + std::to_string(batch) +
                                        "; evaluate single samples in eval mode, or drop the last batch");
    }

    xt::xtensor<T, 1> gamma_, beta_, gamma_grad_, beta_grad_, running_mean_, running_var_;
    std::vector<T> group_var_;
    std::vector<double> count_;  // per block: the values its statistics covered (norm_statistics)
    double momentum_ = 0.1;
    std::size_t group_ = 0;
    kernels::norm_sync* sync_ = nullptr;
};

// A normalisation spec on its own (batch_norm, batch_renorm, group_norm, layer_norm,
// instance_norm): the bound layer around the spec's core (per channel of a C, H, W input, per
// feature of a flat one).
template <class T, class Spec, class In>
class norm_layer : public Spec::template core<T, In::dims[0], In::size / In::dims[0]> {
    using core = typename Spec::template core<T, In::dims[0], In::size / In::dims[0]>;
    static_assert(Spec::eps > 0, "typenet: normalisation needs eps > 0 (bound outside a network, the shape scan "
                                 "did not check it)");

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = In;
    using saved_type = typename core::saved;
    static constexpr std::string_view kind = Spec::kind;
    static constexpr std::size_t parameter_count = 2 * In::dims[0];
    static constexpr std::size_t state_count = core::state_count;
    static constexpr std::size_t forward_flops = 0;
    static std::string describe() { return Spec::describe(); }

    void forward(const tensor<T, In>& x, tensor<T, In>& y, saved_type& s) {
        core::forward(kind, Spec::eps, x.batch(), x.data(), y.data(), s);
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
