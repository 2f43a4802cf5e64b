#include "core/posterior/sed/simulator.h"

#include <cmath>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "core/common/error.h"

namespace gml::sed {

SedSimulator::SedSimulator(SedModel model, NoiseModel noise, SimulatorOptions options)
    : model_(std::move(model)), noise_(std::move(noise)), options_(options), rng_(options.seed) {
  require(model_.n_bands() == kNumBands, "SedSimulator: the model has " +
                                             std::to_string(model_.n_bands()) +
                                             " bands, expected " + std::to_string(kNumBands));
  require(noise_.n_bands() == kNumBands, "SedSimulator: the noise model has " +
                                             std::to_string(noise_.n_bands()) +
                                             " bands, expected " + std::to_string(kNumBands));
  require(std::isfinite(options_.z_min) && std::isfinite(options_.z_max) && options_.z_min > 0.0 &&
              options_.z_min < options_.z_max && options_.z_max <= 3.0,
          "SedSimulator: redshift range must satisfy 0 < z_min < z_max <= 3, got [" +
              std::to_string(options_.z_min) + ", " + std::to_string(options_.z_max) + "]");
}

SedSimulator SedSimulator::load(const std::string& sed_dir, const std::string& catalog_path,
                                SimulatorOptions options) {
  return SedSimulator(SedModel::load(sed_dir), NoiseModel::fit_catalog(catalog_path), options);
}

void SedSimulator::check_theta(const double* theta, int64_t n) const {
  require(n >= 0, "SedSimulator: n must be >= 0, got " + std::to_string(n));
  require(n == 0 || theta != nullptr, "SedSimulator: theta is null");
  for (int64_t r = 0; r < n; ++r) {
    const double* t = theta + r * kThetaDim;
    for (int j = 0; j < kThetaDim; ++j) {
      require(std::isfinite(t[j]), "SedSimulator: theta row " + std::to_string(r) + " entry " +
                                       theta_names()[static_cast<size_t>(j)] + " is not finite");
    }
    require(std::fabs(t[kThetaLogMstar]) <= 300.0,
            "SedSimulator: theta row " + std::to_string(r) +
                " log_mstar = " + std::to_string(t[kThetaLogMstar]) + " overflows 10^log_mstar");
    for (int j = kThetaBeta1; j < kThetaBeta1 + kNumTemplates - 1; ++j) {
      require(t[j] >= 0.0 && t[j] <= 1.0, "SedSimulator: theta row " + std::to_string(r) + " " +
                                              theta_names()[static_cast<size_t>(j)] + " = " +
                                              std::to_string(t[j]) + " is outside [0, 1]");
    }
    require(t[kThetaTauV] >= 0.0, "SedSimulator: theta row " + std::to_string(r) +
                                      " tau_v = " + std::to_string(t[kThetaTauV]) + " is negative");
  }
}

void SedSimulator::simulate_detailed(const double* theta, int64_t n, double* x_out, double* z_out,
                                     double* nmgy_true, double* sigma_out, double* nmgy_obs) {
  check_theta(theta, n);
  require(n == 0 || x_out != nullptr, "SedSimulator: x_out is null");
  double truth[kNumBands];
  double sigma[kNumBands];
  double obs[kNumBands];
  for (int64_t r = 0; r < n; ++r) {
    const double z = rng_.uniform(options_.z_min, options_.z_max);
    model_.photometry(theta + r * kThetaDim, z, truth);
    for (int b = 0; b < kNumBands; ++b) {
      sigma[b] = noise_.draw_sigma(b, truth[b], rng_);
      obs[b] = truth[b] + sigma[b] * rng_.normal();
    }
    observation_from_flux(obs, sigma, z, x_out + r * kObsDim);
    if (z_out != nullptr) z_out[r] = z;
    for (int b = 0; b < kNumBands; ++b) {
      if (nmgy_true != nullptr) nmgy_true[r * kNumBands + b] = truth[b];
      if (sigma_out != nullptr) sigma_out[r * kNumBands + b] = sigma[b];
      if (nmgy_obs != nullptr) nmgy_obs[r * kNumBands + b] = obs[b];
    }
  }
}

int SedSimulator::simulate(const double* theta, int64_t n, double* x_out) noexcept {
  try {
    simulate_detailed(theta, n, x_out);
    return 0;
  } catch (const Error& e) {
    last_error_ = e.what();
    return static_cast<int>(e.status());
  } catch (const std::bad_alloc&) {
    last_error_ = "SedSimulator: out of memory";
    return static_cast<int>(Status::OutOfMemory);
  } catch (const std::exception& e) {
    last_error_ = e.what();
    return static_cast<int>(Status::Internal);
  } catch (...) {
    last_error_ = "SedSimulator: unknown exception";
    return static_cast<int>(Status::Internal);
  }
}

int SedSimulator::simulate_callback(const double* theta, int64_t n, double* x_out,
                                    void* user) noexcept {
  if (user == nullptr) return static_cast<int>(Status::InvalidArgument);
  return static_cast<SedSimulator*>(user)->simulate(theta, n, x_out);
}

void SedSimulator::noiseless_photometry(const double* theta, const double* z, int64_t n,
                                        double* nmgy_out) const {
  check_theta(theta, n);
  require(n == 0 || (z != nullptr && nmgy_out != nullptr),
          "SedSimulator::noiseless_photometry: z or nmgy_out is null");
  model_.photometry_batch(theta, z, n, nmgy_out);
}

}  // namespace gml::sed
