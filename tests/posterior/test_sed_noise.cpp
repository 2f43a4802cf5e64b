// The photometric noise model fitted on the SDSS catalog
// (core/posterior/sed/noise.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/sed/catalog.h"
#include "core/posterior/sed/noise.h"

namespace {

using namespace gml::sed;

const std::string kCatalog = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";

const CatalogPhotometry& catalog() {
  static const CatalogPhotometry c = read_catalog_photometry(kCatalog);
  return c;
}

const NoiseModel& noise() {
  static const NoiseModel m = NoiseModel::fit_catalog(kCatalog);
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// In each decile of flux the relation's median sigma matches the
// catalog's median sigma within 10%.
TEST(SedNoise, ReproducesCatalogMedianSigmaInFluxBins) {
  const auto& c = catalog();
  for (int b = 0; b < 5; ++b) {
    std::vector<std::pair<double, double>> rows;  // (flux, sigma)
    for (int64_t r = 0; r < c.n; ++r) {
      const double f = c.flux[static_cast<size_t>(r * 5 + b)];
      const double iv = c.ivar[static_cast<size_t>(r * 5 + b)];
      if (f > 0 && iv > 0) rows.emplace_back(f, 1.0 / std::sqrt(iv));
    }
    std::sort(rows.begin(), rows.end());
    const size_t nbin = 10;
    double worst = 0.0;
    for (size_t k = 0; k < nbin; ++k) {
      const size_t lo = k * rows.size() / nbin;
      const size_t hi = (k + 1) * rows.size() / nbin;
      std::vector<double> sig, model;
      for (size_t i = lo; i < hi; ++i) {
        sig.push_back(rows[i].second);
        model.push_back(noise().median_sigma(b, rows[i].first));
      }
      const double ratio = median(model) / median(sig);
      EXPECT_NEAR(ratio, 1.0, 0.10) << "band " << b << " flux decile " << k;
      worst = std::max(worst, std::fabs(ratio - 1.0));
    }
    std::printf("[ info ] band %d: %lld rows fitted, scatter %.3f dex, worst decile %.1f%%\n", b,
                static_cast<long long>(noise().bands()[static_cast<size_t>(b)].n_used),
                noise().bands()[static_cast<size_t>(b)].scatter, 100 * worst);
  }
}

TEST(SedNoise, ScatterMatchesCatalog) {
  // The fitted scatter is 0.05-0.12 dex in every band; the drawn sigmas have
  // that log-normal spread around the relation.
  Rng rng(5);
  for (int b = 0; b < 5; ++b) {
    const double s = noise().bands()[static_cast<size_t>(b)].scatter;
    EXPECT_GT(s, 0.03) << b;
    EXPECT_LT(s, 0.15) << b;
    const double f = 100.0;
    std::vector<double> l;
    for (int k = 0; k < 20000; ++k) l.push_back(std::log10(noise().draw_sigma(b, f, rng)));
    double m = 0, v = 0;
    for (double x : l) m += x;
    m /= l.size();
    for (double x : l) v += (x - m) * (x - m);
    v /= l.size();
    EXPECT_NEAR(m, noise().log10_sigma(b, f), 0.005) << b;
    EXPECT_NEAR(std::sqrt(v), s, 0.03 * s) << b;
  }
}

TEST(SedNoise, ExtrapolatesSensibly) {
  for (int b = 0; b < 5; ++b) {
    const auto& fit = noise().bands()[static_cast<size_t>(b)];
    const double faint = std::pow(10.0, fit.x_min);
    // Constant sky-limited floor below the fitted range, also for flux <= 0.
    EXPECT_DOUBLE_EQ(noise().median_sigma(b, 0.01 * faint), noise().median_sigma(b, faint));
    EXPECT_DOUBLE_EQ(noise().median_sigma(b, -3.0), noise().median_sigma(b, faint));
    // Never decreasing with flux above the range.
    const double bright = std::pow(10.0, fit.x_max);
    EXPECT_GE(noise().median_sigma(b, 100 * bright), noise().median_sigma(b, bright));
    EXPECT_GE(fit.slope_hi, 0.0);
    EXPECT_LE(fit.slope_hi, 1.0);
  }
  EXPECT_THROW(noise().median_sigma(5, 1.0), gml::Error);
  EXPECT_THROW(noise().median_sigma(-1, 1.0), gml::Error);
}

TEST(SedNoise, StoredFitRebuildsTheSameModel) {
  const NoiseModel copy(noise().bands());
  for (int b = 0; b < 5; ++b) {
    for (double f : {0.3, 3.0, 30.0, 300.0, 3e4}) {
      EXPECT_EQ(copy.median_sigma(b, f), noise().median_sigma(b, f));
    }
  }
  auto bad = noise().bands();
  bad[2].x_scale = 0.0;
  EXPECT_THROW(NoiseModel{bad}, gml::Error);
  EXPECT_THROW(NoiseModel{std::vector<NoiseBandFit>{}}, gml::Error);
}

TEST(SedNoise, FitRecoversAKnownRelation) {
  // Synthetic catalog: sigma = 0.5 * flux^0.3 * 10^(0.08 N(0,1)).
  Rng rng(11);
  const int64_t n = 5000;
  std::vector<double> flux(n), ivar(n);
  for (int64_t r = 0; r < n; ++r) {
    flux[r] = std::pow(10.0, rng.uniform(0.0, 3.0));
    const double s = 0.5 * std::pow(flux[r], 0.3) * std::pow(10.0, 0.08 * rng.normal());
    ivar[r] = 1.0 / (s * s);
  }
  flux[0] = -1.0;  // excluded rows
  ivar[1] = 0.0;
  const NoiseModel m = NoiseModel::fit(flux.data(), ivar.data(), n, 1);
  EXPECT_EQ(m.n_bands(), 1);
  EXPECT_NEAR(m.bands()[0].scatter, 0.08, 0.006);
  for (double f : {3.0, 30.0, 300.0}) {
    EXPECT_NEAR(m.log10_sigma(0, f), std::log10(0.5 * std::pow(f, 0.3)), 0.01) << f;
  }
  EXPECT_NEAR(m.bands()[0].slope_hi, 0.3, 0.05);
  EXPECT_LE(m.bands()[0].n_used, n - 2);
  try {
    NoiseModel::fit(flux.data(), ivar.data(), 10, 1);
    FAIL();
  } catch (const gml::Error& e) {
    EXPECT_NE(std::string(e.what()).find("band 0"), std::string::npos) << e.what();
  }
}

}  // namespace
