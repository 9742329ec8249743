// typenet/layers/batch_renorm.hpp - batch renormalisation (Ioffe 2017), per channel or feature.
//
//   batch_renorm<Eps = std::ratio<1, 100000>>
//
// Train mode, per channel with the batch's (or, with set_bn_group, the group's) mean mu_B and
// biased variance var_B, sigma_B = sqrt(var_B + eps), and the running statistics before this
// step's update, sigma = sqrt(running_var + eps):
//   r = clip(sigma_B / sigma, 1 / rmax, rmax),   d = clip((mu_B - running_mean) / sigma, -dmax, dmax)
//   xhat = (x - mu_B) / sigma_B,   y = gamma * (r * xhat + d) + beta
// r and d are treated as constants in the VJP (the paper's stop_gradient): the VJP is batch
// norm's three-term formula with gamma * r in place of gamma, and
//   dgamma += sum dy * (r * xhat + d),   dbeta += sum dy.
// rmax = 1, dmax = 0 is batch norm exactly. The limits follow a schedule over training steps
// (renorm_schedule, set by the network's set_renorm_schedule; fit tells the layers the step with
// set_train_step): plain batch norm for the first `start` steps, then rmax rises linearly to its
// final value by step rmax_end and dmax by step dmax_end (the paper's ImageNet ramp by default:
// 5k, 40k, 25k steps to rmax 3, dmax 5).
// Running statistics: as batch_norm's, the mean and the variance with Bessel's correction
// (var_B * n / (n - 1)), momentum 0.1 (the paper averages sigma itself; ours keeps what eval mode
// needs in the form every other typenet layer and PyTorch keep). Eval mode is batch_norm's:
// y = gamma * (x - running_mean) / sigma + beta.
#pragma once

#include <algorithm>
#include <cmath>
#include <ratio>
#include <vector>

#include "typenet/layers/batch_norm.hpp"

namespace typenet {

namespace detail {

template <class T, std::size_t C, std::size_t Spatial>
class batch_renorm_core : public batch_norm_core<T, C, Spatial> {
    using base = batch_norm_core<T, C, Spatial>;

public:
    // Per group of samples (one group: the batch) and channel: the statistics and r, d.
    struct saved : base::saved {
        std::vector<T> r, d;
    };

    void forward(std::string_view who, double eps, std::size_t batch, const T* x, T* y, saved& s, bool relu = false,
                 const double* run_stats = nullptr, const T* addend = nullptr) {
        const auto g = base::statistics(who, eps, batch, x, s, run_stats);
        const std::size_t n = g.sample_groups() * C;
        s.r.resize(n), s.d.resize(n);
        const auto [rmax, dmax] = schedule_.at(step_);
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t c = k % C;
            const double sigma = std::sqrt(double(this->running_var_[c]) + eps);
            const double sigma_b = std::sqrt(double(this->group_var_[k]) + eps);
            s.r[k] = T(std::clamp(sigma_b / sigma, 1.0 / rmax, rmax));
            s.d[k] = T(std::clamp((double(s.mean[k]) - double(this->running_mean_[c])) / sigma, -dmax, dmax));
        }
        affine(s);
        kernels::norm_apply<T>(g, x, s.mean.data(), s.istd.data(), scale_.data(), shift_.data(), true, addend, relu, y);
        base::update_running(g, s.mean.data(), this->group_var_.data());
    }
    void backward(std::size_t batch, const T* x, const T* dy, T* dx, const saved& s, bool relu = false) {
        const auto g = base::statistics_geometry(batch, s.group);
        const std::size_t n = s.r.size();
        affine(s);
        sum_xhat_.assign(n, T(0));
        sum_dy_.assign(n, T(0));
        kernels::norm_backward<T>(g, x, s.mean.data(), s.istd.data(), scale_.data(), shift_.data(), true, relu, dy, dx,
                                  sum_xhat_.data(), sum_dy_.data(), s.synced ? this->sync_ : nullptr);
        for (std::size_t c = 0; c < C; ++c) {
            double dg = 0, db = 0;
            for (std::size_t k = c; k < n; k += C) {
                dg += double(s.r[k]) * double(sum_xhat_[k]) + double(s.d[k]) * double(sum_dy_[k]);
                db += double(sum_dy_[k]);
            }
            this->gamma_grad_[c] += T(dg);
            this->beta_grad_[c] += T(db);
        }
    }

    void set_renorm_schedule(const renorm_schedule& r) {
        if (!(r.rmax >= 1.0) || !(r.dmax >= 0.0))
            throw std::invalid_argument("batch_renorm: the clipping limits need rmax >= 1 and dmax >= 0, got rmax " +
                                        std::to_string(r.rmax) + ", dmax " + std::to_string(r.dmax));
        schedule_ = r;
    }
    const renorm_schedule& schedule() const { return schedule_; }
    void set_train_step(std::size_t step) { step_ = step; }

private:
    // gamma * r and gamma * d + beta per group and channel: norm_apply's affine.
    void affine(const saved& s) {
        scale_.resize(s.r.size());
        shift_.resize(s.r.size());
        for (std::size_t k = 0; k < s.r.size(); ++k) {
            const std::size_t c = k % C;
            scale_[k] = this->gamma_[c] * s.r[k];
            shift_[k] = this->gamma_[c] * s.d[k] + this->beta_[c];
        }
    }

    renorm_schedule schedule_{};
    std::size_t step_ = 0;
    std::vector<T> scale_, shift_, sum_xhat_, sum_dy_;
};

}  // namespace detail

template <class Eps = std::ratio<1, 100000>>
struct batch_renorm : detail::norm_spec_base<batch_renorm<Eps>, Eps> {
    template <class T, std::size_t C, std::size_t Spatial> using core = detail::batch_renorm_core<T, C, Spatial>;
    static constexpr std::string_view kind = "batch_renorm";
    static constexpr std::string_view conv_kind = "conv_brn";
};

}  // namespace typenet
