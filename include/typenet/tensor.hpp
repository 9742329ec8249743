// typenet/tensor.hpp - a batch of samples of one static shape, stored on the heap.
//
// tensor<T, shape<C, H, W>> holds `batch()` samples laid out contiguously, each sample in
// C-major (C, H, W) row-major order: element (b, c, h, w) sits at
// ((b * C + c) * H + h) * W + w. The storage is an xt::xtensor<T, 2> of shape
// (batch, Shape::size), so nothing large ever lives on the stack and the batch size is a
// run-time value. Kernels see the raw contiguous buffer through data().
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

#include <xtensor/xtensor.hpp>

#include "typenet/shape.hpp"

namespace typenet {

// A zero-filled xt::xtensor of the given dimensions. (Beware xtensor's own braces:
// xt::xtensor<T, 1> t({n}) is ONE element of value n, not n elements.)
template <class T, class... Dims>
xt::xtensor<T, sizeof...(Dims)> zeros(Dims... dims) {
    xt::xtensor<T, sizeof...(Dims)> t(std::array<std::size_t, sizeof...(Dims)>{static_cast<std::size_t>(dims)...});
    std::fill(t.data(), t.data() + t.size(), T(0));
    return t;
}

template <class T, any_shape Shape>
class tensor {
public:
    using value_type = T;
    using shape_type = Shape;
    static constexpr std::size_t sample_size = Shape::size;

    tensor() : data_(zeros<T>(0, sample_size)) {}
    // A zero-filled batch of `batch` samples.
    explicit tensor(std::size_t batch) : data_(zeros<T>(batch, sample_size)) {}

    std::size_t batch() const noexcept { return data_.shape()[0]; }
    std::size_t size() const noexcept { return data_.size(); }

    // Changes the batch size. Contents are unspecified afterwards unless the size is unchanged.
    void resize(std::size_t batch) {
        if (batch != this->batch()) data_.resize(std::array<std::size_t, 2>{batch, sample_size});
    }
    void fill(T v) { std::fill(data_.data(), data_.data() + data_.size(), v); }

    T* data() noexcept { return data_.data(); }
    const T* data() const noexcept { return data_.data(); }
    std::span<T> flat() noexcept { return {data(), size()}; }
    std::span<const T> flat() const noexcept { return {data(), size()}; }
    std::span<T> sample(std::size_t b) { return {data() + b * sample_size, sample_size}; }
    std::span<const T> sample(std::size_t b) const { return {data() + b * sample_size, sample_size}; }

    // Element access: (b, i) for flat shapes, (b, c, h, w) for C, H, W shapes.
    T& operator()(std::size_t b, std::size_t i) requires(Shape::rank == 1) {
        return data()[b * sample_size + i];
    }
    const T& operator()(std::size_t b, std::size_t i) const requires(Shape::rank == 1) {
        return data()[b * sample_size + i];
    }
    T& operator()(std::size_t b, std::size_t c, std::size_t h, std::size_t w) requires(Shape::rank == 3) {
        return data()[((b * Shape::dims[0] + c) * Shape::dims[1] + h) * Shape::dims[2] + w];
    }
    const T& operator()(std::size_t b, std::size_t c, std::size_t h, std::size_t w) const
        requires(Shape::rank == 3) {
        return data()[((b * Shape::dims[0] + c) * Shape::dims[1] + h) * Shape::dims[2] + w];
    }

    // The underlying xtensor container, (batch, Shape::size).
    xt::xtensor<T, 2>& storage() noexcept { return data_; }
    const xt::xtensor<T, 2>& storage() const noexcept { return data_; }

private:
    xt::xtensor<T, 2> data_;
};

}  // namespace typenet
