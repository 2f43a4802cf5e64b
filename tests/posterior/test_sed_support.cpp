// Training support: k-d tree nearest neighbours and the fraction of the
// real SDSS sample inside a simulated training set
// (core/posterior/sed/kdtree.h, sed_support.h).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/sed/catalog.h"
#include "core/posterior/sed/kdtree.h"
#include "core/posterior/sed/simulator.h"
#include "core/posterior/sed/support.h"

namespace {

using namespace gml::sed;

const std::string kSupportSedDir = std::string(GML_TEST_DATA) + "/sed";
const std::string kSupportCatalog = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";

TEST(SedKdTree, MatchesBruteForce) {
  Rng rng(3);
  const int dim = 11;
  const int64_t n = 3000;
  std::vector<double> p(static_cast<size_t>(n) * dim);
  for (auto& v : p) v = rng.normal();
  for (int64_t k = 0; k < 40; ++k) p[static_cast<size_t>(k) * dim] = 0.25;  // ties on a split
  const KdTree tree(p.data(), n, dim, 8);
  for (int q = 0; q < 300; ++q) {
    std::vector<double> x(dim);
    for (auto& v : x) v = 1.3 * rng.normal();
    const int64_t exclude = q % 3 == 0 ? q : -1;
    if (exclude >= 0) x.assign(p.begin() + exclude * dim, p.begin() + (exclude + 1) * dim);
    double best = std::numeric_limits<double>::infinity();
    int64_t arg = -1;
    for (int64_t r = 0; r < n; ++r) {
      if (r == exclude) continue;
      double s = 0;
      for (int j = 0; j < dim; ++j) {
        const double d = p[static_cast<size_t>(r * dim + j)] - x[static_cast<size_t>(j)];
        s += d * d;
      }
      if (s < best) {
        best = s;
        arg = r;
      }
    }
    const auto nn = tree.nearest(x.data(), exclude);
    EXPECT_EQ(nn.index, arg) << q;
    EXPECT_DOUBLE_EQ(nn.distance_sq, best) << q;
  }
  EXPECT_THROW(KdTree(p.data(), 0, dim), gml::Error);
  p[5] = NAN;
  EXPECT_THROW(KdTree(p.data(), n, dim), gml::Error);
}

TEST(SedSupport, FlagsRowsOutsideTheSimulations) {
  // Simulated: a Gaussian blob in x; real: blob rows plus far-away rows.
  Rng rng(8);
  const int64_t n = 20000;
  std::vector<double> sim(static_cast<size_t>(n) * kObsDim);
  auto fill = [&](double* x) {
    for (int j = 0; j < kObsDim; ++j) x[j] = 18.0 + rng.normal();
    for (int j = kObsMagErr; j < kObsMagErr + 5; ++j) x[j] = 0.05 * std::exp(0.3 * rng.normal());
    x[kObsRedshift] = rng.uniform(0.01, 0.3);
  };
  for (int64_t r = 0; r < n; ++r) fill(sim.data() + r * kObsDim);
  const int64_t m = 1000;
  std::vector<double> real(static_cast<size_t>(m) * kObsDim);
  for (int64_t r = 0; r < m; ++r) fill(real.data() + r * kObsDim);
  real[0 * kObsDim + 2] += 8.0;            // r band far off
  real[1 * kObsDim + kObsRedshift] = 0.5;  // beyond the simulated z range
  real[2 * kObsDim + kObsMagErr] = 0.0;    // non-positive error
  real[3 * kObsDim + 4] = NAN;
  const auto res = check_support(sim.data(), n, real.data(), m);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(res.inside[static_cast<size_t>(r)], 0) << r;
  EXPECT_TRUE(std::isnan(res.nn_distance[2]));
  // Rows drawn like the simulations are inside at about the chosen quantile.
  EXPECT_GT(res.fraction, 0.95);
  EXPECT_LT(res.fraction, 1.0);
  EXPECT_GT(res.threshold, 0.0);
  SupportOptions strict;
  strict.quantile = 0.5;
  EXPECT_LT(check_support(sim.data(), n, real.data(), m, strict).fraction, 0.7);
  EXPECT_THROW(check_support(sim.data(), 5, real.data(), m), gml::Error);
  strict.holdout_every = 1;
  EXPECT_THROW(check_support(sim.data(), n, real.data(), m, strict), gml::Error);
}

// The target: >= 95% of the 10,000 real SDSS galaxies inside the
// support of a simulated training set of 100k prior draws.
TEST(SedSupport, RealSdssSampleIsCoveredByTheSimulator) {
  SimulatorOptions o;
  o.seed = 2024;
  auto sim = SedSimulator::load(kSupportSedDir, kSupportCatalog, o);
  const int64_t n = 100000;
  std::vector<double> theta(static_cast<size_t>(n) * kThetaDim);
  PriorSampler(SedPrior(), 77).sample(n, theta.data());
  std::vector<double> xs(static_cast<size_t>(n) * kObsDim);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(sim.simulate(theta.data(), n, xs.data()), 0) << sim.last_error();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const auto cat = read_catalog_photometry(kSupportCatalog);
  std::vector<double> xr(static_cast<size_t>(cat.n) * kObsDim);
  std::vector<int32_t> flags(static_cast<size_t>(cat.n));
  observations_from_catalog(cat, CatalogCalibration(), xr.data(), flags.data());
  const auto res = check_support(xs.data(), n, xr.data(), cat.n);

  int64_t in_prior = 0, in_prior_inside = 0;
  for (int64_t r = 0; r < cat.n; ++r) {
    const size_t k = static_cast<size_t>(r);
    if (flags[k] != 0) {
      EXPECT_EQ(res.inside[k], 0) << "flagged row " << r << " (z = " << cat.z[k] << ")";
      continue;
    }
    ++in_prior;
    in_prior_inside += res.inside[k];
  }
  const double frac_prior = static_cast<double>(in_prior_inside) / static_cast<double>(in_prior);
  std::printf(
      "[ info ] %lld simulations in %.2f s (%.0f galaxies/s, informational); support: %.2f%% of "
      "all %lld rows, %.2f%% of the %lld rows inside the z prior [%.2f, %.2f]\n",
      static_cast<long long>(n), secs, static_cast<double>(n) / secs, 100 * res.fraction,
      static_cast<long long>(cat.n), 100 * frac_prior, static_cast<long long>(in_prior),
      kDefaultZMin, kDefaultZMax);
  EXPECT_GE(frac_prior, 0.95);
  EXPECT_GE(res.fraction, 0.95);
}

}  // namespace
