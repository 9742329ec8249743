// typenet/layers/conv_norm.hpp - the conv -> normalisation -> ReLU block as one layer.
//
//   conv_norm<InC, OutC, K, S, Padding, Norm = batch_norm<>, Activation = relu>
//   conv_bn<InC, OutC, K, S, Padding, Activation = relu, Eps = std::ratio<1, 100000>>
//       = conv_norm with batch_norm<Eps> (a type of its own, so that errors and summaries say conv_bn)
//
// Norm is any normalisation spec that provides a core for conv_norm (batch_norm, batch_renorm,
// group_norm<G>, layer_norm, instance_norm: see "Normalisation specs" in layer.hpp). Activation is relu
// (conv -> norm -> ReLU, the default) or identity (conv -> norm, as the last layer of a residual
// block's main branch and in a projection shortcut: the ReLU comes after the sum).
// The convolution has no bias: every normalisation here subtracts a mean over whole channels
// (per channel, or per group of channels), so a bias before it would cancel exactly
// (tests/test_batch_norm.cpp shows it for batch norm). Tensors: weight (OutC, InC, K, K), gamma,
// beta (parameters); batch norm's running_mean, running_var (state). Kind (the middle part of
// every tensor name): conv_bn, conv_brn, conv_gn, conv_ln, conv_in.
// The VJP composes the three pieces: relu mask, the normalisation's VJP, then the
// convolution's VJP (the mask is recomputed from z, gamma and beta as the forward computed y,
// so backward reads z and dy but not y). Normalisation and ReLU run as one fused kernel each way
// (kernels::norm_apply / norm_backward with relu): one pass over the activations fewer in each
// direction. The convolution hands the normalisation its per-plane statistics (one pass fewer).
// Memory: forward saves the convolution's output z (the normalisation's input: backward
// recomputes xhat from it) in saved_type, one activation-sized buffer. Given dy as scratch (the
// rvalue overload, layer.hpp) backward computes dL/dz in place in dy and needs nothing more;
// infer() normalises in place on the convolution's output in y.
#pragma once

#include <vector>

#include "typenet/layers/batch_norm.hpp"
#include "typenet/layers/batch_renorm.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/group_norm.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class conv_norm_layer;
}

namespace detail {

template <class Norm>
concept conv_norm_spec = requires {
    typename Norm::template core<float, 1, 1>;
    { Norm::conv_kind } -> std::convertible_to<std::string_view>;
    { Norm::eps } -> std::convertible_to<double>;
};

// What conv_norm and conv_bn share; Self is the spec type that errors and summaries name.
template <class Self, std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding, class Norm,
          class Activation>
struct conv_norm_base {
    static_assert(conv_norm_spec<Norm>,
                  "typenet: conv_norm's sixth argument is the normalisation: typenet::batch_norm<>, "
                  "batch_renorm<>, group_norm<G>, layer_norm<> or instance_norm<>");
    static_assert(activation<Activation>,
                  "typenet: the activation after the normalisation is typenet::relu (the default) or "
                  "typenet::identity");
    using conv_spec = conv2d<InC, OutC, K, S, Padding, identity, no_bias>;
    using norm_spec = Norm;
    using activation_type = Activation;
    static constexpr bool relu_after = std::is_same_v<Activation, relu>;
    static constexpr std::string_view kind = Norm::conv_kind;

    template <class Where, class In> static consteval bool check() {
        if constexpr (!check_spatial<Where, Self, In, InC, K, S, conv_spec::same_padding>()) return false;
        else return Norm::template check<Where, typename conv_spec::template output_shape<In>>();
    }
    template <class In> using output_shape = typename conv_spec::template output_shape<In>;
    template <class T, class In> using bind = conv_norm_layer<T, Self, In>;
    static std::vector<std::string> conv_args() {
        return {std::to_string(InC), std::to_string(OutC), std::to_string(K), std::to_string(S),
                std::string(tag_name<Padding>())};
    }
};

}  // namespace detail

template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding,
          class Norm = batch_norm<>, class Activation = relu>
struct conv_norm
    : detail::conv_norm_base<conv_norm<InC, OutC, K, S, Padding, Norm, Activation>, InC, OutC, K, S, Padding, Norm,
                             Activation> {
    static std::string describe() {
        auto args = conv_norm::conv_args();
        args.push_back(Norm::describe());
        if constexpr (!conv_norm::relu_after) args.push_back(std::string(detail::tag_name<Activation>()));
        return detail::join_args("conv_norm", args);
    }
};

