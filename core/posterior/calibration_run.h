// A calibration run of a posterior model on held-out simulations: draws for
// every simulation, then simulation-based calibration, expected coverage and
// TARP (diagnostics.h) on them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/posterior/diagnostics.h"
#include "core/posterior/posterior_flow.h"

namespace gml {
class Progress;
}

namespace gml::posterior {

struct CalibrationReport {
  SbcResult sbc;
  CoverageResult coverage;
  TarpResult tarp;
};

// theta [n_sims, theta_dim] and x [n_sims, x_dim] are simulations the model
// was not trained on. Simulation i's draws depend only on (seed, i); SBC and
// TARP use the streams seed + 1 and seed + 2. TARP's reference points are
// drawn in the model's prior box when it has one.
CalibrationReport calibrate_posterior(PosteriorFlow& flow, const at::Tensor& theta,
                                      const at::Tensor& x, int64_t n_samples, int64_t levels,
                                      uint64_t seed, Progress& progress);

}  // namespace gml::posterior
