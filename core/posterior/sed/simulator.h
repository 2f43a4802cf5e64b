// The SED simulator of the posterior family (docs/sed_model.md): theta ->
// noisy observation x. For each row it draws z ~ U(z_min, z_max), computes
// the noiseless fluxes with SedModel, draws each band's error sigma from
// the NoiseModel at the true flux, adds N(0, sigma) and converts to x
// (observation.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/posterior/sed/model.h"
#include "core/posterior/sed/noise.h"
#include "core/posterior/sed/observation.h"
#include "core/posterior/sed/random.h"

namespace gml::sed {

struct SimulatorOptions {
  double z_min = kDefaultZMin;  ///< redshift prior U(z_min, z_max); 0 < z_min < z_max <= 3
  double z_max = kDefaultZMax;
  uint64_t seed = 0;
};

/// Not thread-safe (it owns the random stream); use one object per thread.
/// Every row consumes the same number of random numbers (1 for z, 4 per
/// band), so a batch gives the same rows as the same theta split into
/// several calls.
class SedSimulator {
 public:
  /// Throws gml::Error if the noise model's band count differs from the
  /// model's, or for an invalid redshift range.
  SedSimulator(SedModel model, NoiseModel noise, SimulatorOptions options = SimulatorOptions());

  /// The model from `sed_dir` (SedModel::load) and the noise model fitted to
  /// the catalog at `catalog_path` (NoiseModel::fit_catalog).
  static SedSimulator load(const std::string& sed_dir, const std::string& catalog_path,
                           SimulatorOptions options = SimulatorOptions());

  /// The callback shape of the posterior family: theta[n][kThetaDim] ->
  /// x_out[n][kObsDim] (row-major). Returns 0 on success; otherwise the
  /// gml::Status of the failure (e.g. 1 for a theta row with a beta
  /// outside [0, 1], tau_V < 0 or a non-finite entry), leaves x_out
  /// untouched and keeps the message for last_error(). Never throws.
  int simulate(const double* theta, int64_t n, double* x_out) noexcept;
  /// C trampoline: `user` is a SedSimulator*.
  static int simulate_callback(const double* theta, int64_t n, double* x_out, void* user) noexcept;

  /// As simulate, throwing gml::Error, with optional extra outputs (each
  /// may be null): z_out[n], the noiseless fluxes nmgy_true[n][5], the drawn
  /// errors sigma_out[n][5] and the noisy fluxes nmgy_obs[n][5], all
  /// nanomaggies.
  void simulate_detailed(const double* theta, int64_t n, double* x_out, double* z_out = nullptr,
                         double* nmgy_true = nullptr, double* sigma_out = nullptr,
                         double* nmgy_obs = nullptr);

  /// Noiseless fluxes of theta[n][kThetaDim] at z[n]: nmgy_out[n][5].
  /// No randomness. Throws gml::Error for invalid input.
  void noiseless_photometry(const double* theta, const double* z, int64_t n,
                            double* nmgy_out) const;

  /// Restarts the random stream.
  void reseed(uint64_t seed) { rng_.reseed(seed); }
  const SimulatorOptions& options() const { return options_; }
  const SedModel& model() const { return model_; }
  const NoiseModel& noise() const { return noise_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void check_theta(const double* theta, int64_t n) const;

  SedModel model_;
  NoiseModel noise_;
  SimulatorOptions options_;
  Rng rng_;
  std::string last_error_;
};

}  // namespace gml::sed
