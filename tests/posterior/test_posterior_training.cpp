// Training a posterior estimator on a task with an analytic posterior:
// theta ~ N(mu0, S0) in 5-D, x = A theta + N(0, s^2 I). The posterior is
// Gaussian with S = (S0^-1 + A^T A / s^2)^-1, m = S (S0^-1 mu0 + A^T x / s^2).
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <iostream>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include "core/common/error.h"
#include "core/posterior/diagnostics.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/posterior_flow.h"
#include "core/posterior/posterior_training.h"

namespace {

using namespace gml::posterior;
const auto kTrainingF64 = at::TensorOptions().dtype(at::kDouble);

struct GaussianLinear {
  int64_t d = 5;
  at::Tensor mu0, s0_chol, a;
  double noise = 0.4;

  GaussianLinear() {
    auto gen = at::detail::createCPUGenerator(2024);
    mu0 = at::randn({d}, gen, kTrainingF64);
    // A moderately correlated prior and a well-conditioned mixing matrix, so
    // the posterior has correlations the flow must learn.
    at::Tensor l = at::randn({d, d}, gen, kTrainingF64) * 0.3;
    s0_chol = at::tril(l, -1) + at::diag(at::rand({d}, gen, kTrainingF64) + 0.7);
    a = at::randn({d, d}, gen, kTrainingF64) * 0.5 + at::eye(d, kTrainingF64);
  }
  std::pair<at::Tensor, at::Tensor> simulate(int64_t n, uint64_t seed) const {
    auto gen = at::detail::createCPUGenerator(seed);
    const at::Tensor theta = mu0 + at::mm(at::randn({n, d}, gen, kTrainingF64), s0_chol.t());
    const at::Tensor x = at::mm(theta, a.t()) + noise * at::randn({n, d}, gen, kTrainingF64);
    return {theta, x};
  }
  // Analytic posterior mean (d) and covariance (d, d) for one observation.
  std::pair<at::Tensor, at::Tensor> posterior(const at::Tensor& x) const {
    const at::Tensor s0 = at::mm(s0_chol, s0_chol.t());
    const at::Tensor s0_inv = at::linalg_inv(s0);
    const at::Tensor cov = at::linalg_inv(s0_inv + at::mm(a.t(), a) / (noise * noise));
    const at::Tensor mean = at::mv(cov, at::mv(s0_inv, mu0) + at::mv(a.t(), x) / (noise * noise));
    return {mean, cov};
  }
};

PosteriorConfig task_config(Estimator e) {
  PosteriorConfig c;
  c.estimator = e;
  c.theta_dim = 5;
  c.x_dim = 5;
  c.num_blocks = 5;
  c.hidden_width = 64;
  c.made_blocks = 2;
  return c;
}

PosteriorTrainOptions task_options() {
  PosteriorTrainOptions o;
  o.batch_size = 128;
  o.lr = 1e-3;
  o.lr_plateau = 3;
  o.max_epochs = 200;
  o.patience = 15;
  o.seed = 3;
  return o;
}

}  // namespace

