// typenet/layers/group_norm.hpp - normalisation per sample: group, layer and instance norm.
//
//   group_norm<G, Eps = std::ratio<1, 100000>>   statistics per sample over each of G groups of
//                                                C / G consecutive channels (Wu and He 2018);
//                                                G must divide C: a compile error otherwise
//   layer_norm<Eps = ...>                        one group: statistics per sample over all of
//                                                (C, H, W) (Ba et al. 2016)
//   instance_norm<Eps = ...>                     C groups: statistics per sample and channel over
//                                                (H, W) (Ulyanov et al. 2016); C, H, W inputs only
//
// On a C, H, W input, per sample b and group g of m = (C / G) * H * W values:
//   mean = sum x / m,  var = sum (x - mean)^2 / m  (biased),  istd = 1 / sqrt(var + eps)
//   xhat = (x - mean) * istd,  y = gamma_c * xhat + beta_c   (gamma, beta per CHANNEL)
// This is PyTorch's nn.GroupNorm(G, C, eps) exactly; layer_norm is nn.GroupNorm(1, C), which
// differs from nn.LayerNorm([C, H, W]) only in its affine part: LayerNorm([C, H, W]) has a gamma and
// a beta per element (C * H * W of each), ours one per channel (so it stays a convolutional
// layer: the same scale at every position). instance_norm is nn.GroupNorm(C, C), i.e.
// nn.InstanceNorm2d(C, affine=True) without running statistics. On a flat input shape<N> the N
// features are the channels (spatial size 1): layer_norm is nn.LayerNorm(N), group_norm<G> splits
// the N features into G groups.
// No running statistics: train and eval mode compute the same thing, each sample's output depends
// only on that sample, and batch 1 works in train mode.
// Backward, per sample and group, with dxhat = gamma_c * dy:
//   dx = istd / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
//   dgamma_c += sum over the batch and positions of dy * xhat,  dbeta_c += sum of dy
// (batch norm's three-term formula with the sums over the group instead of the batch, and gamma
// inside them because it varies within a group). Derivation: docs/batch-norm.md.
#pragma once

#include <ratio>
#include <string>
#include <vector>

#include "typenet/layers/batch_norm.hpp"

namespace typenet {

namespace detail {


// The arithmetic of per-sample normalisation over groups of CG consecutive channels of a
// (batch, C, Spatial) buffer, shared by group_norm, layer_norm, instance_norm and conv_norm. The
// same interface as batch_norm_core (forward, infer, backward with the fused ReLU and the
// residual addend), so that conv_norm takes either.
template <class T, std::size_t C, std::size_t Spatial, std::size_t CG>
class group_norm_core {
    static_assert(CG > 0 && C % CG == 0, "typenet: group_norm_core needs the group size to divide the channels");

public:
    static constexpr std::size_t groups = C / CG;
    static constexpr std::size_t state_count = 0;  // no running statistics
    // Per sample and group: mean and istd (backward recomputes xhat from the forward's input).
    struct saved {
        std::vector<T> mean, istd;
    };

    group_norm_core() : gamma_(zeros<T>(C)), beta_(gamma_), gamma_grad_(gamma_), beta_grad_(gamma_) { reset(); }
    void reset() {
        gamma_.fill(T(1));
        beta_.fill(T(0));
    }

    static kernels::norm_geometry geometry(std::size_t batch) { return {batch, C, Spatial, 1, CG}; }

    // As batch_norm_core::forward; any batch size works (the statistics are per sample).
    void forward(std::string_view /*who*/, double eps, std::size_t batch, const T* x, T* y, saved& s,
                 bool relu = false, const double* run_stats = nullptr, const T* addend = nullptr) {
        s.mean.resize(batch * groups);
        s.istd.resize(batch * groups);
        var_.resize(batch * groups);
        const auto g = geometry(batch);
        kernels::norm_statistics<T>(g, x, eps, s.mean.data(), var_.data(), s.istd.data(), run_stats);
        kernels::norm_apply<T>(g, x, s.mean.data(), s.istd.data(), gamma_.data(), beta_.data(), false, addend, relu, y);
    }
    // Eval mode: the same computation as train mode (no running statistics).
    void infer(double eps, std::size_t batch, const T* x, T* y, bool relu = false, const T* addend = nullptr) const {
        std::vector<T> mean(batch * groups), var(batch * groups), istd(batch * groups);
        const auto g = geometry(batch);
        kernels::norm_statistics<T>(g, x, eps, mean.data(), var.data(), istd.data());
        kernels::norm_apply<T>(g, x, mean.data(), istd.data(), gamma_.data(), beta_.data(), false, addend, relu, y);
    }
    // x: the forward's input; gamma, beta unchanged since. dx may equal dy or x.
    void backward(std::size_t batch, const T* x, const T* dy, T* dx, const saved& s, bool relu = false) {
        kernels::norm_backward<T>(geometry(batch), x, s.mean.data(), s.istd.data(), gamma_.data(), beta_.data(), false,
                                  relu, dy, dx, gamma_grad_.data(), beta_grad_.data());
    }

