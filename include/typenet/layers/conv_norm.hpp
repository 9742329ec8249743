// typenet/layers/conv_bn.hpp - the conv -> batch norm -> ReLU block as one layer.
//
//   conv_bn<InC, OutC, K, S, Padding, Activation = relu, Eps = std::ratio<1, 100000>>
//
// Activation is relu (conv -> BN -> ReLU, the default) or identity (conv -> BN, as the last
// layer of a residual block's main branch and in a projection shortcut: the ReLU comes after
// the sum).
// The convolution has no bias: batch norm subtracts the per-channel mean, so a bias before
// it would cancel exactly (tests/test_batch_norm.cpp shows it). Tensors: weight
// (OutC, InC, K, K), gamma, beta (parameters); running_mean, running_var (state).
// The VJP composes the three pieces: relu mask, the three-term batch-norm VJP, then the
// convolution's VJP (the mask is recomputed from z, gamma and beta as the forward computed y,
// so backward reads z and dy but not y). Batch norm and ReLU run as one fused kernel each way
// (kernels::batch_norm_relu_forward_train / batch_norm_backward_from_input): one pass over
// the activations fewer in each direction.
// Memory: forward saves the convolution's output z (batch norm's input: backward recomputes
// xhat from it) in saved_type, one activation-sized buffer. Given dy as scratch (the rvalue
// overload, layer.hpp) backward computes dL/dz in place in dy and needs nothing more; infer()
// runs batch norm in place on the convolution's output in y.
#pragma once

#include <vector>

#include "typenet/layers/batch_norm.hpp"
#include "typenet/layers/conv2d.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class conv_bn_layer;
}

template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t S, class Padding,
          class Activation = relu, class Eps = std::ratio<1, 100000>>
struct conv_bn {
    static_assert(detail::activation<Activation>,
                  "typenet: conv_bn's sixth argument is the activation after batch norm: typenet::relu "
                  "(the default) or typenet::identity; the seventh is eps");
    using conv_spec = conv2d<InC, OutC, K, S, Padding, identity, no_bias>;
    using bn_spec = batch_norm<Eps>;
    using activation_type = Activation;
    static constexpr bool relu_after = std::is_same_v<Activation, relu>;

    template <class Where, class In> static consteval bool check() {
        if constexpr (!detail::check_spatial<Where, conv_bn, In, InC, K, S, conv_spec::same_padding>()) return false;
        else return detail::check_eps<Where, conv_bn, In>();
    }
    using eps_ratio = typename bn_spec::eps_ratio;
    template <class In> using output_shape = typename conv_spec::template output_shape<In>;
    template <class T, class In> using bind = detail::conv_bn_layer<T, conv_bn, In>;
    static std::string describe() {
        std::string s = detail::join_args("conv_bn", {std::to_string(InC), std::to_string(OutC), std::to_string(K),
                                                      std::to_string(S), std::string(detail::tag_name<Padding>())});
        if constexpr (!relu_after) s.insert(s.size() - 1, ", " + std::string(detail::tag_name<Activation>()));
        if constexpr (!std::is_same_v<eps_ratio, std::ratio<1, 100000>>)
            s.insert(s.size() - 1, ", eps=" + std::to_string(eps_ratio::num) + "/" + std::to_string(eps_ratio::den));
        return s;
    }
};

namespace detail {

template <class T, class Spec, class In>
class conv_bn_layer {
    using conv_type = conv2d_layer<T, typename Spec::conv_spec, In>;

public:
    using value_type = T;
    using input_shape = In;
    using output_shape = typename conv_type::output_shape;
    using bn_type = batch_norm_core<T, output_shape::dims[0], output_shape::dims[1] * output_shape::dims[2]>;
    static_assert(Spec::bn_spec::eps > 0, "typenet: conv_bn needs eps > 0 (bound outside a network, the shape "
                                          "scan did not check it)");
    struct saved_type {
        typename bn_type::saved bn;  // batch mean and 1/std per channel
        tensor<T, output_shape> z;   // the convolution's output: batch norm's input
    };

