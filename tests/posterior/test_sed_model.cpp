// Physics and bookkeeping of the SED forward model (core/posterior/sed/model.h).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/sed/dust.h"
#include "core/posterior/sed/filters.h"
#include "core/posterior/sed/model.h"
#include "core/posterior/sed/photometry.h"
#include "core/posterior/sed/templates.h"

namespace {

using gml::sed::SedModel;

const std::string kModelSedDir = std::string(GML_TEST_DATA) + "/sed";

const SedModel& sed_model() {
  static const SedModel m = SedModel::load(kModelSedDir);
  return m;
}

std::vector<double> theta_of(double logm, double tau, double delta) {
  return {logm, 0.35, 0.7, 0.45, 0.6, tau, delta};
}

TEST(SedModel, LoadsKcorrectTemplates) {
  const auto& t = sed_model().templates();
  EXPECT_EQ(t.n_templates(), 5);
  EXPECT_EQ(t.n_wave(), 10000);
  EXPECT_NEAR(t.wave.front(), 600.2576, 1e-3);
  EXPECT_NEAR(t.mremain[0], 0.60152453, 1e-7);
  EXPECT_NEAR(t.mremain[3], 0.5237318, 1e-7);
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(t.intsfh[static_cast<size_t>(i)], 1.0);
  // TDIM (10000, 5): template 1 at wave index 1875 (3000 A) is 2.6711437e-08.
  EXPECT_NEAR(t.template_flux(1)[1875] / 2.6711437e-08, 1.0, 1e-6);
}

TEST(SedModel, SurvivingMassEqualsMstar) {
  for (double logm : {8.0, 10.3, 12.5}) {
    const auto th = theta_of(logm, 0.5, -0.3);
    const auto d = sed_model().derived(th.data());
    EXPECT_NEAR(d.mass_surviving / std::pow(10.0, logm), 1.0, 1e-12);
    EXPECT_GT(d.mass_formed, d.mass_surviving);  // every MREMAIN < 1
    double c[5];
    sed_model().formed_mass_coefficients(th.data(), c);
    double w[5];
    sed_model().weights(th.data(), w);
    for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(c[i] / d.mass_formed, w[i], 1e-12);
  }
}

TEST(SedModel, FluxScalesWithStellarMass) {
  double f1[5], f2[5];
  const auto a = theta_of(9.7, 0.8, -0.5);
  const auto b = theta_of(11.2, 0.8, -0.5);
  sed_model().photometry(a.data(), 0.1, f1);
  sed_model().photometry(b.data(), 0.1, f2);
  for (int k = 0; k < 5; ++k) EXPECT_NEAR(f2[k] / f1[k], std::pow(10.0, 1.5), 1e-9 * f2[k] / f1[k]);
}

TEST(SedModel, FluxFallsWithDistance) {
  const auto th = theta_of(10.5, 0.3, -0.2);
  double near[5], far[5];
  sed_model().photometry(th.data(), 0.03, near);
  sed_model().photometry(th.data(), 0.25, far);
  for (int k = 0; k < 5; ++k) EXPECT_LT(far[k], 0.05 * near[k]);
}

TEST(SedModel, DustDimsAndReddens) {
  for (double delta : {-2.2, -0.7, 0.0, 0.4}) {
    double clear[5];
    const auto th0 = theta_of(10.5, 0.0, delta);
    sed_model().photometry(th0.data(), 0.08, clear);
    double last[5] = {0, 0, 0, 0, 0};
    for (double tau : {0.3, 1.0, 3.0}) {
      double f[5];
      const auto th = theta_of(10.5, tau, delta);
      sed_model().photometry(th.data(), 0.08, f);
      double dimming[5];
      for (int k = 0; k < 5; ++k) {
        dimming[k] = -2.5 * std::log10(f[k] / clear[k]);
        EXPECT_GT(dimming[k], last[k]) << "more dust must dim; tau " << tau << " band " << k;
        if (k > 0) {
          EXPECT_GT(dimming[k - 1], dimming[k])
              << "bluer band must dim more; tau " << tau << " delta " << delta << " band " << k;
        }
      }
      for (int k = 0; k < 5; ++k) last[k] = dimming[k];
    }
  }
}

TEST(SedModel, DustLawShape) {
  // A(5500 A) ~ A_V (k(5500) = 4.048), steeper for negative delta.
  EXPECT_NEAR(gml::sed::dust_attenuation_mag(5500.0, 1.0, -1.0), 1.086, 2e-3);
  EXPECT_GT(gml::sed::dust_attenuation_mag(3000.0, 1.0, -1.0),
            gml::sed::dust_attenuation_mag(3000.0, 1.0, 0.0));
  EXPECT_DOUBLE_EQ(gml::sed::dust_transmission(4000.0, 0.0, -1.0), 1.0);
  EXPECT_EQ(gml::sed::calzetti_k(60000.0), 0.0);  // clamped beyond the IR branch's zero
}

TEST(SedModel, FastPathMatchesGenericIntegrator) {
  // photometry() integrates in the rest frame with precomputed weights;
  // ab_maggies() integrates the observed spectrum directly.
  for (double z : {0.011, 0.1, 0.29, 1.5}) {
    const auto th = theta_of(10.9, 1.7, -1.1);
    double fast[5];
    sed_model().photometry(th.data(), z, fast);
    const auto spec = sed_model().observed_spectrum(th.data(), z);
    for (size_t b = 0; b < 5; ++b) {
      const double slow = 1e9 * gml::sed::ab_maggies(spec, sed_model().filters()[b]);
      EXPECT_NEAR(fast[b] / slow, 1.0, 1e-11) << "z " << z << " band " << b;
    }
  }
}

TEST(SedModel, FlatFnuSourceIsOneMaggy) {
  // f_nu = 3631 Jy on a fine grid is 1 maggy in every band (to the trapezoid
  // error of the 1 A grid).
  gml::sed::Spectrum s;
  for (double l = 2500.0; l <= 12000.0; l += 1.0) {
    s.wave.push_back(l);
    s.flam.push_back(gml::sed::kAbZeroPointFnu * 2.99792458e18 / (l * l));
  }
  for (const auto& f : sed_model().filters()) {
    EXPECT_NEAR(gml::sed::ab_maggies(s, f), 1.0, 1e-6) << f.name();
  }
}

TEST(SedModel, RejectsRedshiftsOutsideTheTemplates) {
  const auto th = theta_of(10.0, 0.1, 0.0);
  double f[5];
  EXPECT_THROW(sed_model().photometry(th.data(), 0.0, f), gml::Error);
  EXPECT_THROW(sed_model().photometry(th.data(), -0.1, f), gml::Error);
  EXPECT_THROW(sed_model().photometry(th.data(), NAN, f), gml::Error);
  // u starts at 2980 A: beyond z ~ 3.96 it needs the templates below 600 A.
  EXPECT_NO_THROW(sed_model().photometry(th.data(), 3.9, f));
  try {
    sed_model().photometry(th.data(), 4.5, f);
    FAIL() << "z = 4.5 must throw";
  } catch (const gml::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rest-frame"), std::string::npos) << e.what();
  }
  auto bad = th;
  bad[2] = 1.5;  // beta_2 outside [0, 1]
  EXPECT_THROW(sed_model().photometry(bad.data(), 0.1, f), gml::Error);
  bad = th;
  bad[gml::sed::kThetaTauV] = -0.1;
  EXPECT_THROW(sed_model().photometry(bad.data(), 0.1, f), gml::Error);
}

TEST(SedModel, FileErrorsNameTheFile) {
  try {
    gml::sed::TemplateSet::read_kcorrect(kModelSedDir + "/no_such_file.fits");
    FAIL();
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Fits);
    EXPECT_NE(std::string(e.what()).find("no_such_file.fits"), std::string::npos) << e.what();
  }
  try {
    gml::sed::Filter::read_kcorrect(kModelSedDir + "/filters/sdss_r0.dat", "pass_2_0");
    FAIL();
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Format);
    EXPECT_NE(std::string(e.what()).find("pass_2_0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pass_1_6"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gml::sed::Filter::read_kcorrect(kModelSedDir + "/filters/none.dat"), gml::Error);
  // The kc96 spectrum is not a kcorrect template file.
  EXPECT_THROW(gml::sed::TemplateSet::read_kcorrect(kModelSedDir + "/kc96/sb_template.fits"),
               gml::Error);
}

TEST(SedModel, FilterCurves) {
  const auto& f = sed_model().filters();
  EXPECT_EQ(f[0].wave().size(), 47u);
  EXPECT_DOUBLE_EQ(f[0].lambda_min(), 2980.0);
  EXPECT_DOUBLE_EQ(f[4].lambda_max(), 11230.0);
  // Linear interpolation between the 25 A samples of u (3305: 0.0902 ... ).
  EXPECT_NEAR(f[0].response_at(f[0].wave()[10]), f[0].response()[10], 0.0);
  EXPECT_NEAR(f[0].response_at(0.5 * (f[0].wave()[10] + f[0].wave()[11])),
              0.5 * (f[0].response()[10] + f[0].response()[11]), 1e-15);
  EXPECT_EQ(f[2].response_at(1000.0), 0.0);
  // Pivot wavelengths in the right order and places.
  const double expect[5] = {3557, 4702, 6175, 7491, 8946};
  for (size_t b = 0; b < 5; ++b) EXPECT_NEAR(f[b].pivot_wavelength(), expect[b], 1.0);
}

}  // namespace