    template <class F> void for_each_parameter(F&& f) {
        f(parameter_view<T>{"gamma", {gamma_.data(), C}, {gamma_grad_.data(), C}, gamma_.shape(),
                            parameter_role::norm_scale});
        f(parameter_view<T>{"beta", {beta_.data(), C}, {beta_grad_.data(), C}, beta_.shape(),
                            parameter_role::norm_shift});
    }
    template <class F> void for_each_state(F&&) {}

    xt::xtensor<T, 1>& gamma() { return gamma_; }
    xt::xtensor<T, 1>& beta() { return beta_; }

private:
    xt::xtensor<T, 1> gamma_, beta_, gamma_grad_, beta_grad_;
    std::vector<T> var_;
};

template <class Spec, std::size_t C> inline constexpr std::size_t channels_per_group = C / Spec::template groups<C>;

// What group_norm, layer_norm and instance_norm share: Groups(C) is the number of groups for C
// channels (0: the spec's G does not divide C), Name its spelling.
template <class Derived, class Eps>
struct per_sample_norm_spec : norm_spec_base<Derived, Eps> {
    // The core for C channels of Spatial values (conv_norm uses it).
    template <class T, std::size_t C, std::size_t Spatial>
    using core = group_norm_core<T, C, Spatial, channels_per_group<Derived, C>>;
};

}  // namespace detail

template <std::size_t G, class Eps = std::ratio<1, 100000>>
struct group_norm : detail::per_sample_norm_spec<group_norm<G, Eps>, Eps> {
    static constexpr std::string_view kind = "group_norm";
    static constexpr std::string_view conv_kind = "conv_gn";
    // Clamped to a divisor so that the types stay well-formed before check() reports the error.
    template <std::size_t C> static constexpr std::size_t groups = (G > 0 && C % G == 0) ? G : 1;

    template <class Where, class In> static consteval bool check() {
        if constexpr (!detail::check_eps<Where, group_norm, In>()) {
            return false;
        } else if constexpr (G == 0 || In::dims[0] % G != 0) {
            (void)error::reported<error::groups_must_divide_channels<Where, group_norm,
                                                                     error::expects<error::channels_divisible_by<G>>,
                                                                     error::got<In>>>;
            return false;
        } else {
            return true;
        }
    }
    static std::string describe() { return group_norm::spelled({std::to_string(G)}); }
};

template <class Eps = std::ratio<1, 100000>>
struct layer_norm : detail::per_sample_norm_spec<layer_norm<Eps>, Eps> {
    static constexpr std::string_view kind = "layer_norm";
    static constexpr std::string_view conv_kind = "conv_ln";
    template <std::size_t C> static constexpr std::size_t groups = 1;

};

template <class Eps = std::ratio<1, 100000>>
struct instance_norm : detail::per_sample_norm_spec<instance_norm<Eps>, Eps> {
    static constexpr std::string_view kind = "instance_norm";
    static constexpr std::string_view conv_kind = "conv_in";
    template <std::size_t C> static constexpr std::size_t groups = C;

    template <class Where, class In> static consteval bool check() {
        if constexpr (In::rank != 3) {
            (void)error::reported<error::needs_spatial_input<Where, instance_norm, error::expects<error::c_h_w_feature_map>,
                                                             error::got<In>>>;
            return false;
        } else {
            return detail::check_eps<Where, instance_norm, In>();
        }
    }
};

}  // namespace typenet
