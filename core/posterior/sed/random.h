// The random stream of the SED simulator and prior sampler: std::mt19937_64
// (fully specified by the C++ standard) with uniform and normal variates
// computed here rather than by <random>'s distributions, whose algorithms
// differ between standard libraries. A seed therefore gives the same
// numbers with every compiler.
#pragma once

#include <cstdint>
#include <random>

namespace gml::sed {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  void reseed(uint64_t seed) { engine_.seed(seed); }
  /// Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform on (0, 1).
  double uniform_open() {
    double u;
    do {
      u = uniform();
    } while (u == 0.0);
    return u;
  }
  /// Uniform on [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal (Box-Muller; each call consumes two engine outputs).
  double normal();

 private:
  std::mt19937_64 engine_;
};

}  // namespace gml::sed
