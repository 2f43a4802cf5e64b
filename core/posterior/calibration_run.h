// A calibration run of a posterior model on held-out simulations: draws for
// every simulation, then simulation-based calibration, expected coverage and
// TARP (diagnostics.h) on them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/posterior/diagnostics.h"
#include "core/posterior/posterior_flow.h"
#include "core/posterior/truncated_sampling.h"

namespace gml {
class Progress;
}

namespace gml::posterior {

struct CalibrationReport {
  SbcResult sbc;
  CoverageResult coverage;
  TarpResult tarp;
  // Truncated runs: simulations left out because fewer than n_samples
  // draws fell inside the prior's support (their ranks are undefined).
  int64_t short_sims = 0;
  at::Tensor kept;  // (M') int64: the simulations ranked, when short_sims > 0
  bool truncated = false;
};

// theta [n_sims, theta_dim] and x [n_sims, x_dim] are simulations the model
// was not trained on. Simulation i's draws depend only on (seed, i); SBC and
// TARP use the streams seed + 1 and seed + 2. TARP's reference points are
// drawn in the model's prior box when it has one.
// With `truncation`, the draws are those a catalog run summarises
// (draw_posterior_truncated()), so the report measures what users get;
// without, the flow's raw draws. Error(InvalidArgument) when truncation
// leaves fewer than 2 simulations.
CalibrationReport calibrate_posterior(PosteriorFlow& flow, const at::Tensor& theta,
                                      const at::Tensor& x, int64_t n_samples, int64_t levels,
                                      uint64_t seed, Progress& progress,
                                      const TruncationOptions* truncation = nullptr);

}  // namespace gml::posterior
