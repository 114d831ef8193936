// Seeded random numbers for the simulator that give the same values on every machine and in
// every thread layout: a counter-based hash for per-ray draws and a small sequential generator
// for scene layout. The standard library's distributions are implementation-defined, so none is
// used here.
//   Rng rng(hash_combine(seed, frame));  float w = rng.uniform(1.2f, 1.6f);
#pragma once

#include <cmath>
#include <cstdint>

namespace tarmac::sim {

/// SplitMix64's finalizer: a bijective 64-bit mix with good avalanche.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t hash_combine(uint64_t a, uint64_t b) {
  return mix64(a ^ mix64(b + 0x632BE59BD9B4E019ull));
}

/// The top 24 bits of `bits` as a float in [0, 1).
inline float unit_float(uint64_t bits) {
  return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f);
}

/// A standard normal value from two uniform draws (Box-Muller, one branch).
inline float normal_from_bits(uint64_t bits) {
  const float u1 = (static_cast<float>(bits >> 40) + 1.0f) * (1.0f / 16777217.0f);  // (0, 1]
  const float u2 = static_cast<float>((bits >> 8) & 0xFFFFFFu) * (1.0f / 16777216.0f);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530718f * u2);
}

/// Sequential generator for scene layout (SplitMix64 stream).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return unit_float(next()); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi] (inclusive).
  int uniform_int(int lo, int hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(float p) { return uniform() < p; }
  float normal() { return normal_from_bits(next()); }
  /// A fresh generator whose stream does not overlap this one's in practice.
  Rng fork(uint64_t salt) { return Rng(hash_combine(next(), salt)); }

 private:
  uint64_t state_;
};

}  // namespace tarmac::sim
