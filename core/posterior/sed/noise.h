// Photometric noise model of the SED simulator, fitted on a real catalog
// (docs/sed_model.md, "Noise"). Per band, the flux error sigma = 1/sqrt(ivar)
// follows
//   log10 sigma = P(x) + s * N(0, 1),   x = log10(flux / nanomaggy),
// with P a cubic fitted by least squares (3-sigma clipped) over the
// catalog's fluxes and s the robust (1.4826 MAD) scatter of the residuals.
// Outside the fitted flux range P is continued as a constant at the faint
// end (the sky-limited floor) and linearly, with its end slope clamped to
// [0, 1], at the bright end.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/posterior/sed/random.h"

namespace gml::sed {

/// The fitted relation of one band. Storing these numbers is enough to
/// rebuild the model without refitting (NoiseModel(bands)).
struct NoiseBandFit {
  /// P(x) = sum_p coef[p] u^p with u = (x - x_center) / x_scale.
  std::array<double, 4> coef = {0.0, 0.0, 0.0, 0.0};
  double x_center = 0.0;
  double x_scale = 1.0;
  double x_min = 0.0;  ///< fitted range of x (0.5th and 99.5th percentiles)
  double x_max = 0.0;
  double slope_hi = 0.0;  ///< dP/dx used above x_max
  double scatter = 0.0;   ///< dex
  int64_t n_used = 0;     ///< rows kept by the fit (after clipping)
};

class NoiseModel {
 public:
  /// Uses stored fits. Throws gml::Error for an empty list or a fit with
  /// non-finite numbers, x_scale <= 0, x_min > x_max or scatter < 0.
  explicit NoiseModel(std::vector<NoiseBandFit> bands);

  /// Fits each of n_bands bands from flux[n][n_bands] (nanomaggies) and
  /// ivar[n][n_bands] (nanomaggies^-2), row-major. Rows with a non-finite
  /// value, flux <= 0 or ivar <= 0 are left out of that band's fit. Throws
  /// gml::Error if a band has fewer than 20 usable rows.
  static NoiseModel fit(const double* flux, const double* ivar, int64_t n, int n_bands);
  /// Reads MODELFLUX / MODELFLUX_IVAR of a catalog (read_catalog_photometry)
  /// and fits the 5 bands.
  static NoiseModel fit_catalog(const std::string& path);

  int n_bands() const { return static_cast<int>(bands_.size()); }
  const std::vector<NoiseBandFit>& bands() const { return bands_; }

  /// P(log10 flux) for band `band`; flux <= 0 takes the faint-end floor.
  double log10_sigma(int band, double flux_nmgy) const;
  /// The median sigma 10^P (nanomaggies).
  double median_sigma(int band, double flux_nmgy) const;
  /// A random sigma 10^(P + s N(0,1)) (nanomaggies); one normal draw.
  double draw_sigma(int band, double flux_nmgy, Rng& rng) const;

 private:
  std::vector<NoiseBandFit> bands_;
};

}  // namespace gml::sed