template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding,
          class Activation = relu, class Eps = std::ratio<1, 100000>>
struct conv_bn : detail::conv_norm_base<conv_bn<InC, OutC, K, S, Padding, Activation, Eps>, InC, OutC, K, S, Padding,
                                        batch_norm<Eps>, Activation> {
    using eps_ratio = typename batch_norm<Eps>::eps_ratio;
    static std::string describe() {
        auto args = conv_bn::conv_args();
        if constexpr (!conv_bn::relu_after) args.push_back(std::string(detail::tag_name<Activation>()));
        for (auto& e : batch_norm<Eps>::eps_args()) args.push_back(std::move(e));
        return detail::join_args("conv_bn", args);
    }
};

// No normalisation: in conv_then_norm, a convolution with a bias (conv2d) in place of conv_norm.
struct no_norm {
    static std::string describe() { return "no_norm"; }
};

namespace detail {
template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding, class Norm, class Activation>
struct conv_then_norm_impl {
    using type = conv_norm<InC, OutC, K, S, Padding, Norm, Activation>;
};
template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding, class Eps, class Activation>
struct conv_then_norm_impl<InC, OutC, K, S, Padding, batch_norm<Eps>, Activation> {
    using type = conv_bn<InC, OutC, K, S, Padding, Activation, Eps>;
};
template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding, class Activation>
struct conv_then_norm_impl<InC, OutC, K, S, Padding, no_norm, Activation> {
    using type = conv2d<InC, OutC, K, S, Padding, Activation>;
};
}  // namespace detail

// The convolution block of a network whose normalisation is a type parameter (the model
// templates, basic_block): conv_bn for batch_norm<Eps> (the same type as written by hand, so
// summaries and checkpoint names stay conv_bn), conv2d with a bias for no_norm, conv_norm otherwise.
template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding, class Norm,
          class Activation = relu>
using conv_then_norm = typename detail::conv_then_norm_impl<InC, OutC, K, S, Padding, Norm, Activation>::type;

namespace detail {

template <class T, class Spec, class In>
class conv_norm_layer {
    using conv_type = conv2d_layer<T, typename Spec::conv_spec, In>;

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = typename conv_type::output_shape;
    using norm_type =
        typename Spec::norm_spec::template core<T, output_shape::dims[0], output_shape::dims[1] * output_shape::dims[2]>;
    static_assert(Spec::norm_spec::eps > 0, "typenet: conv_norm needs eps > 0 (bound outside a network, the shape "
                                          "scan did not check it)");
    struct saved_type {
        typename norm_type::saved norm;  // the statistics (batch norm: batch mean and 1/std per channel)
        tensor<T, output_shape> z;  // the convolution's output: the normalisation's input
    };

    static constexpr std::string_view kind = Spec::kind;
    static constexpr std::size_t parameter_count = conv_type::parameter_count + 2 * output_shape::dims[0];
    static constexpr std::size_t state_count = norm_type::state_count;
    static constexpr std::size_t forward_flops = conv_type::forward_flops;
    static std::string describe() { return Spec::describe(); }

