// The SED parameters theta and their prior (docs/sed_model.md,
// "Parameters"). theta has kThetaDim = 7 entries, in this order:
//   0  log10 M*   surviving stellar mass, log10 Msun          U(8, 12.5)
//   1-4 beta_1..4 template-weight coordinates on (0, 1)        U(0, 1) each
//   5  tau_V      V-band dust optical depth                    U(0, 3)
//   6  delta      Noll et al. (2009) dust slope modification   U(-2.2, 0.4)
// The betas map to Dirichlet(1,...,1) weights over the 5 templates by the
// stick-breaking ("warped manifold", Betancourt 2012) transform used by
// SEDflow/PROVABGS, so the uniform prior on beta is the flat Dirichlet prior
// on the weights.
#pragma once

#include <array>
#include <cstdint>

#include "core/posterior/sed/random.h"

namespace gml::sed {

constexpr int kNumTemplates = 5;
constexpr int kThetaDim = 7;

enum ThetaIndex : int {
  kThetaLogMstar = 0,
  kThetaBeta1 = 1,  ///< beta_1 .. beta_4 are entries 1 .. 4
  kThetaTauV = 5,
  kThetaDustSlope = 6,
};

/// Names of the theta entries ("log_mstar", "beta_1", ..., "tau_v", "dust_delta").
const std::array<const char*, kThetaDim>& theta_names();

/// Stick-breaking weights of K components from K-1 numbers beta in [0, 1]:
///   v_i = 1 - beta_i^(1/(K-i)),  w_i = v_i prod_{j<i} (1 - v_j)  (i = 1..K-1),
///   w_K = 1 - sum_{i<K} w_i.
/// beta_i ~ U(0,1) gives v_i ~ Beta(1, K-i), hence w ~ Dirichlet(1,...,1).
/// Requires K >= 2 and every beta in [0, 1] (gml::Error otherwise).
void dirichlet_from_beta(const double* beta, int k, double* w);

/// Inverse of dirichlet_from_beta for weights w >= 0 summing to 1 (within
/// 1e-9; gml::Error otherwise): r_i = 1 - sum_{j<i} w_j, v_i = w_i / r_i,
/// beta_i = (1 - v_i)^(K-i) (beta_i = 1 once the stick is used up, r_i = 0).
void beta_from_dirichlet(const double* w, int k, double* beta);

/// Box prior on theta (all factors independent and uniform).
struct SedPrior {
  double log_mstar_min = 8.0;
  double log_mstar_max = 12.5;
  double tau_v_max = 3.0;
  double delta_min = -2.2;
  double delta_max = 0.4;

  /// Lower / upper bound of each theta entry (betas: 0 and 1).
  std::array<double, kThetaDim> lower() const;
  std::array<double, kThetaDim> upper() const;
  /// True if every entry is finite and within [lower, upper].
  bool contains(const double* theta) const;
  /// Throws gml::Error unless every lower < upper and the bounds are finite.
  void validate() const;
};

/// Draws theta from a SedPrior; deterministic for a given seed.
class PriorSampler {
 public:
  PriorSampler(const SedPrior& prior, uint64_t seed);
  /// Fills theta_out[n][kThetaDim] (row-major). Entry j of each row is
  /// lower_j + (upper_j - lower_j) u with u uniform on [0, 1).
  void sample(int64_t n, double* theta_out);
  void reseed(uint64_t seed) { rng_.reseed(seed); }

 private:
  std::array<double, kThetaDim> lo_;
  std::array<double, kThetaDim> hi_;
  Rng rng_;
};

}  // namespace gml::sed
