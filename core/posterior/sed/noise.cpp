#include "core/posterior/sed/noise.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/common/error.h"
#include "core/posterior/sed/catalog.h"

namespace gml::sed {

namespace {

double poly(const std::array<double, 4>& c, double u) {
  return c[0] + u * (c[1] + u * (c[2] + u * c[3]));
}

double poly_derivative(const std::array<double, 4>& c, double u) {
  return c[1] + u * (2.0 * c[2] + u * 3.0 * c[3]);
}

double quantile(std::vector<double> v, double q) {
  const size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double median(std::vector<double> v) {
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  if (v.size() % 2 == 1) return v[m];
  const double hi = v[m];
  return 0.5 * (hi + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m)));
}

// Least-squares cubic through (u, y): normal equations, Gaussian
// elimination with partial pivoting (u is standardised, so they are well
// conditioned).
std::array<double, 4> fit_cubic(const std::vector<double>& u, const std::vector<double>& y,
                                const std::vector<char>& keep) {
  double a[4][5] = {};
  for (size_t k = 0; k < u.size(); ++k) {
    if (!keep[k]) continue;
    double p[4] = {1.0, u[k], u[k] * u[k], u[k] * u[k] * u[k]};
    for (int r = 0; r < 4; ++r) {
      for (int c = 0; c < 4; ++c) a[r][c] += p[r] * p[c];
      a[r][4] += p[r] * y[k];
    }
  }
  for (int col = 0; col < 4; ++col) {
    int piv = col;
    for (int r = col + 1; r < 4; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
    }
    for (int c = 0; c < 5; ++c) std::swap(a[col][c], a[piv][c]);
    if (std::fabs(a[col][col]) < 1e-300) fail(Status::InvalidArgument, "noise fit is singular");
    for (int r = 0; r < 4; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < 5; ++c) a[r][c] -= f * a[col][c];
    }
  }
  std::array<double, 4> out{};
  for (int r = 0; r < 4; ++r) out[static_cast<size_t>(r)] = a[r][4] / a[r][r];
  return out;
}

NoiseBandFit fit_band(const std::vector<double>& x, const std::vector<double>& y, int band) {
  require(x.size() >= 20, "NoiseModel::fit: band " + std::to_string(band) + " has only " +
                              std::to_string(x.size()) +
                              " rows with finite flux > 0 and ivar > 0 (need 20)");
  NoiseBandFit f;
  double mean = 0.0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double var = 0.0;
  for (double v : x) var += (v - mean) * (v - mean);
  f.x_center = mean;
  f.x_scale = std::sqrt(var / static_cast<double>(x.size()));
  if (!(f.x_scale > 0.0)) f.x_scale = 1.0;
  f.x_min = quantile(x, 0.005);
  f.x_max = quantile(x, 0.995);

  std::vector<double> u(x.size());
  for (size_t k = 0; k < x.size(); ++k) u[k] = (x[k] - f.x_center) / f.x_scale;
  std::vector<char> keep(x.size(), 1);
  std::vector<double> res(x.size());
  for (int iter = 0; iter < 4; ++iter) {
    f.coef = fit_cubic(u, y, keep);
    std::vector<double> kept;
    for (size_t k = 0; k < x.size(); ++k) {
      res[k] = y[k] - poly(f.coef, u[k]);
      if (keep[k]) kept.push_back(res[k]);
    }
    const double med = median(kept);
    for (double& r : kept) r = std::fabs(r - med);
    f.scatter = 1.4826 * median(kept);
    if (iter == 3) break;
    for (size_t k = 0; k < x.size(); ++k) keep[k] = std::fabs(res[k]) <= 3.0 * f.scatter;
  }
  f.n_used = static_cast<int64_t>(std::count(keep.begin(), keep.end(), 1));
  const double slope = poly_derivative(f.coef, (f.x_max - f.x_center) / f.x_scale) / f.x_scale;
  f.slope_hi = std::min(1.0, std::max(0.0, slope));
  return f;
}

}  // namespace

NoiseModel::NoiseModel(std::vector<NoiseBandFit> bands) : bands_(std::move(bands)) {
  require(!bands_.empty(), "NoiseModel: no bands");
  for (size_t b = 0; b < bands_.size(); ++b) {
    const auto& f = bands_[b];
    bool finite = std::isfinite(f.x_center) && std::isfinite(f.x_scale) && std::isfinite(f.x_min) &&
                  std::isfinite(f.x_max) && std::isfinite(f.slope_hi) && std::isfinite(f.scatter);
    for (double c : f.coef) finite = finite && std::isfinite(c);
    require(finite && f.x_scale > 0.0 && f.x_min <= f.x_max && f.scatter >= 0.0,
            "NoiseModel: band " + std::to_string(b) +
                " fit is invalid (non-finite value, x_scale <= 0, x_min > x_max or scatter < 0)");
  }
}

NoiseModel NoiseModel::fit(const double* flux, const double* ivar, int64_t n, int n_bands) {
  require(n_bands >= 1, "NoiseModel::fit: n_bands must be >= 1, got " + std::to_string(n_bands));
  require(n >= 0, "NoiseModel::fit: n must be >= 0, got " + std::to_string(n));
  std::vector<NoiseBandFit> fits;
  for (int b = 0; b < n_bands; ++b) {
    std::vector<double> x;
    std::vector<double> y;
    for (int64_t r = 0; r < n; ++r) {
      const double f = flux[r * n_bands + b];
      const double iv = ivar[r * n_bands + b];
      if (!(std::isfinite(f) && std::isfinite(iv) && f > 0.0 && iv > 0.0)) continue;
      x.push_back(std::log10(f));
      y.push_back(-0.5 * std::log10(iv));
    }
    fits.push_back(fit_band(x, y, b));
  }
  return NoiseModel(std::move(fits));
}

NoiseModel NoiseModel::fit_catalog(const std::string& path) {
  const CatalogPhotometry c = read_catalog_photometry(path);
  try {
    return fit(c.flux.data(), c.ivar.data(), c.n, 5);
  } catch (const Error& e) {
    fail(e.status(), "fitting the noise model to '" + path + "': " + e.what());
  }
}

double NoiseModel::log10_sigma(int band, double flux_nmgy) const {
  require(band >= 0 && band < n_bands(), "NoiseModel: band " + std::to_string(band) +
                                             " outside [0, " + std::to_string(n_bands()) + ")");
  const NoiseBandFit& f = bands_[static_cast<size_t>(band)];
  const double x = flux_nmgy > 0.0 ? std::log10(flux_nmgy) : f.x_min;
  if (x <= f.x_min) return poly(f.coef, (f.x_min - f.x_center) / f.x_scale);
  if (x >= f.x_max) {
    return poly(f.coef, (f.x_max - f.x_center) / f.x_scale) + f.slope_hi * (x - f.x_max);
  }
  return poly(f.coef, (x - f.x_center) / f.x_scale);
}

double NoiseModel::median_sigma(int band, double flux_nmgy) const {
  return std::pow(10.0, log10_sigma(band, flux_nmgy));
}

double NoiseModel::draw_sigma(int band, double flux_nmgy, Rng& rng) const {
  const double l = log10_sigma(band, flux_nmgy);  // validates band
  const double s = bands_[static_cast<size_t>(band)].scatter;
  return std::pow(10.0, l + s * rng.normal());
}

}  // namespace gml::sed
