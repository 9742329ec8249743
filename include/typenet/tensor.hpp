// typenet/tensor.hpp - a batch of samples of one static shape, stored on the heap.
//
// tensor<T, shape<C, H, W>> holds `batch()` samples laid out contiguously, each sample in
// C-major (C, H, W) row-major order: element (b, c, h, w) sits at
// ((b * C + c) * H + h) * W + w. The storage is an xt::xtensor<T, 2> of shape
// (batch, Shape::size), so nothing large ever lives on the stack and the batch size is a
// run-time value. Kernels see the raw contiguous buffer through data().
//
// A tensor either owns its elements or is a VIEW of memory owned elsewhere (tensor::view):
// the network hands its layers views of the buffers it shares between layers (net.hpp).
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
    explicit tensor(std::size_t batch) : data_(zeros<T>(batch, sample_size)), ptr_(data_.data()), batch_(batch) {}

    // A VIEW: `batch` samples at `p`, memory owned elsewhere (the network lends its shared
    // buffers so). Reads and writes go to that memory; the batch size of a view cannot change
    // (resize() to another batch throws std::logic_error); assigning to a view copies the
    // elements into that memory. Copying or moving a view gives an OWNING tensor, so a copy
    // never aliases anything.
    static tensor view(T* p, std::size_t batch) {
        tensor t;
        t.rebind(p, batch);
        return t;
    }
    // Makes this tensor a view of `batch` samples at `p`, releasing what it owned.
    void rebind(T* p, std::size_t batch) {
        if (!is_view_) data_ = zeros<T>(0, sample_size);
        ptr_ = p;
        batch_ = batch;
        is_view_ = true;
    }
    bool is_view() const noexcept { return is_view_; }
    // Makes this an empty OWNING tensor (batch 0), freeing what it owned; a view lets go.
    void reset() {
        data_ = zeros<T>(0, sample_size);
        ptr_ = data_.data();
        batch_ = 0;
        is_view_ = false;
    }

    tensor(const tensor& o) : data_(zeros<T>(o.batch(), sample_size)), ptr_(data_.data()), batch_(o.batch()) {
        std::copy(o.data(), o.data() + o.size(), ptr_);
    }
    tensor(tensor&& o) : tensor() {
        if (o.is_view_) *this = o;  // an owning copy of the viewed elements
        else adopt(std::move(o));
    }
    tensor& operator=(const tensor& o) {
        if (this != &o) {
            resize(o.batch());
            if (o.data() != ptr_) std::copy(o.data(), o.data() + o.size(), ptr_);
        }
        return *this;
    }
    tensor& operator=(tensor&& o) {
        if (is_view_ || o.is_view_) return *this = o;  // element copy (see view())
        adopt(std::move(o));
        return *this;
    }
    ~tensor() = default;

    std::size_t batch() const noexcept { return batch_; }
    std::size_t size() const noexcept { return batch_ * sample_size; }

    // Changes the batch size. Contents are unspecified afterwards unless the size is unchanged.
    void resize(std::size_t batch) {
        if (batch == batch_) return;
        if (is_view_)
            throw std::logic_error("typenet::tensor::resize: a view of " + std::to_string(batch_) +
                                   " samples cannot hold " + std::to_string(batch));
        data_ = zeros<T>(0, sample_size);  // free first: the old and the new storage never coexist
        data_.resize(std::array<std::size_t, 2>{batch, sample_size});
        ptr_ = data_.data();
        batch_ = batch;
    }
    void fill(T v) { std::fill(data(), data() + size(), v); }

    T* data() noexcept { return ptr_; }
    const T* data() const noexcept { return ptr_; }
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

    // The underlying xtensor container, (batch, Shape::size), of an owning tensor (a view has
    // none: std::logic_error).
    xt::xtensor<T, 2>& storage() {
        check_owning();
        return data_;
    }
    const xt::xtensor<T, 2>& storage() const {
        check_owning();
        return data_;
    }

private:
    void adopt(tensor&& o) {
        data_ = std::move(o.data_);
        ptr_ = data_.data();
        batch_ = o.batch_;
        is_view_ = false;
        o.data_ = zeros<T>(0, sample_size);
        o.ptr_ = o.data_.data();
        o.batch_ = 0;
    }
    void check_owning() const {
        if (is_view_) throw std::logic_error("typenet::tensor::storage: a view owns no storage");
    }

    xt::xtensor<T, 2> data_;   // the elements of an owning tensor; empty in a view
    T* ptr_ = data_.data();    // data_.data(), or the viewed memory
    std::size_t batch_ = 0;
    bool is_view_ = false;
};

}  // namespace typenet
