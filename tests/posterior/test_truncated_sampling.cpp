// Draws truncated to the prior: every kept draw inside the support, exactly
// n per observation, the kept draws of the first round those of untruncated
// sampling, independence of batching, and the short observation reported
// when the prior holds almost no posterior mass.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/posterior_flow.h"
#include "core/posterior/posterior_sampling.h"
#include "core/posterior/truncated_sampling.h"

namespace truncation_test {

namespace post = gml::posterior;

// An untrained 2-D flow spreads its draws around x; a unit box on the first
// parameter cuts off a good part of them.
post::PosteriorFlow flow_with_prior(const post::Prior& prior) {
  post::PosteriorConfig cfg;
  cfg.theta_dim = 2;
  cfg.x_dim = 2;
  cfg.num_blocks = 2;
  cfg.hidden_width = 8;
  post::store_prior(prior, cfg.prior, cfg.prior_lower, cfg.prior_upper);
  post::PosteriorFlow flow(cfg, 3);
  auto gen = at::detail::createCPUGenerator(4);
  torch::NoGradGuard no_grad;
  for (auto& p : flow->parameters()) p.add_(at::randn(p.sizes(), gen, p.options()) * 0.05);
  return flow;
}

at::Tensor observations(int64_t g) {
  return at::randn({g, 2}, at::detail::createCPUGenerator(5), at::kDouble);
}

}  // namespace truncation_test

using namespace truncation_test;

TEST(TruncatedSampling, KeepsExactlyNDrawsInsideTheSupportFromTheUntruncatedStream) {
  post::PosteriorFlow flow = flow_with_prior(post::Prior::box({-0.5, -3}, {0.5, 3}));
  const at::Tensor x = observations(3);
  const int64_t n = 500;
  const std::vector<int64_t> ids = {0, 1, 2};
  std::vector<double> out(static_cast<size_t>(3 * n * 2));
  const post::TruncatedCounts c =
      post::draw_truncated(flow, x, n, 7, ids, post::TruncationOptions(), out.data());
  const at::Tensor t = at::from_blob(out.data(), {3, n, 2}, at::kDouble);
  const post::Prior prior = flow->config().prior_distribution();
  EXPECT_TRUE(prior.in_support(t.view({3 * n, 2})).all().item<bool>());
  const post::PosteriorDraws raw = post::draw_posterior(flow, x, n, 7, 0);
  for (int64_t g = 0; g < 3; ++g) {
    SCOPED_TRACE(g);
    EXPECT_EQ(c.accepted[static_cast<size_t>(g)], n);
    const int64_t outside = raw.outside[g].item<int64_t>();
    ASSERT_GT(outside, 50) << "the box must cut off a good part of the draws";
    EXPECT_GE(c.proposed[static_cast<size_t>(g)], n + outside);
    // The first n proposals are the untruncated draws: their inside ones
    // lead the kept draws, in order.
    const at::Tensor first = raw.theta[g].index({raw.inside[g]});
    EXPECT_LT((t[g].narrow(0, 0, first.size(0)) - first).abs().max().item<double>(), 1e-5);
  }
  EXPECT_EQ(c.short_observations(), 0);
}

TEST(TruncatedSampling, AnObservationsDrawsDoNotDependOnItsBatch) {
  post::PosteriorFlow flow = flow_with_prior(post::Prior::box({-0.5, -3}, {0.5, 3}));
  const at::Tensor x = observations(4);
  const int64_t n = 300;
  std::vector<double> all(static_cast<size_t>(4 * n * 2)), one(static_cast<size_t>(n * 2));
  post::draw_truncated(flow, x, n, 9, {10, 11, 12, 13}, post::TruncationOptions(), all.data(),
                       nullptr, 97);
  post::draw_truncated(flow, x.narrow(0, 2, 1), n, 9, {12}, post::TruncationOptions(), one.data(),
                       nullptr, 4096);
  double worst = 0;
  for (int64_t i = 0; i < n * 2; ++i) {
    worst = std::max(
        worst, std::abs(all[static_cast<size_t>(2 * n * 2 + i)] - one[static_cast<size_t>(i)]));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(TruncatedSampling, ReportsAShortObservationWhenThePriorHoldsNoMass) {
  // A box far from every draw: nothing is accepted, and the proposals stop
  // at n / min_acceptance.
  post::PosteriorFlow flow = flow_with_prior(post::Prior::box({40, 40}, {41, 41}));
  const at::Tensor x = observations(2);
  const int64_t n = 20;
  post::TruncationOptions o;
  o.min_acceptance = 0.05;
  std::vector<double> out(static_cast<size_t>(2 * n * 2), 0.0);
  const post::TruncatedCounts c = post::draw_truncated(flow, x, n, 1, {0, 1}, o, out.data());
  EXPECT_EQ(c.short_observations(), 2);
  for (size_t g = 0; g < 2; ++g) {
    EXPECT_EQ(c.accepted[g], 0);
    EXPECT_EQ(c.proposed[g], 400);
  }
  for (double v : out) EXPECT_TRUE(std::isnan(v));
}

TEST(TruncatedSampling, ACallerTestReplacesThePriorsSupport) {
  // A host prior's density, say: keep only theta_0 > 0.
  post::PosteriorFlow flow = flow_with_prior(post::Prior());
  const at::Tensor x = observations(1);
  const int64_t n = 400;
  post::TruncationOptions o;
  o.accept = [](const at::Tensor& t) { return t.select(1, 0) > 0; };
  std::vector<double> out(static_cast<size_t>(n * 2));
  const post::TruncatedCounts c = post::draw_truncated(flow, x, n, 2, {0}, o, out.data());
  EXPECT_EQ(c.accepted[0], n);
  EXPECT_GT(c.proposed[0], n);
  for (int64_t i = 0; i < n; ++i) EXPECT_GT(out[static_cast<size_t>(2 * i)], 0.0) << i;
  // draw_posterior_truncated marks the kept slots and counts the rejected.
  post::TruncatedCounts counts;
  const post::PosteriorDraws d =
      post::draw_posterior_truncated(flow, x, n, 2, {0}, o, nullptr, 16384, &counts);
  EXPECT_EQ(d.inside.sum().item<int64_t>(), n);
  EXPECT_EQ(d.outside[0].item<int64_t>(), counts.proposed[0] - n);
  EXPECT_THROW(post::draw_truncated(
                   flow, x, n, 2, {0},
                   [] {
                     post::TruncationOptions bad;
                     bad.min_acceptance = 0;
                     return bad;
                   }(),
                   out.data()),
               gml::Error);
}
