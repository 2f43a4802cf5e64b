// The random stream of the merger simulator: xoshiro256** seeded through
// SplitMix64, with uniform and normal variates computed here rather than by
// <random>'s distributions (whose algorithms differ between standard
// libraries), so a seed gives the same galaxies and noise everywhere.
//
// Every simulation and every image gets its own stream, derived from the
// configured seed and its indices by stream_seed(); results therefore do not
// depend on which thread ran what, or in which order.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "core/merger/sim/vec3.h"

namespace gml::merger {

/// SplitMix64 step: a bijective 64-bit mixer (Steele, Lea & Flood 2014).
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// A seed for the stream identified by `seed` and a list of indices (e.g.
/// {purpose, sim, snapshot, camera}). Distinct index lists give unrelated
/// streams.
inline uint64_t stream_seed(uint64_t seed, std::initializer_list<uint64_t> indices) {
  uint64_t state = seed;
  uint64_t h = splitmix64(state);
  for (uint64_t i : indices) {
    state = h ^ (i + 0x632BE59BD9B4E019ULL);
    h = splitmix64(state);
  }
  return h;
}

class SimRng {
 public:
  explicit SimRng(uint64_t seed) {
    uint64_t state = seed;
    for (auto& w : s_) w = splitmix64(state);
  }

  /// xoshiro256** (Blackman & Vigna 2018).
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform on (0, 1].
  double uniform_pos() { return 1.0 - uniform(); }
  /// Uniform on [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal by Box-Muller; each call consumes two outputs (no
  /// cached second variate, so the stream position is simple to reason about).
  double normal() {
    const double r = std::sqrt(-2.0 * std::log(uniform_pos()));
    return r * std::cos(6.283185307179586 * uniform());
  }
  /// Two independent standard normals (Marsaglia's polar method): the
  /// cheaper choice for bulk noise.
  void normal_pair(double& a, double& b) {
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    a = u * f;
    b = v * f;
  }
  /// Isotropic unit vector (uniform cos(theta) and phi).
  Vec3 unit_vector() {
    const double c = uniform(-1.0, 1.0);
    const double s = std::sqrt(std::fmax(0.0, 1.0 - c * c));
    const double phi = 6.283185307179586 * uniform();
    return {s * std::cos(phi), s * std::sin(phi), c};
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace gml::merger
