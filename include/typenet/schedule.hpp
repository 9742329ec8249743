// typenet/schedule.hpp - learning-rate schedules, evaluated per optimizer step.
//
//   constant:  lr(t) = base
//   step:      lr(t) = base * factor^k, k = number of milestones (in epochs) already passed
//   cosine:    linear warmup over the first W steps, lr(t) = base * (t + 1) / W, then
//              lr(t) = base * 0.5 * (1 + cos(pi * (t - W) / (T - W))), reaching 0 at t = T
// t counts optimizer steps from 0; T = total steps; W = warmup steps (warmup_epochs *
// steps_per_epoch). Warmup also applies to constant and step schedules when W > 0.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace typenet {

enum class schedule_kind { constant, step, cosine };

struct schedule_config {
    schedule_kind kind = schedule_kind::constant;
    double base_lr = 0.1;
    std::vector<double> milestones{};  // epochs, for step
    double factor = 0.1;             // for step
    double warmup_epochs = 0.0;
};

class lr_schedule {
public:
    lr_schedule(schedule_config cfg, std::size_t steps_per_epoch, std::size_t epochs)
        : cfg_(std::move(cfg)), steps_per_epoch_(steps_per_epoch), total_(steps_per_epoch * epochs) {
        if (!(cfg_.base_lr > 0) || !std::isfinite(cfg_.base_lr))
            throw std::invalid_argument("schedule: the learning rate must be a positive number, got " +
                                        std::to_string(cfg_.base_lr));
        if (cfg_.warmup_epochs < 0) throw std::invalid_argument("schedule: warmup epochs must be >= 0");
        if (steps_per_epoch == 0) throw std::invalid_argument("schedule: an epoch needs at least one step");
        warmup_ = std::size_t(std::llround(cfg_.warmup_epochs * double(steps_per_epoch)));
        if (cfg_.kind == schedule_kind::cosine && warmup_ >= total_ && total_ > 0)
            throw std::invalid_argument("schedule: warmup (" + std::to_string(warmup_) +
                                        " steps) must be shorter than the run (" + std::to_string(total_) + " steps)");
    }

    double at(std::size_t t) const {
        const double base = cfg_.base_lr;
        if (t < warmup_) return base * double(t + 1) / double(warmup_);
        switch (cfg_.kind) {
            case schedule_kind::constant: return base;
            case schedule_kind::step: {
                const double epoch = double(t) / double(steps_per_epoch_);
                double lr = base;
                for (double m : cfg_.milestones)
                    if (epoch >= m) lr *= cfg_.factor;
                return lr;
            }
            case schedule_kind::cosine: {
                const double span = double(total_ - warmup_);
                const double progress = std::min(1.0, double(t - warmup_) / span);
                return base * 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
            }
        }
        return base;
    }
    std::size_t warmup_steps() const { return warmup_; }
    std::size_t total_steps() const { return total_; }
    const schedule_config& config() const { return cfg_; }

private:
    schedule_config cfg_;
    std::size_t steps_per_epoch_, total_, warmup_ = 0;
};

}  // namespace typenet
