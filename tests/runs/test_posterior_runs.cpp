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
#include "core/posterior/calibration_record.h"
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
  // Summaries are over the truncated draws; without a prior they are the
  // raw draws.
  const at::Tensor ref =
      post::summarize_draws(
          post::draw_posterior_truncated(m.flow, x, 200, 8, {0, 1, 2}, post::TruncationOptions()))
          .contiguous();
  ASSERT_EQ(s.summary.size(), static_cast<size_t>(ref.numel()));
  EXPECT_TRUE(at::equal(
      at::from_blob(const_cast<double*>(s.summary.data()), ref.sizes(), at::kDouble), ref));
  const at::Tensor raw =
      post::summarize_draws(post::draw_posterior(m.flow, x, 200, 8, 0)).contiguous();
  EXPECT_LT((raw - ref).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(s.outside, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(s.accepted, (std::vector<int64_t>{200, 200, 200}));
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
  // 30 validation rows are too few to calibrate on: no record, not a weak one.
  EXPECT_EQ(text.find("calibration"), std::string::npos) << text;

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

// sbibm's gaussian_linear task, in 5 dimensions: theta ~ N(0, 0.1 I),
// x ~ N(theta, 0.1 I), so the posterior is N(x / 2, 0.05 I) in closed form.
// A model trained on 5,000 simulations with the generic defaults (sbi's
// 5 x 50 MAF, batch 200) and a normal prior object must recover it.
TEST(PosteriorRuns, GaussianLinearPosteriorMatchesTheClosedForm) {
  const int64_t d = 5, n_sims = 5000;
  const std::string sims = posterior_work_path("gl_sims.h5"),
                    model = posterior_work_path("gl_model.h5");
  std::remove(sims.c_str());
  std::remove(model.c_str());
  post::TrainingSetInfo info;
  info.theta_dim = d;
  info.x_dim = d;
  info.prior = post::Prior::from_json_text(
      R"({"kind":"normal","mean":[0,0,0,0,0],"std":[0.316227766,0.316227766,0.316227766,)"
      R"(0.316227766,0.316227766]})");
  info.seed = 12;
  info.batch_size = 1000;
  post::simulate_training_set(
      sims, info, n_sims,
      [d](int64_t first, const double* theta, int64_t n, double* x) {
        auto gen = at::detail::createCPUGenerator(1000 + static_cast<uint64_t>(first));
        const at::Tensor noise = at::randn({n, d}, gen, at::kDouble) * std::sqrt(0.1);
        for (int64_t i = 0; i < n * d; ++i) x[i] = theta[i] + noise.data_ptr<double>()[i];
        return 0;
      },
      false, nullptr);
  runs::PosteriorTrainRunOptions o;
  o.config.num_blocks = 0;  // the training set's defaults: sbi's for a generic simulator
  o.config.hidden_width = 0;
  o.config.num_bins = 0;
  o.train.batch_size = 0;
  o.train.max_epochs = 60;
  o.train.seed = 3;
  runs::run_posterior_training(sims, o, model, nullptr, at::kCPU);
  const post::LoadedPosterior m = post::load_posterior(model);
  EXPECT_EQ(m.flow->config().num_blocks, 5);
  // The model calibrated itself on its 500 validation simulations, and this
  // posterior is the true one up to training noise, so it passes.
  post::CalibrationRecord cal;
  ASSERT_TRUE(post::calibration_from_provenance(m.extras.provenance, cal)) << m.extras.provenance;
  EXPECT_EQ(cal.n_sims, 500);
  EXPECT_EQ(cal.n_samples, 500);
  EXPECT_EQ(cal.sbc_pvalue.size(), 5u);
  EXPECT_TRUE(cal.passed()) << cal.verdict();
  EXPECT_EQ(m.flow->config().prior_distribution().kind(), post::Prior::Kind::Independent);

  const at::Tensor x =
      at::tensor({0.3, -0.2, 0.0, 0.5, -0.4, -0.1, 0.2, 0.35, -0.3, 0.05}, at::kDouble)
          .view({2, d});
  const int64_t n = 4000;
  std::vector<double> theta(static_cast<size_t>(2 * n * d));
  post::PosteriorFlow flow = m.flow;
  runs::sample_posterior_into(flow, x, n, 5, theta.data(), nullptr);
  const at::Tensor t = at::from_blob(theta.data(), {2, n, d}, at::kDouble);
  const double sigma = std::sqrt(0.05);
  for (int64_t g = 0; g < 2; ++g) {
    const at::Tensor mean = t[g].mean(0), sd = t[g].std(0);
    const at::Tensor want = x[g] / 2;
    // A quarter of the posterior's width on the mean, 20% on its spread.
    EXPECT_LT((mean - want).abs().max().item<double>(), 0.25 * sigma) << mean << want;
    EXPECT_LT((sd / sigma - 1).abs().max().item<double>(), 0.2) << sd;
    const at::Tensor c = at::corrcoef(t[g].t());
    EXPECT_LT((c - at::eye(d, at::kDouble)).abs().max().item<double>(), 0.2) << c;
  }
  std::remove(sims.c_str());
  std::remove(model.c_str());
}
