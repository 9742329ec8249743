// src/kernels/optim.cpp - the public optimizer updates (kernels.hpp: sgd_update, adam_update).
// double runs the reference kernels; float the loops below, split over the OpenMP team in fixed
// blocks (runtime.hpp: elementwise_blocks).
#include "typenet/kernels.hpp"

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "typenet/kernels_reference.hpp"
#include "runtime.hpp"

namespace typenet::kernels {

using namespace rt;

// ---- optimizer updates: float math, split over threads in fixed blocks ---------------------------
// Plain loops the compiler vectorises (no dependence between elements); a fixed block split, so
// the result does not depend on the thread count.
void fast_sgd_update(std::size_t n, float* w, const float* g, float* velocity, const sgd_hyper& h) {
    const float lr = float(h.lr), wd = float(h.weight_decay), mu = float(h.momentum);
    const bool nesterov = h.nesterov, momentum = h.momentum > 0;
    elementwise_blocks(n, [&](std::size_t i0, std::size_t len) {
        float* __restrict wp = w + i0;
        const float* __restrict gp = g + i0;
        if (!momentum) {
            for (std::size_t k = 0; k < len; ++k) wp[k] -= lr * (gp[k] + wd * wp[k]);
            return;
        }
        float* __restrict vp = velocity + i0;
        if (nesterov) {
            for (std::size_t k = 0; k < len; ++k) {
                const float d = gp[k] + wd * wp[k];
                const float v = mu * vp[k] + d;
                vp[k] = v;
                wp[k] -= lr * (d + mu * v);
            }
        } else {
            for (std::size_t k = 0; k < len; ++k) {
                const float v = mu * vp[k] + (gp[k] + wd * wp[k]);
                vp[k] = v;
                wp[k] -= lr * v;
            }
        }
    });
}

void fast_adam_update(std::size_t n, float* w, const float* g, float* m, float* s, const adam_hyper& h) {
    // 1 - beta in double, then rounded: 1.f - 0.999f would be off by 1.3e-5 relative.
    const float b1 = float(h.beta1), b2 = float(h.beta2), a1 = float(1.0 - h.beta1), a2 = float(1.0 - h.beta2);
    const float eps = float(h.eps);
    const float step = float(h.lr / h.correction1), inv_c2 = float(1.0 / h.correction2);
    const float keep = float(1.0 - h.lr * h.weight_decay), wd = float(h.weight_decay);
    const bool decoupled = h.decoupled;
    elementwise_blocks(n, [&](std::size_t i0, std::size_t len) {
        float* __restrict wp = w + i0;
        const float* __restrict gp = g + i0;
        float* __restrict mp = m + i0;
        float* __restrict sp = s + i0;
        for (std::size_t k = 0; k < len; ++k) {
            float p = wp[k], d = gp[k];
            if (decoupled) p *= keep;
            else d += wd * p;
            const float mk = b1 * mp[k] + a1 * d;
            const float sk = b2 * sp[k] + a2 * d * d;
            mp[k] = mk;
            sp[k] = sk;
            wp[k] = p - step * mk / (std::sqrt(sk * inv_c2) + eps);
        }
    });
}

template <class T>
void sgd_update(std::size_t n, T* w, const T* g, T* velocity, const sgd_hyper& h) {
    const profile_scope scope(k_optim);
    if constexpr (std::is_same_v<T, float>) fast_sgd_update(n, w, g, velocity, h);
    else reference::sgd_update<T>(n, w, g, velocity, h);
}
template <class T>
void adam_update(std::size_t n, T* w, const T* g, T* m, T* s, const adam_hyper& h) {
    const profile_scope scope(k_optim);
    if constexpr (std::is_same_v<T, float>) fast_adam_update(n, w, g, m, s, h);
    else reference::adam_update<T>(n, w, g, m, s, h);
}

#define TYPENET_INSTANTIATE(T)                                                                                    \
    template void sgd_update<T>(std::size_t, T*, const T*, T*, const sgd_hyper&);                                 \
    template void adam_update<T>(std::size_t, T*, const T*, T*, T*, const adam_hyper&);

TYPENET_INSTANTIATE(float)
TYPENET_INSTANTIATE(double)

#undef TYPENET_INSTANTIATE

}  // namespace typenet::kernels
