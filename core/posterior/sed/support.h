// Is a real galaxy inside the support of a simulated training set?
// (docs/sed_model.md, "Training support"). A posterior estimator trained on
// simulations extrapolates outside them, so such rows are flagged.
//
// Features: the observation x (observation.h) with the five magnitude
// errors replaced by log10 of themselves, each standardised by the
// simulated median and 1.4826 * MAD. A real row is inside the support when
//   (a) every feature lies within the simulated [min, max] of that feature,
//   (b) its Euclidean nearest-neighbour distance to the simulated reference
//       rows is at most the `quantile` (0.99) of the same distance measured
//       for held-out simulated rows (every `holdout_every`-th row, which
//       are not in the reference set).
// Rows with a non-finite feature are outside.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/posterior/sed/observation.h"

namespace gml::sed {

struct SupportOptions {
  double quantile = 0.99;
  int holdout_every = 10;  ///< >= 2
};

struct SupportResult {
  std::vector<uint8_t> inside;      ///< [m] 1 if real row r is inside
  std::vector<double> nn_distance;  ///< [m] standardised NN distance (NaN if not finite)
  double threshold = 0.0;           ///< the distance cut of criterion (b)
  int64_t n_inside = 0;
  double fraction = 0.0;                 ///< n_inside / m (0 for m = 0)
  std::array<double, kObsDim> center{};  ///< feature standardisation
  std::array<double, kObsDim> scale{};
};

/// x_sim[n][kObsDim] simulated rows (non-finite rows are skipped; at least
/// 2 * holdout_every finite rows needed), x_real[m][kObsDim] real rows.
/// Throws gml::Error for bad options or too few simulated rows.
SupportResult check_support(const double* x_sim, int64_t n, const double* x_real, int64_t m,
                            const SupportOptions& options = SupportOptions());

}  // namespace gml::sed
