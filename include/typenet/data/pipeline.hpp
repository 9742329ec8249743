// typenet/data/pipeline.hpp - shuffling, batching and augmentation of CIFAR-10 images.
//
// Everything random is derived from (seed, epoch): the order of epoch e is a Fisher-Yates
// shuffle drawn from rng(seed, e), and so are its crops and flips. A run resumed at an
// epoch boundary therefore sees exactly the batches an uninterrupted run would.
//
// Batches: ceil(n / batch) per epoch, the last one smaller, unless drop_last (then
// floor(n / batch)). A last batch of a single image is always dropped in training, since
// batch normalisation cannot estimate statistics from one sample (reported by batches()).
// Augmentation (off by default): random crop of 32x32 from the image zero-padded by 4 pixels
// on each side (padding is black, pixel value 0, as torchvision's RandomCrop(32, padding=4)),
// then a horizontal flip with probability 1/2; applied to the uint8 pixels before normalisation.
// Cutout (DeVries and Taylor 2017; off by default, independent of augment): a square of
// cutout x cutout pixels, its centre uniform over the image and clipped at the borders, is set to
// 0 in all three channels after normalisation (the data set's mean colour); training only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "typenet/data/cifar10.hpp"
#include "typenet/data/loader.hpp"  // epoch_rng
#include "typenet/rng.hpp"

namespace typenet::data {

struct pipeline_config {
    std::size_t batch = 128;
    bool shuffle = true;
    bool drop_last = false;
    bool augment = false;
    std::uint64_t seed = 0;
    std::size_t cutout = 0;  // side of the cutout square in pixels; 0 = off
};

class batch_plan {
public:
    batch_plan(const cifar10_set& set, const channel_stats& stats, pipeline_config cfg, std::size_t epoch,
               bool training);

    std::size_t batches() const { return batches_; }
    std::size_t images() const { return images_; }  // images covered by batches()
    std::size_t batch_size(std::size_t b) const;
    // Writes batch b: batch_size(b) normalised images (C, H, W floats) and their labels.
    void fill(std::size_t b, float* images, std::int32_t* labels);

private:
    void cut_out(float* image);  // the cutout square of one normalised image (training)

    const cifar10_set& set_;
    channel_stats stats_;
    pipeline_config cfg_;
    bool training_;
    std::vector<std::size_t> order_;
    std::size_t batches_ = 0, images_ = 0;
    rng aug_;
    std::vector<std::uint8_t> scratch_;
};

}  // namespace typenet::data