// Tolerances. The estimate is judged by KL(estimate || analytic) of the
// Gaussian fitted to 4,000 draws: its Monte Carlo floor is about
// d(d+3)/(4n) = 0.0025 nats, so what the bound measures is the amortised
// estimator's own error after 20k simulations. The average KL must stay
// below 0.1 nats and the worst of six observations below 0.2 (a posterior
// mean off by 0.45 sd in one parameter alone costs 0.1); the prior, the
// answer of an estimator that ignores x, is more than 2 nats away. The
// mean -log density on fresh simulations must be within 0.1 nats of the
// analytic posterior's, the same quantity averaged over the prior predictive.
TEST(PosteriorTraining, GaussianLinearMatchesAnalyticPosterior) {
  const GaussianLinear task;
  auto [theta, x] = task.simulate(20000, 1);
  PosteriorFlow flow(task_config(Estimator::Maf), 7);
  const PosteriorTrainReport report = train_posterior(flow, theta, x, task_options(), nullptr);
  EXPECT_EQ(report.train_rows + report.validation_rows, 20000);
  EXPECT_EQ(report.validation_rows, 2000);
  EXPECT_GE(report.best_epoch, 1);
  EXPECT_LT(report.validation_history.front() - report.best_validation_loss, 50.0);
  std::cout << "[ train ] last train loss " << report.train_history.back() << " epochs "
            << report.epochs << " best " << report.best_epoch << " val "
            << report.best_validation_loss << " early " << report.stopped_early << "\n";

  {
    // The analytic posterior's mean -log density on fresh simulations: the
    // floor the validation loss approaches.
    auto [t, xx] = task.simulate(2000, 77);
    double nll = 0;
    for (int64_t i = 0; i < 2000; ++i) {
      auto [m, c] = task.posterior(xx[i]);
      const at::Tensor r = t[i] - m;
      nll += 0.5 * (at::dot(r, at::mv(at::linalg_inv(c), r)).item<double>() +
                    at::logdet(c).item<double>() + 5 * std::log(2 * M_PI));
    }
    torch::NoGradGuard no_grad;
    const double model = -flow->log_prob(t, xx).mean().item<double>();
    std::cout << "[ gaussian-linear ] analytic NLL " << nll / 2000 << ", model NLL " << model
              << "\n";
    EXPECT_LT(model - nll / 2000, 0.1);
  }
  auto [theta_obs, x_obs] = task.simulate(6, 99);
  const at::Tensor draws = flow->sample(x_obs, 4000, at::detail::createCPUGenerator(5));
  double worst_kl = 0, sum_kl = 0, worst_mean = 0, prior_kl = 1e300;
  for (int64_t g = 0; g < 6; ++g) {
    auto [mean, cov] = task.posterior(x_obs[g]);
    const at::Tensor s = draws[g];
    const at::Tensor centred = s - s.mean(0);
    const at::Tensor emp_cov = at::mm(centred.t(), centred) / (s.size(0) - 1);
    // KL(N(m_emp, C_emp) || N(m, C)) in the whitened frame of the truth:
    // W = L^-1 C_emp L^-T, delta = L^-1 (m_emp - m).
    auto kl_to_truth = [&](const at::Tensor& m_emp, const at::Tensor& c_emp) {
      const at::Tensor li = at::linalg_inv(at::linalg_cholesky(cov));
      const at::Tensor w = at::mm(at::mm(li, c_emp), li.t());
      const at::Tensor delta = at::mv(li, m_emp - mean);
      return 0.5 * (w.trace().item<double>() - 5 - at::logdet(w).item<double>() +
                    delta.dot(delta).item<double>());
    };
    const double kl = kl_to_truth(s.mean(0), emp_cov);
    worst_kl = std::max(worst_kl, kl);
    sum_kl += kl;
    worst_mean = std::max(worst_mean,
                          ((s.mean(0) - mean) / cov.diagonal().sqrt()).abs().max().item<double>());
    // What the test is up against: the prior instead of the posterior.
    const at::Tensor s0 = at::mm(task.s0_chol, task.s0_chol.t());
    prior_kl = std::min(prior_kl, kl_to_truth(task.mu0, s0));
  }
  std::cout << "[ gaussian-linear ] KL(estimate || analytic) mean " << sum_kl / 6 << " worst "
            << worst_kl << " nats; worst |mean error| / sd " << worst_mean
            << "; the prior's KL >= " << prior_kl << "\n";
  // Simulation-based calibration on 300 held-out simulations, 200 draws each.
  auto [theta_sbc, x_sbc] = task.simulate(300, 123);
  const at::Tensor sbc_draws = flow->sample(x_sbc, 200, at::detail::createCPUGenerator(6));
  const SbcResult sbc = simulation_based_calibration(sbc_draws, theta_sbc, 7);
  std::cout << "[ gaussian-linear ] SBC KS p-values " << sbc.ks_pvalue << "\n";
  EXPECT_GT(sbc.ks_pvalue.min().item<double>(), 0.01);
  EXPECT_LT(sum_kl / 6, 0.1);
  EXPECT_LT(worst_kl, 0.2);
  EXPECT_LT(worst_mean, 0.3);
  EXPECT_GT(prior_kl, 2.0);
}

