// Synthetic AB photometry of a sampled spectrum through a photon-counting
// bandpass (docs/sed_model.md, "Photometry").
#pragma once

#include <cstddef>

#include "core/posterior/sed/filters.h"
#include "core/posterior/sed/templates.h"

namespace gml::sed {

/// The AB zero point, 3631 Jy in erg s^-1 cm^-2 Hz^-1.
constexpr double kAbZeroPointFnu = 3631.0e-23;
/// Nanomaggies per maggy.
constexpr double kNanomaggiesPerMaggy = 1.0e9;

/// What ab_maggies does where the filter sees wavelengths the spectrum
/// does not cover.
enum class Coverage {
  Require,     ///< throw gml::Error (the result would be silently too faint)
  ZeroOutside  ///< treat the spectrum as zero outside its samples
};

/// AB maggies of the observed spectrum (wave, Angstrom; flam, erg/s/cm^2/A;
/// n >= 2 samples, wave strictly increasing):
///   maggies = int f_nu(l) R(l) dl/l / (3631 Jy int R(l) dl/l),
/// f_nu = f_lambda l^2 / c. The numerator is the trapezoid rule on the
/// spectrum's own samples with R linearly interpolated there (0 outside the
/// filter table); the denominator is exact (Filter::ab_norm). Throws
/// gml::Error for bad arrays or, with Coverage::Require, when the spectrum
/// does not span the filter's non-zero response.
double ab_maggies(const double* wave, const double* flam, size_t n, const Filter& filter,
                  Coverage coverage = Coverage::Require);
double ab_maggies(const Spectrum& s, const Filter& filter, Coverage coverage = Coverage::Require);

/// The spectrum redshifted to z and dimmed as a source at luminosity
/// distance `dl_mpc` whose f_lambda is given at 10 pc:
///   wave_obs = (1+z) wave,  flam_obs = flam (10 pc / D_L)^2 / (1+z).
Spectrum redshift_spectrum(const Spectrum& rest_at_10pc, double z, double dl_mpc);

}  // namespace gml::sed