    // The convolution hands the normalisation the statistics of its output planes, computed while each
    // plane is in cache (where the fast kernels run: one pass over z fewer, same results).
    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type& s) {
        s.z.resize(x.batch());
        run_stats_.resize(2 * x.batch() * output_shape::dims[0]);
        const bool have = conv_.forward_bn_stats(x, s.z, run_stats_.data());
        norm_.forward(kind, Spec::norm_spec::eps, x.batch(), s.z.data(), y.data(), s.norm, Spec::relu_after,
                    have ? run_stats_.data() : nullptr);
    }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        conv_.infer(x, y);
        norm_.infer(Spec::norm_spec::eps, x.batch(), y.data(), y.data(), Spec::relu_after);  // in place
    }
    // The last layer of a residual block's main branch (layer.hpp's forward_add): batch norm's
    // normalisation writes act(batch norm + a), one pass over memory instead of two. Only
    // without an activation of its own (the block's comes after the sum).
    void forward_add(const tensor<T, In>& x, const T* a, bool relu, tensor<T, output_shape>& y, saved_type& s)
        requires(!Spec::relu_after)
    {
        s.z.resize(x.batch());
        run_stats_.resize(2 * x.batch() * output_shape::dims[0]);
        const bool have = conv_.forward_bn_stats(x, s.z, run_stats_.data());
        norm_.forward(kind, Spec::norm_spec::eps, x.batch(), s.z.data(), y.data(), s.norm, relu,
                    have ? run_stats_.data() : nullptr, a);
    }
    void infer_add(const tensor<T, In>& x, const T* a, bool relu, tensor<T, output_shape>& y) const
        requires(!Spec::relu_after)
    {
        conv_.infer(x, y);
        norm_.infer(Spec::norm_spec::eps, x.batch(), y.data(), y.data(), relu, a);  // in place
    }
    // y is not read, not even its size (after forward_add it is a view of the block's output,
    // dropped when the network's tape is moved: layer.hpp).
    // dL/dz (z: the conv output) is the ReLU mask (y > 0) and the batch-norm VJP in one fused
    // kernel, xhat and the mask recomputed from the saved z (only read, so backward can be repeated); then
    // the convolution's VJP from dL/dz (its activation is the identity: its y is not read).
    void backward(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, const tensor<T, output_shape>& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        dz_.resize(dy.batch());
        norm_.backward(dy.batch(), s.z.data(), dy.data(), dz_.data(), s.norm, Spec::relu_after);
        conv_.backward(x, dz_, std::move(dz_), dx, nothing_saved{});
    }
    // dy is scratch (layer.hpp): dL/dz overwrites it.
    void backward(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, tensor<T, output_shape>&& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        norm_.backward(dy.batch(), s.z.data(), dy.data(), dy.data(), s.norm, Spec::relu_after);
        conv_.backward(x, dy, std::move(dy), dx, nothing_saved{});
    }
    // dx += the VJP's dx (the residual fan-in: layer.hpp's backward_add); dy is scratch.
    void backward_add(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, tensor<T, output_shape>&& dy,
                      tensor<T, In>& dx, const saved_type& s) {
        norm_.backward(dy.batch(), s.z.data(), dy.data(), dy.data(), s.norm, Spec::relu_after);
        conv_.backward_add(x, dy, std::move(dy), dx, nothing_saved{});
    }
    void backward_params(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, tensor<T, output_shape>&& dy,
                         const saved_type& s) {
        norm_.backward(dy.batch(), s.z.data(), dy.data(), dy.data(), s.norm, Spec::relu_after);
        conv_.backward_params(x, dy, std::move(dy), nothing_saved{});
    }

    void initialize(rng& g) {
        conv_.initialize(g);
        norm_.reset();
    }
    template <class F> void for_each_parameter(F&& f) {
        conv_.for_each_parameter(f);
        norm_.for_each_parameter(f);
    }
    template <class F> void for_each_state(F&& f) { norm_.for_each_state(f); }

    conv_type& conv() { return conv_; }
    norm_type& norm() { return norm_; }
    // Batch norm's hooks (the network's set_bn_momentum, set_bn_group, set_bn_sync); the per-sample norms have none.
    void set_bn_momentum(double m)
        requires requires(norm_type& n) { n.set_bn_momentum(m); }
    {
        norm_.set_bn_momentum(m);
    }
    void set_bn_group(std::size_t n)
        requires requires(norm_type& nt) { nt.set_bn_group(n); }
    {
        norm_.set_bn_group(n);
    }
    void set_bn_sync(kernels::norm_sync* sync)
        requires requires(norm_type& nt) { nt.set_bn_sync(sync); }
    {
        norm_.set_bn_sync(sync);
    }
    // Batch renormalisation's (batch_renorm.hpp).
    void set_renorm_schedule(const renorm_schedule& r)
        requires requires(norm_type& nt) { nt.set_renorm_schedule(r); }
    {
        norm_.set_renorm_schedule(r);
    }
    void set_train_step(std::size_t step)
        requires requires(norm_type& nt) { nt.set_train_step(step); }
    {
        norm_.set_train_step(step);
    }

private:
    conv_type conv_;
    norm_type norm_;
    tensor<T, output_shape> dz_;  // dL/d(conv output), const-dy backward only
    std::vector<double> run_stats_;  // per (image, channel): sum and centred sum of squares of z
};

}  // namespace detail
}  // namespace typenet