TEST(PosteriorTraining, CheckpointResumeEqualsUninterruptedRunAndFileRoundTrips) {
  const GaussianLinear task;
  auto [theta, x] = task.simulate(1500, 4);
  PosteriorConfig cfg = task_config(Estimator::Nsf);
  cfg.coupling = true;  // sbi's NSF: LU layers and residual conditioners round-trip too
  cfg.activation = gml::posterior::Activation::Relu;
  cfg.num_blocks = 2;
  cfg.hidden_width = 16;
  PosteriorTrainOptions o = task_options();
  o.max_epochs = 10;
  o.patience = 100;
  o.lr = 3e-2;       // large enough that some epoch does not improve ...
  o.lr_plateau = 1;  // ... and halves the rate
  const std::string dir = testing::TempDir();
  o.checkpoint_path = dir + "/gml_posterior_ck.h5";
  std::filesystem::remove(o.checkpoint_path);

  PosteriorFlow full(cfg, 11);
  const PosteriorTrainReport rf = train_posterior(full, theta, x, o, nullptr);

  PosteriorTrainOptions first = o;
  first.max_epochs = 8;  // epoch 8 does not improve
  PosteriorFlow part(cfg, 11);
  std::filesystem::remove(o.checkpoint_path);
  train_posterior(part, theta, x, first, nullptr);
  {
    // The checkpoint keeps the learning rate the plateau schedule lowered;
    // a resumed run that restarted from options.lr would drift from `full`.
    const LoadedPosterior ck = load_posterior(o.checkpoint_path);
    const auto record = nlohmann::json::parse(ck.extras.training);
    std::cout << "[ checkpoint ] lr " << record.at("lr").get<double>() << "\n";
    EXPECT_LT(record.at("lr").get<double>(), o.lr);
  }
  PosteriorFlow resumed(cfg, 999);  // different init: everything must come from the file
  PosteriorTrainOptions second = o;
  second.resume = true;
  const PosteriorTrainReport rr = train_posterior(resumed, theta, x, second, nullptr);
  EXPECT_EQ(rr.epochs, 10);
  ASSERT_EQ(rr.validation_history.size(), rf.validation_history.size());
  for (size_t i = 0; i < rf.validation_history.size(); ++i) {
    EXPECT_EQ(rr.validation_history[i], rf.validation_history[i]) << "epoch " << i;
  }
  auto pa = full->named_parameters(), pb = resumed->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(at::equal(p.value(), pb[p.key()])) << p.key();

  // Save and load: same log_prob, same samples.
  const std::string path = dir + "/gml_posterior_model.h5";
  PosteriorFileExtras extras;
  extras.x_train_min = rf.x_min;
  extras.x_train_max = rf.x_max;
  save_posterior(path, full, extras);
  LoadedPosterior back = load_posterior(path);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(back.flow->log_prob(theta.narrow(0, 0, 50), x.narrow(0, 0, 50)),
                        full->log_prob(theta.narrow(0, 0, 50), x.narrow(0, 0, 50))));
  EXPECT_TRUE(at::allclose(back.extras.x_train_min, rf.x_min));
  EXPECT_THROW(gml::read_model_file(path, "flow"), gml::Error);
  std::filesystem::remove(path);
  std::filesystem::remove(o.checkpoint_path);
}

TEST(PosteriorTraining, DropsNonFiniteRowsAndRejectsBadShapes) {
  const GaussianLinear task;
  auto [theta, x] = task.simulate(400, 5);
  x[3][1] = std::nan("");
  theta[7][0] = INFINITY;
  PosteriorConfig cfg = task_config(Estimator::Maf);
  cfg.num_blocks = 1;
  cfg.hidden_width = 8;
  PosteriorTrainOptions o = task_options();
  o.max_epochs = 1;
  PosteriorFlow flow(cfg, 1);
  const PosteriorTrainReport r = train_posterior(flow, theta, x, o, nullptr);
  EXPECT_EQ(r.dropped_rows, 2);
  EXPECT_EQ(r.train_rows + r.validation_rows, 398);
  EXPECT_TRUE(std::isfinite(r.best_validation_loss));
  EXPECT_THROW(train_posterior(flow, theta.narrow(1, 0, 4), x, o, nullptr), gml::Error);
  EXPECT_THROW(train_posterior(flow, theta, x.narrow(0, 0, 10), o, nullptr), gml::Error);
}
