#include "core/posterior/calibration_run.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/posterior/posterior_sampling.h"

namespace gml::posterior {

CalibrationReport calibrate_posterior(PosteriorFlow& flow, const at::Tensor& theta_in,
                                      const at::Tensor& x_in, int64_t n_samples, int64_t levels,
                                      uint64_t seed, Progress& progress,
                                      const TruncationOptions* truncation) {
  const PosteriorConfig& cfg = flow->config();
  CalibrationReport r;
  PosteriorDraws d;
  at::Tensor theta = theta_in, x = x_in;
  if (truncation) {
    std::vector<int64_t> rows(static_cast<size_t>(theta.size(0)));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
    TruncatedCounts counts;
    d = draw_posterior_truncated(flow, x, n_samples, seed, rows, *truncation, &progress, 16384,
                                 &counts);
    r.truncated = true;
    std::vector<int64_t> full;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (counts.accepted[i] == n_samples) full.push_back(static_cast<int64_t>(i));
    }
    r.short_sims = theta.size(0) - static_cast<int64_t>(full.size());
    require(full.size() >= 2, "calibration: fewer than 2 simulations kept " +
                                  std::to_string(n_samples) + " draws inside the prior");
    if (r.short_sims > 0) {
      const at::Tensor keep = at::tensor(full, at::kLong);
      r.kept = keep;
      d.theta = d.theta.index_select(0, keep);
      theta = theta.index_select(0, keep);
      x = x.index_select(0, keep);
    }
  } else {
    d = draw_posterior(flow, x, n_samples, seed, 0, &progress);
  }
  const int64_t n_sims = theta.size(0);
  // Densities of the draws and of the truths, for the highest-density coverage.
  at::Tensor lp_draws, lp_true;
  {
    c10::InferenceMode inference;
    const int64_t dim = cfg.theta_dim;
    lp_draws = at::empty({n_sims, n_samples}, at::kDouble);
    for (int64_t g = 0; g < n_sims; ++g) {
      progress.check_cancel();
      lp_draws[g].copy_(flow->log_prob(d.theta[g].view({n_samples, dim}), x.narrow(0, g, 1)));
    }
    lp_true = at::empty({n_sims}, at::kDouble);
    for (int64_t g = 0; g < n_sims; g += 4096) {
      const int64_t e = std::min(n_sims, g + 4096);
      lp_true.slice(0, g, e).copy_(flow->log_prob(theta.slice(0, g, e), x.slice(0, g, e)));
    }
  }
  progress.finish();
  r.sbc = simulation_based_calibration(d.theta, theta, seed + 1);
  r.coverage = expected_coverage(d.theta, theta, lp_draws, lp_true, levels);
  at::Tensor lo, hi;
  if (!cfg.prior_lower.empty()) {
    lo = at::tensor(cfg.prior_lower, at::kDouble);
    hi = at::tensor(cfg.prior_upper, at::kDouble);
  }
  r.tarp = tarp_coverage(d.theta, theta, lo, hi, levels, seed + 2);
  return r;
}

}  // namespace gml::posterior
