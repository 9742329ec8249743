// typenet/layers/pool.hpp - max_pool, avg_pool (valid windows) and global_avg_pool.
//
//   max_pool<Window, Stride = Window>, avg_pool<Window, Stride = Window>
//       shape<C, H, W> -> shape<C, (H - Window) / Stride + 1, (W - Window) / Stride + 1>;
//       Window <= H, W and (H - Window), (W - Window) divisible by Stride (checked while compiling).
//   global_avg_pool
//       shape<C, H, W> -> shape<C> (already flat: a dense layer may follow directly).
#pragma once

#include "typenet/layers/common.hpp"

namespace typenet {

namespace detail {
template <class T, class Spec, class In> class window_pool_layer;
template <class T, class In> class global_avg_pool_layer;
}  // namespace detail

namespace detail {
// The spec shared by max_pool and avg_pool; Self is the user-facing type, so that errors and
// summaries name max_pool<2, 2> rather than this helper.
template <class Self, std::size_t Window, std::size_t Stride, bool IsMax>
struct window_pool_spec {
    static_assert(Window >= 1 && Stride >= 1, "typenet: a pooling window and stride must be at least 1");
    static constexpr std::size_t window = Window, stride = Stride;
    static constexpr bool is_max = IsMax;
    template <class Where, class In> static consteval bool check() {
        return check_spatial<Where, Self, In, 0, Window, Stride, false>();
    }
    template <class In>
    using output_shape = shape<channels_of<In>, conv_out(height_of<In>, Window, Stride, false),
                               conv_out(width_of<In>, Window, Stride, false)>;
    template <class T, class In> using bind = window_pool_layer<T, Self, In>;
    static std::string describe() {
        return join_args(IsMax ? "max_pool" : "avg_pool", {std::to_string(Window), std::to_string(Stride)});
    }
};
}  // namespace detail

template <std::size_t Window, std::size_t Stride = Window>
struct max_pool : detail::window_pool_spec<max_pool<Window, Stride>, Window, Stride, true> {};
template <std::size_t Window, std::size_t Stride = Window>
struct avg_pool : detail::window_pool_spec<avg_pool<Window, Stride>, Window, Stride, false> {};

struct global_avg_pool {
    template <class Where, class In> static consteval bool check() {
        return detail::check_spatial<Where, global_avg_pool, In, 0, 1, 1, false>();
    }
    template <class In> using output_shape = shape<channels_of<In>>;
    template <class T, class In> using bind = detail::global_avg_pool_layer<T, In>;
    static std::string describe() { return "global_avg_pool"; }
};

namespace detail {

template <class T, class Spec, class In>
class window_pool_layer {
public:
    using value_type = T;
    using input_shape = In;
    using output_shape = typename Spec::template output_shape<In>;
    struct max_saved {
        std::vector<std::uint32_t> argmax;  // per output element: index of the winner in its input plane
    };
    using saved_type = std::conditional_t<Spec::is_max, max_saved, nothing_saved>;

    static constexpr std::string_view kind = Spec::is_max ? "max_pool" : "avg_pool";
    static constexpr std::size_t parameter_count = 0, state_count = 0, forward_flops = 0;
    static std::string describe() { return Spec::describe(); }

    static kernels::pool_geometry geometry(std::size_t batch) {
        return {batch, In::dims[0], In::dims[1], In::dims[2], output_shape::dims[1], output_shape::dims[2],
                Spec::window, Spec::stride};
    }
    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type& s) {
        if constexpr (Spec::is_max) {
            s.argmax.resize(y.size());
            kernels::max_pool_forward<T>(geometry(x.batch()), x.data(), y.data(), s.argmax.data());
        } else {
            kernels::avg_pool_forward<T>(geometry(x.batch()), x.data(), y.data());
        }
    }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        if constexpr (Spec::is_max) kernels::max_pool_infer<T>(geometry(x.batch()), x.data(), y.data());
        else kernels::avg_pool_forward<T>(geometry(x.batch()), x.data(), y.data());
    }
    // max: the gradient goes to the window's maximum (the first one on ties); avg: spread evenly.
    void backward(const tensor<T, In>&, const tensor<T, output_shape>&, const tensor<T, output_shape>& dy,
                  tensor<T, In>& dx, const saved_type& s) {
        if constexpr (Spec::is_max)
            kernels::max_pool_backward<T>(geometry(dy.batch()), dy.data(), s.argmax.data(), dx.data());
        else
            kernels::avg_pool_backward<T>(geometry(dy.batch()), dy.data(), dx.data());
    }
    void initialize(rng&) {}
    template <class F> void for_each_parameter(F&&) {}
    template <class F> void for_each_state(F&&) {}
};

template <class T, class In>
class global_avg_pool_layer {
public:
    using value_type = T;
    using input_shape = In;
    using output_shape = shape<In::dims[0]>;
    using saved_type = nothing_saved;
    static constexpr std::string_view kind = "global_avg_pool";
    static constexpr std::size_t parameter_count = 0, state_count = 0, forward_flops = 0;
    static constexpr std::size_t C = In::dims[0], plane = In::dims[1] * In::dims[2];
    static std::string describe() { return "global_avg_pool"; }

    void forward(const tensor<T, In>& x, tensor<T, output_shape>& y, saved_type&) { infer(x, y); }
    void infer(const tensor<T, In>& x, tensor<T, output_shape>& y) const {
        for (std::size_t bc = 0; bc < x.batch() * C; ++bc) {
            T acc = 0;
            for (std::size_t i = 0; i < plane; ++i) acc += x.data()[bc * plane + i];
            y.data()[bc] = acc / T(plane);
        }
    }
    void backward(const tensor<T, In>&, const tensor<T, output_shape>&, const tensor<T, output_shape>& dy,
                  tensor<T, In>& dx, const saved_type&) {
        for (std::size_t bc = 0; bc < dy.batch() * C; ++bc) {
            const T d = dy.data()[bc] / T(plane);
            std::fill(dx.data() + bc * plane, dx.data() + (bc + 1) * plane, d);
        }
    }
    void initialize(rng&) {}
    template <class F> void for_each_parameter(F&&) {}
    template <class F> void for_each_state(F&&) {}
};

}  // namespace detail
}  // namespace typenet
