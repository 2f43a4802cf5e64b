// Luptitudes, the observation vector and catalog-row flags
// (core/posterior/sed/magnitudes.h, sed_observation.h).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/sed/catalog.h"
#include "core/posterior/sed/magnitudes.h"
#include "core/posterior/sed/observation.h"

namespace {

using namespace gml::sed;

TEST(SedMagnitudes, LuptitudeIsPogsonForBrightSources) {
  for (int b = 0; b < 5; ++b) {
    const double soft = kSdssSofteningMaggies[b];
    for (double nmgy : {5.0, 20.0, 300.0, 1e5}) {
      const double d = asinh_mag(nmgy, soft) - pogson_mag(nmgy);
      // Offset -(2.5/ln10) (b/f)^2 to leading order; the next term is
      // smaller by a factor ~1.5 (b/f)^2.
      const double x = soft / (nmgy * 1e-9);
      EXPECT_LT(d, 0.0);
      EXPECT_NEAR(d, -kPogson * x * x, 2.0 * kPogson * x * x * x * x + 1e-13) << nmgy;
      if (nmgy * 1e-9 > 105 * soft) {
        EXPECT_LT(std::fabs(d), 1e-4) << "band " << b << " flux " << nmgy;
      }
    }
  }
  EXPECT_NEAR(pogson_mag(1.0), 22.5, 1e-15);
  EXPECT_TRUE(std::isnan(pogson_mag(-1.0)));
}

TEST(SedMagnitudes, LuptitudeFiniteForZeroAndNegativeFlux) {
  const double b = kSdssSofteningMaggies[0];
  const double m0 = asinh_mag(0.0, b);
  EXPECT_NEAR(m0, -kPogson * std::log(b), 1e-12);  // u: 24.63
  EXPECT_NEAR(m0, 24.63, 0.01);
  double last = -1e300;
  for (double f : {10.0, 1.0, 0.1, 0.0, -0.1, -1.0, -10.0}) {
    const double m = asinh_mag(f, b);
    EXPECT_TRUE(std::isfinite(m)) << f;
    EXPECT_GT(m, last) << "fainter flux, larger magnitude";
    last = m;
    EXPECT_NEAR(asinh_mag_to_nmgy(m, b), f, 1e-9 * std::fmax(1.0, std::fabs(f)));
  }
}

TEST(SedMagnitudes, ErrorIsTheDerivative) {
  const double b = kSdssSofteningMaggies[2];
  for (double f : {-0.3, 0.05, 0.7, 40.0}) {
    const double h = 1e-6;
    const double deriv = (asinh_mag(f + h, b) - asinh_mag(f - h, b)) / (2 * h);
    EXPECT_NEAR(asinh_mag_error(f, 0.2, b), 0.2 * std::fabs(deriv), 1e-6 * std::fabs(deriv));
  }
  // Bright limit: (2.5/ln10) sigma / f.
  EXPECT_NEAR(asinh_mag_error(1000.0, 10.0, b), kPogson * 0.01, 1e-9);
}

TEST(SedObservation, NamesAndLayout) {
  EXPECT_EQ(kObsDim, 11);
  EXPECT_STREQ(observation_names()[0], "mag_u");
  EXPECT_STREQ(observation_names()[9], "magerr_z");
  EXPECT_STREQ(observation_names()[10], "z");
  const double f[5] = {10, 20, 30, 40, 50};
  const double s[5] = {1, 1, 1, 1, 1};
  double x[11];
  observation_from_flux(f, s, 0.1, x);
  for (int b = 0; b < 5; ++b) {
    EXPECT_DOUBLE_EQ(x[b], asinh_mag(f[b], kSdssSofteningMaggies[b]));
    EXPECT_DOUBLE_EQ(x[5 + b], asinh_mag_error(f[b], 1.0, kSdssSofteningMaggies[b]));
  }
  EXPECT_EQ(x[10], 0.1);
}

TEST(SedObservation, CatalogRowCalibration) {
  const double flux[5] = {10, 20, 30, 40, 50};
  const double ivar[5] = {4, 4, 4, 4, 4};
  const double ext[5] = {0.2, 0.15, 0.1, 0.08, 0.05};
  CatalogCalibration raw;
  raw.ab_offset = {0, 0, 0, 0, 0};
  raw.correct_extinction = false;
  double x[11], y[11];
  ASSERT_EQ(observation_from_catalog(flux, ivar, 0.1, ext, raw, x), 0);
  for (int b = 0; b < 5; ++b) {
    EXPECT_DOUBLE_EQ(x[b], asinh_mag(flux[b], kSdssSofteningMaggies[b]));
    EXPECT_DOUBLE_EQ(x[5 + b], asinh_mag_error(flux[b], 0.5, kSdssSofteningMaggies[b]));
  }
  const CatalogCalibration cal;  // kcorrect AB offsets, extinction corrected
  ASSERT_EQ(observation_from_catalog(flux, ivar, 0.1, ext, cal, y), 0);
  for (int b = 0; b < 5; ++b) {
    // Bright sources: magnitudes shift by offset - extinction; errors keep
    // their relative size.
    EXPECT_NEAR(y[b] - x[b], cal.ab_offset[static_cast<size_t>(b)] - ext[b], 2e-4) << b;
    EXPECT_NEAR(y[5 + b], x[5 + b], 2e-4 * x[5 + b] + 1e-5) << b;
  }
}

TEST(SedObservation, FlagsBadRows) {
  const CatalogCalibration cal;
  const double ivar_ok[5] = {1, 1, 1, 1, 1};
  const double flux_ok[5] = {5, 10, 20, 30, 40};
  double x[11];
  EXPECT_EQ(observation_from_catalog(flux_ok, ivar_ok, 0.1, nullptr, cal, x), 0);
  for (double v : x) EXPECT_TRUE(std::isfinite(v));

  // A negative flux is a measurement, not a failure.
  const double neg[5] = {-0.5, 10, 20, 30, 40};
  EXPECT_EQ(observation_from_catalog(neg, ivar_ok, 0.1, nullptr, cal, x), 0);
  EXPECT_TRUE(std::isfinite(x[0]));

  const double nan_flux[5] = {5, NAN, 20, 30, 40};
  EXPECT_EQ(observation_from_catalog(nan_flux, ivar_ok, 0.1, nullptr, cal, x), kObsFlagFluxMissing);
  EXPECT_TRUE(std::isnan(x[1]) && std::isnan(x[6]));
  EXPECT_TRUE(std::isfinite(x[0]) && std::isfinite(x[2]));

  const double inf_flux[5] = {5, 10, INFINITY, 30, 40};
  EXPECT_EQ(observation_from_catalog(inf_flux, ivar_ok, 0.1, nullptr, cal, x), kObsFlagFluxMissing);

  const double zero_ivar[5] = {1, 1, 1, 0, 1};
  EXPECT_EQ(observation_from_catalog(flux_ok, zero_ivar, 0.1, nullptr, cal, x),
            kObsFlagIvarNonPositive);
  EXPECT_TRUE(std::isnan(x[3]) && std::isnan(x[8]));
  const double neg_ivar[5] = {-1, 1, 1, 1, 1};
  EXPECT_EQ(observation_from_catalog(flux_ok, neg_ivar, 0.1, nullptr, cal, x),
            kObsFlagIvarNonPositive);

  EXPECT_EQ(observation_from_catalog(flux_ok, ivar_ok, 0.45, nullptr, cal, x),
            kObsFlagRedshiftOutOfRange);
  EXPECT_EQ(x[10], 0.45);
  EXPECT_EQ(observation_from_catalog(flux_ok, ivar_ok, 0.005, nullptr, cal, x),
            kObsFlagRedshiftOutOfRange);
  EXPECT_EQ(observation_from_catalog(flux_ok, ivar_ok, NAN, nullptr, cal, x),
            kObsFlagRedshiftOutOfRange);

  const double ext_nan[5] = {0.1, NAN, 0.1, 0.1, 0.1};
  EXPECT_EQ(observation_from_catalog(flux_ok, ivar_ok, 0.1, ext_nan, cal, x), kObsFlagFluxMissing);

  EXPECT_EQ(observation_from_catalog(nan_flux, zero_ivar, 0.9, nullptr, cal, x),
            kObsFlagFluxMissing | kObsFlagIvarNonPositive | kObsFlagRedshiftOutOfRange);
}

TEST(SedObservation, RealCatalog) {
  const auto c = read_catalog_photometry(std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits");
  ASSERT_EQ(c.n, 10000);
  ASSERT_EQ(c.extinction.size(), 50000u);
  std::vector<double> x(static_cast<size_t>(c.n) * kObsDim);
  std::vector<int32_t> flags(static_cast<size_t>(c.n));
  observations_from_catalog(c, CatalogCalibration(), x.data(), flags.data());
  int64_t z_out = 0, other = 0;
  for (int64_t r = 0; r < c.n; ++r) {
    const bool out =
        c.z[static_cast<size_t>(r)] > kDefaultZMax || c.z[static_cast<size_t>(r)] < kDefaultZMin;
    EXPECT_EQ((flags[static_cast<size_t>(r)] & kObsFlagRedshiftOutOfRange) != 0, out) << r;
    z_out += out;
    other += (flags[static_cast<size_t>(r)] & ~kObsFlagRedshiftOutOfRange) != 0;
  }
  EXPECT_EQ(z_out, 69);  // 0.7% of the sample has z > 0.3
  EXPECT_EQ(other, 0);   // every ivar > 0; the 12 u fluxes <= 0 stay usable
  for (double v : x) EXPECT_TRUE(std::isfinite(v));
  EXPECT_THROW(
      read_catalog_photometry(std::string(GML_TEST_DATA) + "/sed/kcorrect-default-v4.fits"),
      gml::Error);
}

}  // namespace
