// The SED simulator: theta -> x (core/posterior/sed/simulator.h).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/sed/magnitudes.h"
#include "core/posterior/sed/simulator.h"

namespace {

using namespace gml::sed;

const std::string kSimulatorSedDir = std::string(GML_TEST_DATA) + "/sed";
const std::string kSimulatorCatalog = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";

SedSimulator make(uint64_t seed, double z_max = kDefaultZMax) {
  static const SedModel model = SedModel::load(kSimulatorSedDir);
  static const NoiseModel noise = NoiseModel::fit_catalog(kSimulatorCatalog);
  SimulatorOptions o;
  o.seed = seed;
  o.z_max = z_max;
  return SedSimulator(model, noise, o);
}

std::vector<double> prior_draws(int64_t n, uint64_t seed) {
  PriorSampler s(SedPrior(), seed);
  std::vector<double> t(static_cast<size_t>(n) * kThetaDim);
  s.sample(n, t.data());
  return t;
}

TEST(SedSimulator, DeterministicPerSeed) {
  const int64_t n = 500;
  const auto theta = prior_draws(n, 3);
  std::vector<double> a(n * kObsDim), b(n * kObsDim), c(n * kObsDim);
  auto s1 = make(42), s2 = make(42), s3 = make(43);
  ASSERT_EQ(s1.simulate(theta.data(), n, a.data()), 0);
  ASSERT_EQ(s2.simulate(theta.data(), n, b.data()), 0);
  ASSERT_EQ(s3.simulate(theta.data(), n, c.data()), 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // The stream advances: a second call differs, a reseed repeats.
  ASSERT_EQ(s1.simulate(theta.data(), n, b.data()), 0);
  EXPECT_NE(a, b);
  s1.reseed(42);
  ASSERT_EQ(s1.simulate(theta.data(), n, b.data()), 0);
  EXPECT_EQ(a, b);
  // Splitting a batch gives the same rows.
  auto s4 = make(42);
  ASSERT_EQ(s4.simulate(theta.data(), 123, c.data()), 0);
  ASSERT_EQ(s4.simulate(theta.data() + 123 * kThetaDim, n - 123, c.data() + 123 * kObsDim), 0);
  EXPECT_EQ(a, c);
  // The C trampoline is the same call.
  auto s5 = make(42);
  ASSERT_EQ(SedSimulator::simulate_callback(theta.data(), n, c.data(), &s5), 0);
  EXPECT_EQ(a, c);
  EXPECT_NE(SedSimulator::simulate_callback(theta.data(), n, c.data(), nullptr), 0);
}

TEST(SedSimulator, RowsAreConsistent) {
  const int64_t n = 20000;
  const auto theta = prior_draws(n, 4);
  std::vector<double> x(n * kObsDim), z(n), truth(n * 5), sigma(n * 5), obs(n * 5);
  auto sim = make(9);
  sim.simulate_detailed(theta.data(), n, x.data(), z.data(), truth.data(), sigma.data(),
                        obs.data());
  double zmin = 1, zmax = 0, zmean = 0;
  double pull_m[5] = {}, pull_s[5] = {};
  for (int64_t r = 0; r < n; ++r) {
    const double* xr = x.data() + r * kObsDim;
    EXPECT_EQ(xr[kObsRedshift], z[r]);
    zmin = std::fmin(zmin, z[r]);
    zmax = std::fmax(zmax, z[r]);
    zmean += z[r];
    double expect[5];
    sim.model().photometry(theta.data() + r * kThetaDim, z[r], expect);
    for (int b = 0; b < 5; ++b) {
      const size_t k = static_cast<size_t>(r * 5 + b);
      ASSERT_EQ(truth[k], expect[b]);
      EXPECT_GT(sigma[k], 0.0);
      ASSERT_TRUE(std::isfinite(xr[b]) && std::isfinite(xr[5 + b]));
      EXPECT_NEAR(xr[b], asinh_mag(obs[k], kSdssSofteningMaggies[b]), 1e-12);
      EXPECT_NEAR(xr[5 + b], asinh_mag_error(obs[k], sigma[k], kSdssSofteningMaggies[b]), 1e-12);
      const double pull = (obs[k] - truth[k]) / sigma[k];
      pull_m[b] += pull;
      pull_s[b] += pull * pull;
    }
  }
  EXPECT_GE(zmin, kDefaultZMin);
  EXPECT_LT(zmax, kDefaultZMax);
  EXPECT_LT(zmin, kDefaultZMin + 0.001);
  EXPECT_GT(zmax, kDefaultZMax - 0.001);
  EXPECT_NEAR(zmean / n, 0.5 * (kDefaultZMin + kDefaultZMax), 0.003);
  for (int b = 0; b < 5; ++b) {
    EXPECT_NEAR(pull_m[b] / n, 0.0, 0.03) << b;  // sd 0.007
    EXPECT_NEAR(std::sqrt(pull_s[b] / n), 1.0, 0.02) << b;
  }
}

TEST(SedSimulator, NoiselessPhotometry) {
  const int64_t n = 50;
  const auto theta = prior_draws(n, 5);
  std::vector<double> z(n), f(n * 5);
  for (int64_t r = 0; r < n; ++r) z[r] = 0.02 + 0.005 * r;
  const auto sim = make(1);
  sim.noiseless_photometry(theta.data(), z.data(), n, f.data());
  for (int64_t r = 0; r < n; ++r) {
    double expect[5];
    sim.model().photometry(theta.data() + r * kThetaDim, z[r], expect);
    for (int b = 0; b < 5; ++b) EXPECT_EQ(f[r * 5 + b], expect[b]);
  }
}

TEST(SedSimulator, TypicalGalaxyIsSdssBright) {
  // An old, dusty-free 10^11 Msun galaxy (all weight on the oldest
  // template, index 3) at z = 0.1 has r ~ 16-17 like SDSS main-sample
  // galaxies; the star-forming template 1 makes it much brighter and bluer.
  const double w_old[5] = {0, 0, 0, 1, 0};
  double beta[4];
  beta_from_dirichlet(w_old, 5, beta);
  std::vector<double> theta = {11.0, beta[0], beta[1], beta[2], beta[3], 0.0, 0.0};
  const auto sim = make(1);
  double f[5];
  const double z = 0.1;
  sim.noiseless_photometry(theta.data(), &z, 1, f);
  const double r = pogson_mag(f[2]);
  EXPECT_GT(r, 15.5);
  EXPECT_LT(r, 17.5);
  EXPECT_GT(pogson_mag(f[1]) - r, 0.7);  // red g - r
}

TEST(SedSimulator, InvalidThetaLeavesOutputUntouched) {
  auto sim = make(1);
  auto theta = prior_draws(3, 6);
  theta[kThetaDim + 3] = 1.2;  // row 1, beta_3
  std::vector<double> x(3 * kObsDim, -7.0);
  EXPECT_EQ(sim.simulate(theta.data(), 3, x.data()),
            static_cast<int>(gml::Status::InvalidArgument));
  for (double v : x) EXPECT_EQ(v, -7.0);
  EXPECT_NE(sim.last_error().find("row 1"), std::string::npos) << sim.last_error();
  EXPECT_NE(sim.last_error().find("beta_3"), std::string::npos) << sim.last_error();
  theta = prior_draws(3, 6);
  theta[2 * kThetaDim + kThetaTauV] = -1.0;
  EXPECT_NE(sim.simulate(theta.data(), 3, x.data()), 0);
  theta[2 * kThetaDim + kThetaTauV] = NAN;
  EXPECT_NE(sim.simulate(theta.data(), 3, x.data()), 0);
  EXPECT_NE(sim.simulate(theta.data(), -1, x.data()), 0);
  EXPECT_EQ(sim.simulate(theta.data(), 0, x.data()), 0);
  EXPECT_THROW(sim.simulate_detailed(theta.data(), 3, x.data()), gml::Error);
}

TEST(SedSimulator, RejectsBadOptions) {
  const SedModel model = SedModel::load(kSimulatorSedDir);
  const NoiseModel noise = NoiseModel::fit_catalog(kSimulatorCatalog);
  SimulatorOptions o;
  o.z_min = 0.3;
  o.z_max = 0.2;
  EXPECT_THROW(SedSimulator(model, noise, o), gml::Error);
  o.z_min = 0.0;
  o.z_max = 0.2;
  EXPECT_THROW(SedSimulator(model, noise, o), gml::Error);
  const NoiseModel three({noise.bands()[0], noise.bands()[1], noise.bands()[2]});
  EXPECT_THROW(SedSimulator(model, three, SimulatorOptions()), gml::Error);
}

}  // namespace
