// theta layout, prior bounds and the stick-breaking Dirichlet transform
// (core/posterior/sed/parameters.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/sed/parameters.h"

namespace {

using namespace gml::sed;

TEST(SedParameters, NamesAndBounds) {
  EXPECT_STREQ(theta_names()[0], "log_mstar");
  EXPECT_STREQ(theta_names()[4], "beta_4");
  EXPECT_STREQ(theta_names()[6], "dust_delta");
  const SedPrior p;
  const auto lo = p.lower();
  const auto hi = p.upper();
  const double want_lo[7] = {8.0, 0, 0, 0, 0, 0.0, -2.2};
  const double want_hi[7] = {12.5, 1, 1, 1, 1, 3.0, 0.4};
  for (size_t j = 0; j < 7; ++j) {
    EXPECT_EQ(lo[j], want_lo[j]);
    EXPECT_EQ(hi[j], want_hi[j]);
  }
  const double inside[7] = {10, 0.5, 0.5, 0.5, 0.5, 1, 0};
  const double outside[7] = {10, 0.5, 0.5, 1.2, 0.5, 1, 0};
  const double nan_row[7] = {NAN, 0.5, 0.5, 0.5, 0.5, 1, 0};
  EXPECT_TRUE(p.contains(inside));
  EXPECT_FALSE(p.contains(outside));
  EXPECT_FALSE(p.contains(nan_row));
  SedPrior bad;
  bad.tau_v_max = 0.0;
  EXPECT_THROW(bad.validate(), gml::Error);
  EXPECT_THROW(PriorSampler(bad, 1), gml::Error);
}

TEST(SedParameters, StickBreakingRoundTrip) {
  const double betas[][4] = {{0.3, 0.6, 0.2, 0.8}, {0.01, 0.99, 0.5, 0.5}, {0.9, 0.9, 0.9, 0.9}};
  for (const auto& b : betas) {
    double w[5], back[4];
    dirichlet_from_beta(b, 5, w);
    double sum = 0.0;
    for (double v : w) {
      EXPECT_GE(v, 0.0);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-15);
    beta_from_dirichlet(w, 5, back);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(back[i], b[i], 1e-12);
  }
  // beta_1 = 1 puts nothing in the first template; beta = 0 puts everything there.
  const double ones[4] = {1, 1, 1, 1};
  const double zeros[4] = {0, 0, 0, 0};
  double w[5];
  dirichlet_from_beta(ones, 5, w);
  EXPECT_EQ(w[0], 0.0);
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  dirichlet_from_beta(zeros, 5, w);
  EXPECT_DOUBLE_EQ(w[0], 1.0);
  EXPECT_EQ(w[4], 0.0);
  // A vertex of the simplex maps back to a valid beta, and again to itself.
  const double vertex[5] = {0, 0, 1, 0, 0};
  double b[4], w2[5];
  beta_from_dirichlet(vertex, 5, b);
  dirichlet_from_beta(b, 5, w2);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(w2[i], vertex[i], 1e-15);
}

TEST(SedParameters, TransformRejectsBadInput) {
  const double bad_beta[4] = {0.2, -0.1, 0.5, 0.5};
  double w[5];
  try {
    dirichlet_from_beta(bad_beta, 5, w);
    FAIL();
  } catch (const gml::Error& e) {
    EXPECT_NE(std::string(e.what()).find("beta_2"), std::string::npos) << e.what();
  }
  const double not_simplex[5] = {0.5, 0.5, 0.5, 0, 0};
  double b[4];
  EXPECT_THROW(beta_from_dirichlet(not_simplex, 5, b), gml::Error);
  EXPECT_THROW(dirichlet_from_beta(bad_beta, 1, w), gml::Error);
}

// Uniform beta must give Dirichlet(1,1,1,1,1): every weight is Beta(1, 4),
// mean 1/5, variance 4/150, CDF 1 - (1 - x)^4.
TEST(SedParameters, UniformPriorGivesFlatDirichlet) {
  const SedPrior prior;
  PriorSampler sampler(prior, 20240611);
  const int64_t n = 200000;
  std::vector<double> theta(static_cast<size_t>(n) * kThetaDim);
  sampler.sample(n, theta.data());
  double mean[5] = {}, sq[5] = {}, below[5] = {};
  for (int64_t r = 0; r < n; ++r) {
    const double* t = theta.data() + r * kThetaDim;
    ASSERT_TRUE(prior.contains(t));
    double w[5];
    dirichlet_from_beta(t + kThetaBeta1, 5, w);
    for (int i = 0; i < 5; ++i) {
      mean[i] += w[i];
      sq[i] += w[i] * w[i];
      below[i] += w[i] < 0.1 ? 1.0 : 0.0;
    }
  }
  const double cdf_01 = 1.0 - std::pow(0.9, 4);  // P(w < 0.1) = 0.3439
  for (int i = 0; i < 5; ++i) {
    const double m = mean[i] / n;
    const double var = sq[i] / n - m * m;
    EXPECT_NEAR(m, 0.2, 0.002) << "weight " << i;  // sd of the mean ~0.00037
    EXPECT_NEAR(var, 4.0 / 150.0, 0.0008) << "weight " << i;
    EXPECT_NEAR(below[i] / n, cdf_01, 0.005) << "weight " << i;
  }
}

TEST(SedParameters, SamplerIsDeterministicAndUniform) {
  const SedPrior prior;
  PriorSampler a(prior, 7), b(prior, 7), c(prior, 8);
  std::vector<double> ta(7000), tb(7000), tc(7000);
  a.sample(1000, ta.data());
  b.sample(1000, tb.data());
  c.sample(1000, tc.data());
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
  a.reseed(7);
  a.sample(1000, tc.data());
  EXPECT_EQ(ta, tc);
  // Means of each coordinate near the box centres.
  PriorSampler big(prior, 99);
  const int64_t n = 100000;
  std::vector<double> t(static_cast<size_t>(n) * 7);
  big.sample(n, t.data());
  const auto lo = prior.lower();
  const auto hi = prior.upper();
  for (size_t j = 0; j < 7; ++j) {
    double m = 0.0, mn = 1e300, mx = -1e300;
    for (int64_t r = 0; r < n; ++r) {
      const double v = t[static_cast<size_t>(r) * 7 + j];
      m += v;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    m /= n;
    const double width = hi[j] - lo[j];
    EXPECT_NEAR(m, 0.5 * (lo[j] + hi[j]), 0.005 * width) << theta_names()[j];
    EXPECT_GE(mn, lo[j]);
    EXPECT_LT(mx, hi[j]);
    EXPECT_LT(mn, lo[j] + 0.001 * width);
    EXPECT_GT(mx, hi[j] - 0.001 * width);
  }
}

}  // namespace