    static constexpr std::string_view kind = "conv_bn";
    static constexpr std::size_t parameter_count = conv_type::parameter_count + 2 * output_shape::dims[0];
    static constexpr std::size_t state_count = 2 * output_shape::dims[0];
    static constexpr std::size_t forward_flops = conv_type::forward_flops;
    static std::string describe() { return Spec::describe(); }

    // The convolution hands batch norm the statistics of its output planes, computed while each
    // plane is in cache (where the fast kernels run: one pass over z fewer, same results).
    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type& s) {
        s.z.resize(x.batch());
        run_stats_.resize(2 * x.batch() * output_shape::dims[0]);
        const bool have = conv_.forward_bn_stats(x, s.z, run_stats_.data());
        bn_.forward("conv_bn", Spec::bn_spec::eps, x.batch(), s.z.data(), y.data(), s.bn, Spec::relu_after,
                    have ? run_stats_.data() : nullptr);
    }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        conv_.infer(x, y);
        bn_.infer(Spec::bn_spec::eps, x.batch(), y.data(), y.data(), Spec::relu_after);  // in place
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
        bn_.forward("conv_bn", Spec::bn_spec::eps, x.batch(), s.z.data(), y.data(), s.bn, relu,
                    have ? run_stats_.data() : nullptr, a);
    }
    void infer_add(const tensor<T, In>& x, const T* a, bool relu, tensor<T, output_shape>& y) const
        requires(!Spec::relu_after)
    {
        conv_.infer(x, y);
        bn_.infer(Spec::bn_spec::eps, x.batch(), y.data(), y.data(), relu, a);  // in place
    }
    // y is not read, not even its size (after forward_add it is a view of the block's output,
    // dropped when the network's tape is moved: layer.hpp).
    // dL/dz (z: the conv output) is the ReLU mask (y > 0) and the batch-norm VJP in one fused
    // kernel, xhat and the mask recomputed from the saved z (only read, so backward can be repeated); then
    // the convolution's VJP from dL/dz (its activation is the identity: its y is not read).
    void backward(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, const tensor<T, output_shape>& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        dz_.resize(dy.batch());
        bn_.backward(dy.batch(), s.z.data(), dy.data(), dz_.data(), s.bn, Spec::relu_after);
        conv_.backward(x, dz_, std::move(dz_), dx, nothing_saved{});
    }
    // dy is scratch (layer.hpp): dL/dz overwrites it.
    void backward(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, tensor<T, output_shape>&& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        bn_.backward(dy.batch(), s.z.data(), dy.data(), dy.data(), s.bn, Spec::relu_after);
        conv_.backward(x, dy, std::move(dy), dx, nothing_saved{});
    }
    // dx += the VJP's dx (the residual fan-in: layer.hpp's backward_add); dy is scratch.
    void backward_add(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, tensor<T, output_shape>&& dy,
                      tensor<T, In>& dx, const saved_type& s) {
        bn_.backward(dy.batch(), s.z.data(), dy.data(), dy.data(), s.bn, Spec::relu_after);
        conv_.backward_add(x, dy, std::move(dy), dx, nothing_saved{});
    }
    void backward_params(const tensor<T, In>& x, const tensor<T, output_shape>& /*y*/, tensor<T, output_shape>&& dy,
                         const saved_type& s) {
        bn_.backward(dy.batch(), s.z.data(), dy.data(), dy.data(), s.bn, Spec::relu_after);
        conv_.backward_params(x, dy, std::move(dy), nothing_saved{});
    }

    void initialize(rng& g) {
        conv_.initialize(g);
        bn_.reset();
    }
    template <class F> void for_each_parameter(F&& f) {
        conv_.for_each_parameter(f);
        bn_.for_each_parameter(f);
    }
    template <class F> void for_each_state(F&& f) { bn_.for_each_state(f); }

    conv_type& conv() { return conv_; }
    bn_type& bn() { return bn_; }
    void set_momentum(double m) { bn_.set_momentum(m); }

private:
    conv_type conv_;
    bn_type bn_;
    tensor<T, output_shape> dz_;  // dL/d(conv output), const-dy backward only
    std::vector<double> run_stats_;  // per (image, channel): sum and centred sum of squares of z
};

}  // namespace detail
}  // namespace typenet
