// The posterior runs besides the catalog run in C++, below the C ABI:
// sampling into a buffer gives draw_posterior()'s draws in both block
// regimes, summaries are those of the draws, log densities take one x or one
// per row, and a one-epoch training run writes a loadable model whose
// dimensions, names and support rows come from the simulations file, and the
// diagnosis runs on rows of that file it names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "runs/posterior/posterior_runs.h"
#include "tests/runs/tiny_posterior.h"

namespace {

namespace post = gml::posterior;
namespace runs = gml::runs;

std::string posterior_work_path(const std::string& name) {
  return testing::TempDir() + "gml_runs_posterior_" + std::to_string(::getpid()) + "_" + name;
}

post::LoadedPosterior tiny_posterior_model() {
  return tiny_posterior();
}

at::Tensor observations(int64_t n) {
  return at::linspace(-1.0, 1.0, 2 * n, at::kDouble).reshape({n, 2});
}

void expect_same_draws(int64_t n_obs, int64_t n_samples) {
  post::LoadedPosterior m = tiny_posterior_model();
  const at::Tensor x = observations(n_obs);
  std::vector<double> theta(static_cast<size_t>(n_obs * n_samples * 2));
  const std::vector<int64_t> outside =
      runs::sample_posterior_into(m.flow, x, n_samples, 21, theta.data(), nullptr);
  const post::PosteriorDraws ref = post::draw_posterior(m.flow, x, n_samples, 21, 0);
  const at::Tensor got = at::from_blob(theta.data(), {n_obs, n_samples, 2}, at::kDouble);
  EXPECT_TRUE(at::equal(got, ref.theta.contiguous())) << n_obs << " x " << n_samples;
  ASSERT_EQ(outside.size(), static_cast<size_t>(n_obs));
  for (int64_t g = 0; g < n_obs; ++g) {
    EXPECT_EQ(outside[static_cast<size_t>(g)], ref.outside[g].item<int64_t>());
  }
}

TEST(PosteriorRuns, SamplesAreDrawPosteriorsInSmallBlocks) {
  expect_same_draws(5, 100);
}

TEST(PosteriorRuns, SamplesAreDrawPosteriorsWhenOneObservationSpansBlocks) {
  expect_same_draws(2, 20000);
}

TEST(PosteriorRuns, SummariesAreThoseOfTheDraws) {
  post::LoadedPosterior m = tiny_posterior_model();
  const at::Tensor x = observations(3);
  const runs::PosteriorSummaries s = runs::summarize_posterior(m.flow, x, 200, 8, nullptr);
  const at::Tensor ref =
      post::summarize_draws(post::draw_posterior(m.flow, x, 200, 8, 0)).contiguous();
  ASSERT_EQ(s.summary.size(), static_cast<size_t>(ref.numel()));
  EXPECT_TRUE(at::equal(
      at::from_blob(const_cast<double*>(s.summary.data()), ref.sizes(), at::kDouble), ref));
  EXPECT_EQ(s.outside.size(), 3u);
}

TEST(PosteriorRuns, LogProbWithOneOrPerRowObservations) {
  post::LoadedPosterior m = tiny_posterior_model();
  const at::Tensor theta = at::linspace(-0.5, 0.5, 8, at::kDouble).reshape({4, 2});
  const at::Tensor x = observations(1);
  const std::vector<double> a = runs::posterior_log_prob(m.flow, theta, x, at::kCPU);
  const std::vector<double> b = runs::posterior_log_prob(m.flow, theta, x.repeat({4, 1}), at::kCPU);
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a[i]));
    EXPECT_NEAR(a[i], b[i], 1e-9 * (1 + std::abs(a[i])));
  }
}

TEST(PosteriorRuns, TrainingRunTakesItsShapeFromTheSimulations) {
  const std::string sims = posterior_work_path("sims.h5"), model = posterior_work_path("model.h5");
  std::remove(sims.c_str());
  std::remove(model.c_str());
  post::TrainingSetInfo info;
  info.theta_dim = 2;
  info.x_dim = 3;
  info.prior_lower = {0, 0};
  info.prior_upper = {1, 1};
  info.theta_names = {"a", "b"};
  info.x_names = {"u", "v", "w"};
  info.seed = 4;
  info.batch_size = 100;
  post::simulate_training_set(
      sims, info, 300,
      [](int64_t, const double* theta, int64_t n, double* x) {
        for (int64_t i = 0; i < n; ++i) {
          x[3 * i] = theta[2 * i];
          x[3 * i + 1] = theta[2 * i + 1];
          x[3 * i + 2] = theta[2 * i] * theta[2 * i + 1];
        }
        return 0;
      },
      false, nullptr);
  runs::PosteriorTrainRunOptions o;
  o.config.num_blocks = 1;
  o.config.hidden_width = 8;
  o.config.made_blocks = 1;
  o.train.max_epochs = 1;
  o.train.batch_size = 64;
  o.train.seed = 6;
  const post::PosteriorTrainReport r =
      runs::run_posterior_training(sims, o, model, nullptr, at::kCPU);
  EXPECT_EQ(r.epochs, 1);
  const post::LoadedPosterior loaded = post::load_posterior(model);
  EXPECT_EQ(loaded.flow->config().theta_dim, 2);
  EXPECT_EQ(loaded.flow->config().x_dim, 3);
  EXPECT_EQ(loaded.flow->config().x_names, info.x_names);
  EXPECT_EQ(loaded.extras.support_x.size(0), 300);
  const std::string text = runs::describe_posterior(loaded, "c0ffee");
  EXPECT_NE(text.find("\"checksum\":\"c0ffee\""), std::string::npos) << text;
  EXPECT_NE(text.find("x_train_min"), std::string::npos) << text;

  post::PosteriorFlow flow = loaded.flow;
  const post::CalibrationReport cal =
      runs::run_posterior_diagnosis(flow, sims, 250, 50, 20, 4, 9, nullptr);
  EXPECT_EQ(cal.sbc.ranks.sizes(), (at::IntArrayRef{50, 2}));
  EXPECT_EQ(cal.sbc.ks_pvalue.numel(), 2);
  try {
    runs::run_posterior_diagnosis(flow, sims, 260, 50, 20, 4, 9, nullptr);
    FAIL() << "rows beyond the file were diagnosed";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::InvalidArgument);
  }
  std::remove(model.c_str());

  // An architecture the simulations cannot have is the caller's argument.
  o.config.num_blocks = -1;  // 0 asks for the default of the training set
  try {
    runs::run_posterior_training(sims, o, model, nullptr, at::kCPU);
    FAIL() << "num_blocks -1 trained";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::InvalidArgument);
  }
  EXPECT_NE(::access(model.c_str(), F_OK), 0);
  std::remove(sims.c_str());
}

}  // namespace
