// typenet/rng.hpp - a small, portable, serialisable random generator.
//
// std::normal_distribution and friends differ between standard libraries, so a seed would
// not give the same network everywhere. typenet uses xoshiro256** seeded through splitmix64
// and its own uniform/normal transforms: the same seed gives bit-identical initial
// parameters and dropout masks on every platform. The whole state is four 64-bit words
// (state()), which is what checkpoints store.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace typenet {

class rng {
public:
    explicit rng(std::uint64_t seed = 0) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        for (auto& word : s_) {
            seed += 0x9E3779B97F4A7C15ull;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            word = z ^ (z >> 31);
        }
    }

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 53 random bits.
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n) (n > 0), without modulo bias worth noticing for n << 2^64.
    std::uint64_t below(std::uint64_t n) noexcept { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)); }
    // Standard normal by Box-Muller (one value per call; the pair's twin is discarded so the
    // state stays four words).
    double normal() noexcept {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

    const std::array<std::uint64_t, 4>& state() const noexcept { return s_; }
    void set_state(const std::array<std::uint64_t, 4>& s) noexcept { s_ = s; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    std::array<std::uint64_t, 4> s_{};
};

}  // namespace typenet
