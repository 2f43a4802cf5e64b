#include "core/posterior/sed/parameters.h"

#include <cmath>
#include <string>

#include "core/common/error.h"

namespace gml::sed {

const std::array<const char*, kThetaDim>& theta_names() {
  static const std::array<const char*, kThetaDim> names = {
      "log_mstar", "beta_1", "beta_2", "beta_3", "beta_4", "tau_v", "dust_delta"};
  return names;
}

void dirichlet_from_beta(const double* beta, int k, double* w) {
  require(k >= 2, "dirichlet_from_beta: need K >= 2 components, got " + std::to_string(k));
  double remaining = 1.0;
  for (int i = 0; i < k - 1; ++i) {
    const double b = beta[i];
    require(b >= 0.0 && b <= 1.0, "dirichlet_from_beta: beta_" + std::to_string(i + 1) + " = " +
                                      std::to_string(b) + " is outside [0, 1]");
    const double v = 1.0 - std::pow(b, 1.0 / static_cast<double>(k - 1 - i));
    w[i] = v * remaining;
    remaining -= w[i];
  }
  w[k - 1] = remaining > 0.0 ? remaining : 0.0;
}

void beta_from_dirichlet(const double* w, int k, double* beta) {
  require(k >= 2, "beta_from_dirichlet: need K >= 2 components, got " + std::to_string(k));
  double sum = 0.0;
  for (int i = 0; i < k; ++i) {
    require(std::isfinite(w[i]) && w[i] >= 0.0, "beta_from_dirichlet: weight " + std::to_string(i) +
                                                    " = " + std::to_string(w[i]) + " is not >= 0");
    sum += w[i];
  }
  require(std::fabs(sum - 1.0) <= 1e-9,
          "beta_from_dirichlet: weights sum to " + std::to_string(sum) + ", not 1");
  double remaining = 1.0;
  for (int i = 0; i < k - 1; ++i) {
    double b = 1.0;
    if (remaining > 0.0) {
      double v = w[i] / remaining;
      v = v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
      b = std::pow(1.0 - v, static_cast<double>(k - 1 - i));
    }
    beta[i] = b;
    remaining -= w[i];
  }
}

std::array<double, kThetaDim> SedPrior::lower() const {
  return {log_mstar_min, 0.0, 0.0, 0.0, 0.0, 0.0, delta_min};
}

std::array<double, kThetaDim> SedPrior::upper() const {
  return {log_mstar_max, 1.0, 1.0, 1.0, 1.0, tau_v_max, delta_max};
}

bool SedPrior::contains(const double* theta) const {
  const auto lo = lower();
  const auto hi = upper();
  for (int j = 0; j < kThetaDim; ++j) {
    const double t = theta[j];
    if (!(t >= lo[static_cast<size_t>(j)] && t <= hi[static_cast<size_t>(j)])) return false;
  }
  return true;
}

void SedPrior::validate() const {
  const auto lo = lower();
  const auto hi = upper();
  for (size_t j = 0; j < lo.size(); ++j) {
    require(std::isfinite(lo[j]) && std::isfinite(hi[j]) && lo[j] < hi[j],
            std::string("SedPrior: bounds of ") + theta_names()[j] + " must be finite with " +
                "lower < upper, got [" + std::to_string(lo[j]) + ", " + std::to_string(hi[j]) +
                "]");
  }
}

PriorSampler::PriorSampler(const SedPrior& prior, uint64_t seed)
    : lo_(prior.lower()), hi_(prior.upper()), rng_(seed) {
  prior.validate();
}

void PriorSampler::sample(int64_t n, double* theta_out) {
  require(n >= 0, "PriorSampler::sample: n must be >= 0, got " + std::to_string(n));
  require(n == 0 || theta_out != nullptr, "PriorSampler::sample: theta_out is null");
  for (int64_t r = 0; r < n; ++r) {
    double* t = theta_out + r * kThetaDim;
    for (size_t j = 0; j < static_cast<size_t>(kThetaDim); ++j) {
      t[j] = lo_[j] + (hi_[j] - lo_[j]) * rng_.uniform();
    }
  }
}

}  // namespace gml::sed
