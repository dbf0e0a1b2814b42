#pragma once
// Seeded random numbers whose every bit is specified here, so a seed gives the
// same stream on every platform, compiler and standard library (std:: engines are
// portable but std:: distributions are not). Not thread-safe: one per user.
#include <cstdint>

namespace te::data {

// SplitMix64 (Steele, Lea, Flood 2014): turns one 64-bit seed into well-mixed
// state words for the main generator.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// xoshiro256** 1.0 (Blackman, Vigna 2018).
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) noexcept {
    SplitMix64 sm(seed);
    for (auto& w : s_) w = sm.next();  // never all zero: SplitMix64 is a bijection of a counter
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

  // Uniform on [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform on (0, 1]: safe to take the logarithm of.
  double uniform_pos() noexcept { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// Standard normal deviates by Marsaglia's polar method: only +, *, /, sqrt (all
// correctly rounded by IEEE 754) and portable_log, hence bit-reproducible.
class NormalSampler {
 public:
  double next(Xoshiro256& rng) noexcept;

 private:
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace te::data
