// The SED forward model of the posterior family (a reproduction of the
// SEDflow setup, Hahn & Melchior 2022; docs/sed_model.md): SED parameters
// theta and a redshift give noiseless AB photometry in nanomaggies.
//
//   c_i      = M* w_i / sum_j w_j MREMAIN_j            (Msun formed, template i)
//   L(l)     = 10^(-0.4 A(l; tau_V, delta)) sum_i c_i T_i(l)     (rest frame, 10 pc)
//   f_obs(l) = L(l / (1+z)) (10 pc / D_L(z))^2 / (1+z)
//   flux_b   = 1e9 int f_nu R_b dl/l / (3631 Jy int R_b dl/l)   (nanomaggies)
//
// The band integrals run over the template's rest-frame samples, which
// lie at l (1+z) in the observed frame, so nothing is resampled per
// galaxy: the dust curve, the trapezoid weights and the template fluxes
// are precomputed per sample and each band's response is interpolated at
// the shifted samples.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/posterior/sed/cosmology.h"
#include "core/posterior/sed/filters.h"
#include "core/posterior/sed/parameters.h"
#include "core/posterior/sed/templates.h"

namespace gml::sed {

/// Physical quantities implied by one theta (docs/sed_model.md).
struct SedDerived {
  double mass_formed = 0.0;     ///< sum_i c_i, Msun
  double mass_surviving = 0.0;  ///< sum_i c_i MREMAIN_i, Msun (= 10^theta[0])
  double metallicity = 0.0;     ///< formed-mass-weighted METS (mass fraction)
  double mass_300myr = 0.0;     ///< sum_i c_i M300_i: formed in the last 300 Myr, Msun
  double mass_1gyr = 0.0;       ///< sum_i c_i M1000_i: formed in the last 1 Gyr, Msun
  double sfr_300myr = 0.0;      ///< mass_300myr / 3e8 yr, Msun/yr
  double sfr_1gyr = 0.0;        ///< mass_1gyr / 1e9 yr, Msun/yr
};

/// Immutable after construction; all const members are thread-safe.
class SedModel {
 public:
  /// Needs kNumTemplates templates and at least one filter; filters are the
  /// output bands in order. Throws gml::Error otherwise.
  SedModel(TemplateSet templates, std::vector<Filter> filters,
           FlatLambdaCdm cosmology = FlatLambdaCdm());

  /// Loads `sed_dir`/kcorrect-default-v4.fits and
  /// `sed_dir`/filters/sdss_{u,g,r,i,z}0.dat (column `pass`), as laid out in
  /// the repository's data/sed/. Throws gml::Error naming the file.
  static SedModel load(const std::string& sed_dir, FlatLambdaCdm cosmology = FlatLambdaCdm());

  int n_bands() const { return static_cast<int>(filters_.size()); }
  const TemplateSet& templates() const { return templates_; }
  const std::vector<Filter>& filters() const { return filters_; }
  const FlatLambdaCdm& cosmology() const { return cosmology_; }

  /// Template weights w (kNumTemplates, sum 1) and formed-mass
  /// coefficients c_i = M* w_i / sum_j w_j MREMAIN_j of theta. Throws
  /// gml::Error for a non-finite log M* or a beta outside [0, 1].
  void weights(const double* theta, double* w) const;
  void formed_mass_coefficients(const double* theta, double* coef) const;
  SedDerived derived(const double* theta) const;

  /// Noiseless photometry of one galaxy: nmgy_out[n_bands()] in
  /// nanomaggies (AB). Requires z > 0 with the filters' rest-frame range
  /// inside the templates' (z < 3.96 for SDSS u and kcorrect v4), betas in
  /// [0, 1] and tau_V >= 0; gml::Error otherwise.
  void photometry(const double* theta, double z, double* nmgy_out) const;
  /// As photometry, from formed-mass coefficients coef[kNumTemplates]
  /// (Msun formed per template; any finite values) and dust parameters.
  void photometry_from_coefficients(const double* coef, double tau_v, double delta, double z,
                                    double* nmgy_out) const;
  /// Rows theta[n][kThetaDim], z[n] -> nmgy_out[n][n_bands()].
  void photometry_batch(const double* theta, const double* z, int64_t n, double* nmgy_out) const;

  /// The attenuated observed-frame spectrum f_obs (Angstrom, erg/s/cm^2/A)
  /// on the template grid times (1+z): for plotting and for checking the
  /// fast path against ab_maggies.
  Spectrum observed_spectrum(const double* theta, double z) const;

 private:
  struct Band {
    std::vector<double> wave;  // filter samples, Angstrom
    std::vector<double> resp;
    double lo = 0.0;  // filter table range, observed frame
    double hi = 0.0;
    double norm = 0.0;  // 1e9 / (c * 3631 Jy * int R dl/l)
  };

  TemplateSet templates_;
  std::vector<Filter> filters_;
  FlatLambdaCdm cosmology_;
  std::vector<Band> bands_;
  // Per rest-frame template sample k:
  std::vector<double> tflux_;      // [n_wave][kNumTemplates], interleaved
  std::vector<double> weight_;     // l_k (l_{k+1} - l_{k-1}) / 2: trapezoid weight times l
  std::vector<double> calz_;       // -0.4 ln10 * 1.086 / 4.05 * k_Calzetti(l_k)
  std::vector<double> log_ratio_;  // ln(l_k / 5500 A)
  double band_lo_ = 0.0;           // union of the filter tables, observed frame
  double band_hi_ = 0.0;
};

}  // namespace gml::sed
