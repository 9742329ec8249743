#include "typenet/data/pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace typenet::data {

batch_plan::batch_plan(const cifar10_set& set, const channel_stats& stats, pipeline_config cfg, std::size_t epoch,
                       bool training)
    : set_(set), stats_(stats), cfg_(cfg), training_(training), aug_(epoch_rng(cfg.seed, epoch, 2)) {
    if (cfg_.batch == 0) throw std::invalid_argument("pipeline: the batch size must be at least 1");
    const std::size_t n = set.size();
    order_.resize(n);
    for (std::size_t i = 0; i < n; ++i) order_[i] = i;
    if (training_ && cfg_.shuffle) {
        rng g = epoch_rng(cfg_.seed, epoch, 1);
        for (std::size_t i = n; i > 1; --i) std::swap(order_[i - 1], order_[g.below(i)]);
    }
    batches_ = cfg_.drop_last && training_ ? n / cfg_.batch : (n + cfg_.batch - 1) / cfg_.batch;
    images_ = std::min(n, batches_ * cfg_.batch);
    if (training_ && batches_ > 0 && batch_size(batches_ - 1) == 1) {
        --batches_;
        --images_;
    }
}

std::size_t batch_plan::batch_size(std::size_t b) const {
    const std::size_t first = b * cfg_.batch;
    return std::min(cfg_.batch, set_.size() - first);
}

void batch_plan::fill(std::size_t b, float* images, std::int32_t* labels) {
    const std::size_t first = b * cfg_.batch, count = batch_size(b);
    for (std::size_t k = 0; k < count; ++k) labels[k] = set_.labels[order_[first + k]];
    if (!(training_ && cfg_.augment)) {
        normalize_images(set_, first, count, stats_, images, &order_);
        if (training_ && cfg_.cutout > 0)
            for (std::size_t k = 0; k < count; ++k) cut_out(images + k * cifar10_image_bytes);
        return;
    }
    // Crop and flip in pixel space, then normalise the augmented copy.
    cifar10_set one;
    one.labels.assign(1, 0);
    one.pixels.resize(cifar10_image_bytes);
    for (std::size_t k = 0; k < count; ++k) {
        const std::uint8_t* src = set_.pixels.data() + order_[first + k] * cifar10_image_bytes;
        const int dy = int(aug_.below(9)) - 4, dx = int(aug_.below(9)) - 4;  // offset of the crop in [-4, 4]
        const bool flip = aug_.uniform() < 0.5;
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 32; ++y)
                for (int x = 0; x < 32; ++x) {
                    const int sy = y + dy, sx0 = x + dx;
                    const int sx = flip ? 31 - x + dx : sx0;
                    std::uint8_t v = 0;
                    if (sy >= 0 && sy < 32 && sx >= 0 && sx < 32) v = src[c * 1024 + sy * 32 + sx];
                    one.pixels[std::size_t(c * 1024 + y * 32 + x)] = v;
                }
        normalize_images(one, 0, 1, stats_, images + k * cifar10_image_bytes);
        if (cfg_.cutout > 0) cut_out(images + k * cifar10_image_bytes);
    }
}

void batch_plan::cut_out(float* image) {
    // Centre (cy, cx) uniform over the 32 x 32 pixels; rows and columns [c - side/2, c - side/2 + side)
    // clipped to the image (torch-style Cutout: the square may stick out of the image).
    const int side = int(cfg_.cutout), cy = int(aug_.below(32)), cx = int(aug_.below(32));
    const int y0 = std::max(0, cy - side / 2), y1 = std::min(32, cy - side / 2 + side);
    const int x0 = std::max(0, cx - side / 2), x1 = std::min(32, cx - side / 2 + side);
    for (int c = 0; c < 3; ++c)
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) image[c * 1024 + y * 32 + x] = 0.f;
}

}  // namespace typenet::data
