#include "core/posterior/sed/model.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/common/error.h"
#include "core/posterior/sed/dust.h"
#include "core/posterior/sed/photometry.h"

namespace gml::sed {

namespace {

constexpr double kLn10 = 2.302585092994046;
constexpr size_t kNt = static_cast<size_t>(kNumTemplates);

}  // namespace

SedModel::SedModel(TemplateSet templates, std::vector<Filter> filters, FlatLambdaCdm cosmology)
    : templates_(std::move(templates)), filters_(std::move(filters)), cosmology_(cosmology) {
  require(templates_.n_templates() == kNumTemplates,
          "SedModel: expected " + std::to_string(kNumTemplates) + " templates, got " +
              std::to_string(templates_.n_templates()));
  require(templates_.n_wave() >= 3, "SedModel: templates need at least 3 wavelengths");
  require(templates_.flux.size() == kNt * templates_.wave.size(),
          "SedModel: template flux array has " + std::to_string(templates_.flux.size()) +
              " values, expected " + std::to_string(kNt * templates_.wave.size()));
  require(!filters_.empty(), "SedModel: needs at least one filter");

  const size_t nw = templates_.wave.size();
  const auto& w = templates_.wave;
  tflux_.resize(nw * kNt);
  weight_.resize(nw);
  calz_.resize(nw);
  log_ratio_.resize(nw);
  for (size_t k = 0; k < nw; ++k) {
    for (size_t i = 0; i < kNt; ++i) tflux_[k * kNt + i] = templates_.flux[i * nw + k];
    const double lo = k > 0 ? w[k - 1] : w[k];
    const double hi = k + 1 < nw ? w[k + 1] : w[k];
    weight_[k] = w[k] * 0.5 * (hi - lo);
    calz_[k] = -0.4 * kLn10 * kTauToAv / kCalzettiRv * calzetti_k(w[k]);
    log_ratio_[k] = std::log(w[k] / kNollPivotAngstrom);
  }

  band_lo_ = filters_.front().lambda_min();
  band_hi_ = filters_.front().lambda_max();
  for (const auto& f : filters_) {
    Band b;
    b.wave = f.wave();
    b.resp = f.response();
    b.lo = f.lambda_min();
    b.hi = f.lambda_max();
    b.norm = kNanomaggiesPerMaggy / (kSpeedOfLightAngstromS * kAbZeroPointFnu * f.ab_norm());
    bands_.push_back(std::move(b));
    band_lo_ = std::min(band_lo_, f.lambda_min());
    band_hi_ = std::max(band_hi_, f.lambda_max());
  }
}

SedModel SedModel::load(const std::string& sed_dir, FlatLambdaCdm cosmology) {
  return SedModel(TemplateSet::read_kcorrect(sed_dir + "/kcorrect-default-v4.fits"),
                  read_sdss_filters(sed_dir + "/filters"), cosmology);
}

void SedModel::weights(const double* theta, double* w) const {
  dirichlet_from_beta(theta + kThetaBeta1, kNumTemplates, w);
}

void SedModel::formed_mass_coefficients(const double* theta, double* coef) const {
  require(std::isfinite(theta[kThetaLogMstar]),
          "SedModel: log10 M* must be finite, got " + std::to_string(theta[kThetaLogMstar]));
  double w[kNt];
  weights(theta, w);
  double remain = 0.0;
  for (size_t i = 0; i < kNt; ++i) remain += w[i] * templates_.mremain[i];
  const double mstar = std::pow(10.0, theta[kThetaLogMstar]);
  for (size_t i = 0; i < kNt; ++i) coef[i] = mstar * w[i] / remain;
}

SedDerived SedModel::derived(const double* theta) const {
  double c[kNt];
  formed_mass_coefficients(theta, c);
  SedDerived d;
  for (size_t i = 0; i < kNt; ++i) {
    d.mass_formed += c[i];
    d.mass_surviving += c[i] * templates_.mremain[i];
    d.metallicity += c[i] * templates_.mets[i];
    d.mass_300myr += c[i] * templates_.m300[i];
    d.mass_1gyr += c[i] * templates_.m1000[i];
  }
  d.metallicity /= d.mass_formed;
  d.sfr_300myr = d.mass_300myr / 3.0e8;
  d.sfr_1gyr = d.mass_1gyr / 1.0e9;
  return d;
}

void SedModel::photometry(const double* theta, double z, double* nmgy_out) const {
  double c[kNt];
  formed_mass_coefficients(theta, c);
  photometry_from_coefficients(c, theta[kThetaTauV], theta[kThetaDustSlope], z, nmgy_out);
}

void SedModel::photometry_from_coefficients(const double* coef, double tau_v, double delta,
                                            double z, double* nmgy_out) const {
  require(std::isfinite(z) && z > 0.0,
          "SedModel::photometry: redshift must be finite and > 0, got " + std::to_string(z));
  require(std::isfinite(tau_v) && tau_v >= 0.0,
          "SedModel::photometry: tau_V must be finite and >= 0, got " + std::to_string(tau_v));
  require(std::isfinite(delta),
          "SedModel::photometry: dust slope delta must be finite, got " + std::to_string(delta));
  for (size_t i = 0; i < kNt; ++i) {
    require(std::isfinite(coef[i]),
            "SedModel::photometry: coefficient " + std::to_string(i) + " is not finite");
  }
  const auto& w = templates_.wave;
  const double opz = 1.0 + z;
  // Rest-frame range seen by the filters; it must lie inside the templates.
  const double rest_lo = band_lo_ / opz;
  const double rest_hi = band_hi_ / opz;
  if (rest_lo < w.front() || rest_hi > w.back()) {
    fail(Status::InvalidArgument, "SedModel::photometry: at z = " + std::to_string(z) +
                                      " the filters see rest-frame " + std::to_string(rest_lo) +
                                      "-" + std::to_string(rest_hi) +
                                      " A, outside the templates' " + std::to_string(w.front()) +
                                      "-" + std::to_string(w.back()) + " A");
  }
  const size_t k0 = static_cast<size_t>(std::lower_bound(w.begin(), w.end(), rest_lo) - w.begin());
  const size_t k1 = static_cast<size_t>(std::upper_bound(w.begin(), w.end(), rest_hi) - w.begin());

  // g_k = trapezoid weight * l_k * attenuated rest-frame flux at sample k.
  thread_local std::vector<double> g;
  g.resize(k1 - k0);
  const double c0 = coef[0], c1 = coef[1], c2 = coef[2], c3 = coef[3], c4 = coef[4];
  const double* tf = tflux_.data();
  if (tau_v > 0.0) {
    for (size_t k = k0; k < k1; ++k) {
      const double* t = tf + k * kNt;
      const double s = c0 * t[0] + c1 * t[1] + c2 * t[2] + c3 * t[3] + c4 * t[4];
      const double att = std::exp(tau_v * calz_[k] * std::exp(delta * log_ratio_[k]));
      g[k - k0] = s * att * weight_[k];
    }
  } else {
    for (size_t k = k0; k < k1; ++k) {
      const double* t = tf + k * kNt;
      const double s = c0 * t[0] + c1 * t[1] + c2 * t[2] + c3 * t[3] + c4 * t[4];
      g[k - k0] = s * weight_[k];
    }
  }

  const double dl = cosmology_.luminosity_distance_mpc(z);
  const double geom = (10.0 * kParsecInMpc / dl) * (10.0 * kParsecInMpc / dl);
  for (size_t b = 0; b < bands_.size(); ++b) {
    const Band& band = bands_[b];
    const auto& fw = band.wave;
    const auto& fr = band.resp;
    size_t k = static_cast<size_t>(std::lower_bound(w.begin() + static_cast<std::ptrdiff_t>(k0),
                                                    w.begin() + static_cast<std::ptrdiff_t>(k1),
                                                    band.lo / opz) -
                                   w.begin());
    size_t seg = 0;
    double sum = 0.0;
    for (; k < k1; ++k) {
      const double l = w[k] * opz;
      if (l > band.hi) break;
      while (seg + 2 < fw.size() && l > fw[seg + 1]) ++seg;
      const double t = (l - fw[seg]) / (fw[seg + 1] - fw[seg]);
      sum += g[k - k0] * (fr[seg] + t * (fr[seg + 1] - fr[seg]));
    }
    nmgy_out[b] = sum * opz * geom * band.norm;
  }
}

void SedModel::photometry_batch(const double* theta, const double* z, int64_t n,
                                double* nmgy_out) const {
  require(n >= 0, "SedModel::photometry_batch: n must be >= 0, got " + std::to_string(n));
  const int64_t nb = n_bands();
  for (int64_t r = 0; r < n; ++r) {
    photometry(theta + r * kThetaDim, z[r], nmgy_out + r * nb);
  }
}

Spectrum SedModel::observed_spectrum(const double* theta, double z) const {
  require(std::isfinite(z) && z > 0.0,
          "SedModel::observed_spectrum: redshift must be > 0, got " + std::to_string(z));
  double c[kNt];
  formed_mass_coefficients(theta, c);
  const size_t nw = templates_.wave.size();
  Spectrum rest{templates_.wave, std::vector<double>(nw, 0.0)};
  for (size_t k = 0; k < nw; ++k) {
    double s = 0.0;
    for (size_t i = 0; i < kNt; ++i) s += c[i] * tflux_[k * kNt + i];
    rest.flam[k] = s * dust_transmission(rest.wave[k], theta[kThetaTauV], theta[kThetaDustSlope]);
  }
  return redshift_spectrum(rest, z, cosmology_.luminosity_distance_mpc(z));
}

}  // namespace gml::sed
