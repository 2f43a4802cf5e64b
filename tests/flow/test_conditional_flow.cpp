// The full conditional flow: invertibility, exact densities (autograd
// Jacobian, normalisation on a grid), sampling, configuration.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/common/error.h"
#include "core/flow/conditional_flow.h"
#include "core/flow/flow_config.h"
#include "core/flow/galaxy_generator.h"

namespace {

using gml::flow::ConditionalFlow;
using gml::flow::FlowConfig;

const auto kF64 = at::TensorOptions().dtype(at::kDouble);

at::Tensor flags(std::initializer_list<int64_t> values) {
  return at::tensor(std::vector<int64_t>(values)).to(at::kBool);
}

double cflow_max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Moves every parameter off its initial value: a generic, strongly
// non-linear flow is a harder test than the near-identity initialisation.
void perturb(torch::nn::Module& m, uint64_t seed, double scale) {
  auto gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.add_(at::randn(p.sizes(), gen, p.options()) * scale);
}

FlowConfig small_config(int64_t d, int64_t c, int64_t blocks) {
  FlowConfig cfg;
  cfg.data_dim = d;
  cfg.condition_dim = c;
  cfg.num_blocks = blocks;
  cfg.num_bins = 8;
  cfg.hidden_width = 32;
  return cfg;
}

double standard_normal_log_density(const at::Tensor& z, int64_t row) {
  const double sq = z[row].pow(2).sum().item<double>();
  return -0.5 * sq - 0.5 * static_cast<double>(z.size(1)) * std::log(2 * M_PI);
}

// Galaxies from the built-in generator as realistic, multi-scale data.
struct GalaxyData {
  at::Tensor stars;       // float32
  at::Tensor conditions;  // float32
};

GalaxyData galaxy_data(int64_t galaxies, int64_t stars, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  at::Tensor conds = gml::flow::random_conditions(galaxies, gen);
  auto [x, c] = gml::flow::make_training_set(conds, stars, gen);
  return {x.to(at::kFloat), c.to(at::kFloat)};
}

TEST(ConditionalFlow, InverseRecoversDataInFloat32) {
  FlowConfig cfg = FlowConfig::galactic_flow();
  cfg.num_blocks = 6;
  cfg.hidden_width = 48;
  ConditionalFlow flow(cfg, 1);
  perturb(*flow, 2, 0.05);
  GalaxyData data = galaxy_data(4, 500, 3);
  flow->fit_normalization(data.stars, data.conditions);

  torch::NoGradGuard no_grad;
  auto [z, ld] = flow->to_latent(data.stars, data.conditions);
  auto [x_back, ld_back] = flow->from_latent(z, data.conditions);
  // The flow works in z-scored units; 1e-5 there is 1e-5 of each column's
  // spread in user units (km/s, kpc, ...).
  const auto& norm = flow->data_transform();
  const double err_norm =
      cflow_max_abs_diff(norm.forward(x_back).values, norm.forward(data.stars).values);
  const double err_logdet = cflow_max_abs_diff(ld + ld_back, at::zeros_like(ld));
  std::cout << "[ invert ] max|u_back - u| = " << err_norm
            << ", max|ld_fwd + ld_inv| = " << err_logdet
            << ", max|z| = " << z.abs().max().item<double>() << "\n";
  EXPECT_LE(err_norm, 1e-5);
  EXPECT_LE(err_logdet, 1e-3);
  // The flow is far from the identity after perturbation.
  EXPECT_GT(cflow_max_abs_diff(z, norm.forward(data.stars).values), 0.5);
}

TEST(ConditionalFlow, InverseRecoversUnitScaleDataInFloat32To1e5) {
  ConditionalFlow flow(small_config(6, 3, 4), 4);
  perturb(*flow, 5, 0.05);
  auto gen = at::detail::createCPUGenerator(6);
  at::Tensor x = at::randn({2000, 6}, gen) * 1.3;
  at::Tensor c = at::randn({2000, 3}, gen);
  torch::NoGradGuard no_grad;
  auto [z, ld] = flow->to_latent(x, c);
  auto [x_back, ld_back] = flow->from_latent(z, c);
  const double err = cflow_max_abs_diff(x_back, x);
  std::cout << "[ invert ] unit-scale max|x_back - x| = " << err << "\n";
  EXPECT_LE(err, 1e-5);
}

TEST(ConditionalFlow, LogProbIsChangeOfVariablesWithAutogradJacobian) {
  FlowConfig cfg = small_config(5, 2, 3);
  cfg.log_columns = {1, 4};
  cfg.condition_log_columns = {0};
  ConditionalFlow flow(cfg, 7);
  flow->to(at::kDouble);
  perturb(*flow, 8, 0.1);
  // Non-trivial normalisation so the z-score and log10 Jacobians matter.
  flow->set_normalization_tensors({
      {"data_mean", at::tensor({0.5, -0.3, 1.0, -2.0, 0.2}, kF64)},
      {"data_std", at::tensor({2.0, 0.4, 0.5, 3.0, 0.7}, kF64)},
      {"data_log10", flags({0, 1, 0, 0, 1})},
      {"condition_mean", at::tensor({0.1, 1.0}, kF64)},
      {"condition_std", at::tensor({0.3, 2.0}, kF64)},
      {"condition_log10", flags({1, 0})},
  });

  auto gen = at::detail::createCPUGenerator(9);
  const int64_t n = 6;
  at::Tensor x = at::randn({n, 5}, gen, kF64) * 1.5;
  x.select(1, 1).copy_(at::pow(10.0, -0.3 + 0.4 * at::randn({n}, gen, kF64)));
  x.select(1, 4).copy_(at::pow(10.0, 0.2 + 0.7 * at::randn({n}, gen, kF64)));
  at::Tensor c = at::stack({at::rand({n}, gen, kF64) + 0.5, at::randn({n}, gen, kF64)}, 1);
  x.requires_grad_(true);

  auto [z, logdet] = flow->to_latent(x, c);
  // Rows are independent, so the gradient of column j summed over rows
  // yields row i's dz_j/dx for every i at once.
  std::vector<at::Tensor> rows;
  for (int64_t j = 0; j < 5; ++j) {
    rows.push_back(torch::autograd::grad({z.select(1, j).sum()}, {x}, {}, true)[0]);
  }
  const at::Tensor jac = at::stack(rows, 1);  // (n, 5, 5): [i, j, k] = dz_ij / dx_ik
  const at::Tensor autograd_logdet = std::get<1>(at::linalg_slogdet(jac));
  const at::Tensor lp = flow->log_prob(x, c);
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double expected =
        standard_normal_log_density(z.detach(), i) + autograd_logdet[i].item<double>();
    worst = std::max(worst, std::abs(lp[i].item<double>() - expected));
    EXPECT_NEAR(logdet[i].item<double>(), autograd_logdet[i].item<double>(), 1e-8);
  }
  std::cout << "[ jacobian ] max|log_prob - (log N(z) + log|det J|)| = " << worst << "\n";
  EXPECT_LE(worst, 1e-8);
  // The flow's Jacobian is non-trivial (not just the normalisation).
  EXPECT_GT(autograd_logdet.std().item<double>(), 0.1);
}

// Integrates exp(log_prob) of a 2-D model over a grid covering its support.
double integrate_2d(ConditionalFlow& flow, const at::Tensor& cond, double lo0, double hi0,
                    double lo1, double hi1, bool log_axis0, int64_t steps) {
  const at::Tensor t0 = at::linspace(lo0, hi0, steps + 1, kF64);
  const at::Tensor t1 = at::linspace(lo1, hi1, steps + 1, kF64);
  // Midpoints.
  const at::Tensor m0 = 0.5 * (t0.narrow(0, 0, steps) + t0.narrow(0, 1, steps));
  const at::Tensor m1 = 0.5 * (t1.narrow(0, 0, steps) + t1.narrow(0, 1, steps));
  auto mesh = at::meshgrid({m0, m1}, "ij");
  at::Tensor a0 = mesh[0].reshape({-1});
  const at::Tensor a1 = mesh[1].reshape({-1});
  at::Tensor weight = at::full_like(a0, (hi0 - lo0) / steps * (hi1 - lo1) / steps);
  if (log_axis0) {
    // Grid uniform in t = log10 x: dx = x ln 10 dt.
    a0 = at::pow(10.0, a0);
    weight = weight * a0 * std::log(10.0);
  }
  const at::Tensor x = at::stack({a0, a1}, 1).to(at::kFloat);
  const at::Tensor lp = flow->evaluate_log_prob(x, cond, 50000).to(at::kDouble);
  return (lp.exp() * weight).sum().item<double>();
}

TEST(ConditionalFlow, TwoDimensionalDensityIntegratesToOne) {
  FlowConfig cfg = small_config(2, 1, 3);
  cfg.hidden_width = 16;
  ConditionalFlow flow(cfg, 10);
  perturb(*flow, 11, 0.1);
  flow->set_normalization_tensors({{"data_mean", at::tensor({1.0, -2.0}, kF64)},
                                   {"data_std", at::tensor({0.5, 2.0}, kF64)},
                                   {"data_log10", flags({0, 0})},
                                   {"condition_mean", at::zeros({1}, kF64)},
                                   {"condition_std", at::ones({1}, kF64)},
                                   {"condition_log10", flags({0})}});
  for (double cv : {-1.0, 0.8}) {
    const at::Tensor cond = at::full({1}, cv);
    // +-8 standard deviations of each normalised axis.
    const double mass = integrate_2d(flow, cond, 1.0 - 4.0, 1.0 + 4.0, -18.0, 14.0, false, 250);
    std::cout << "[ integral ] c=" << cv << " mass=" << mass << "\n";
    EXPECT_NEAR(mass, 1.0, 0.01);
  }
}

TEST(ConditionalFlow, TwoDimensionalDensityWithLogColumnIntegratesToOne) {
  FlowConfig cfg = small_config(2, 1, 3);
  cfg.hidden_width = 16;
  cfg.log_columns = {0};
  ConditionalFlow flow(cfg, 12);
  perturb(*flow, 13, 0.1);
  flow->set_normalization_tensors({{"data_mean", at::tensor({0.3, 0.0}, kF64)},
                                   {"data_std", at::tensor({0.4, 1.0}, kF64)},
                                   {"data_log10", flags({1, 0})},
                                   {"condition_mean", at::zeros({1}, kF64)},
                                   {"condition_std", at::ones({1}, kF64)},
                                   {"condition_log10", flags({0})}});
  const double mass =
      integrate_2d(flow, at::full({1}, 0.5), 0.3 - 3.2, 0.3 + 3.2, -8.0, 8.0, true, 250);
  std::cout << "[ integral ] log-column mass=" << mass << "\n";
  EXPECT_NEAR(mass, 1.0, 0.01);
  // Outside the support of the log column the density is zero.
  at::Tensor lp =
      flow->evaluate_log_prob(torch::tensor({{-1.0f, 0.0f}, {0.0f, 0.0f}}), at::full({1}, 0.5));
  EXPECT_EQ(lp[0].item<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(lp[1].item<double>(), -std::numeric_limits<double>::infinity());
}

TEST(ConditionalFlow, SamplesAreTheInverseFlowOfSeededNoise) {
  ConditionalFlow flow(small_config(4, 2, 2), 14);
  perturb(*flow, 15, 0.1);
  const at::Tensor cond = at::tensor({0.3f, -0.7f});
  at::Tensor a = flow->sample(cond, 1000, at::detail::createCPUGenerator(16), 1000);
  at::Tensor b = flow->sample(cond, 1000, at::detail::createCPUGenerator(16), 1000);
  at::Tensor other = flow->sample(cond, 1000, at::detail::createCPUGenerator(17), 1000);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_GT(cflow_max_abs_diff(a, other), 0.1);
  EXPECT_FALSE(a.requires_grad());
  EXPECT_FALSE(a.is_inference());
  EXPECT_EQ(a.device(), at::Device(at::kCPU));

  auto gen = at::detail::createCPUGenerator(16);
  const at::Tensor z = at::randn({1000, 4}, gen);
  torch::NoGradGuard no_grad;
  // Sampling runs the tiled inference plan, from_latent the module path:
  // the same maps with float32 rounding in different places.
  EXPECT_LE(cflow_max_abs_diff(a, flow->from_latent(z, cond).first), 1e-5);
}

TEST(ConditionalFlow, SamplingStreamsInBoundedChunks) {
  ConditionalFlow flow(small_config(3, 1, 2), 18);
  const at::Tensor cond = at::tensor({0.1f});
  const int64_t n = 1050, chunk = 100;
  int64_t expected_first = 0, calls = 0;
  std::vector<at::Tensor> pieces;
  flow->sample_chunks(cond, n, at::detail::createCPUGenerator(19), chunk,
                      [&](int64_t first, const at::Tensor& x) {
                        EXPECT_EQ(first, expected_first);
                        EXPECT_LE(x.size(0), chunk);
                        EXPECT_EQ(x.size(1), 3);
                        expected_first += x.size(0);
                        ++calls;
                        pieces.push_back(x.clone());
                      });
  EXPECT_EQ(expected_first, n);
  EXPECT_EQ(calls, 11);
  // sample() with the same chunking returns exactly the streamed rows.
  at::Tensor all = flow->sample(cond, n, at::detail::createCPUGenerator(19), chunk);
  EXPECT_TRUE(at::equal(all, at::cat(pieces)));
  EXPECT_EQ(flow->sample(cond, 0, at::detail::createCPUGenerator(19)).size(0), 0);
}

TEST(ConditionalFlow, PerRowConditionsMatchBroadcastCondition) {
  ConditionalFlow flow(small_config(3, 2, 2), 20);
  perturb(*flow, 21, 0.1);
  const at::Tensor cond = at::tensor({0.4f, 1.2f});
  at::Tensor a = flow->sample(cond, 300, at::detail::createCPUGenerator(22), 128);
  at::Tensor b = flow->sample(cond.unsqueeze(0).expand({300, 2}), 300,
                              at::detail::createCPUGenerator(22), 128);
  EXPECT_LE(cflow_max_abs_diff(a, b), 1e-5);
  EXPECT_THROW(flow->sample(at::zeros({7, 2}), 300, at::detail::createCPUGenerator(22)),
               gml::Error);
}

TEST(ConditionalFlow, SampleLogProbMatchesLatentDensity) {
  ConditionalFlow flow(small_config(4, 2, 3), 23);
  flow->to(at::kDouble);
  perturb(*flow, 24, 0.1);
  auto gen = at::detail::createCPUGenerator(25);
  const at::Tensor z = at::randn({500, 4}, gen, kF64);
  const at::Tensor c = at::randn({500, 2}, gen, kF64);
  torch::NoGradGuard no_grad;
  auto [x, logdet_inv] = flow->from_latent(z, c);
  const at::Tensor base = -0.5 * z.pow(2).sum(1) - 2.0 * std::log(2 * M_PI);
  EXPECT_LE(cflow_max_abs_diff(flow->log_prob(x, c), base - logdet_inv), 1e-9);
}

TEST(ConditionalFlow, ChunkedInferenceEqualsDifferentiableLogProb) {
  ConditionalFlow flow(small_config(4, 2, 2), 26);
  perturb(*flow, 27, 0.1);
  auto gen = at::detail::createCPUGenerator(28);
  const at::Tensor x = at::randn({1001, 4}, gen);
  const at::Tensor c = at::randn({1001, 2}, gen);
  const at::Tensor reference = flow->log_prob(x, c);
  EXPECT_TRUE(reference.requires_grad());
  const at::Tensor chunked = flow->evaluate_log_prob(x, c, 64);
  EXPECT_FALSE(chunked.requires_grad());
  EXPECT_FALSE(chunked.is_inference());
  // The inference path uses fused kernels (spline, gated last layer), so
  // float32 rounding differs from the autograd path by a few ulps of |lp|.
  EXPECT_LE(cflow_max_abs_diff(chunked, reference.detach()), 3e-5);
}

TEST(ConditionalFlow, ShortTrainingOnGeneratedGalaxiesRaisesLikelihood) {
  FlowConfig cfg = FlowConfig::galactic_flow();
  cfg.num_blocks = 2;
  cfg.hidden_width = 32;
  ConditionalFlow flow(cfg, 29);
  GalaxyData data = galaxy_data(2, 200, 30);
  flow->fit_normalization(data.stars, data.conditions);
  torch::optim::Adam opt(flow->parameters(), torch::optim::AdamOptions(3e-3));
  auto nll = [&] { return -flow->log_prob(data.stars, data.conditions).mean(); };
  const double before = nll().item<double>();
  for (int step = 0; step < 25; ++step) {
    opt.zero_grad();
    at::Tensor loss = nll();
    loss.backward();
    opt.step();
  }
  const double after = nll().item<double>();
  std::cout << "[ train ] NLL " << before << " -> " << after << "\n";
  EXPECT_TRUE(std::isfinite(after));
  EXPECT_LT(after, before - 1.0);
}

TEST(ConditionalFlow, PaperSizeModelHasAbout2Point9MillionParameters) {
  const FlowConfig cfg = FlowConfig::galactic_flow();
  ConditionalFlow flow(cfg, 31);
  // Per coupling half: data MLP (d_in -> 128 x3 -> d_out 29) and condition
  // MLP (4 -> 128 x3 -> d_out 29); per block two halves of 5 plus the LU
  // layer's 45 + 45 + 10 free entries.
  auto mlp = [](int64_t in, int64_t out) {
    return in * 128 + 128 + 2 * (128 * 128 + 128) + 128 * out + out;
  };
  const int64_t half = mlp(5, 5 * 29) + mlp(4, 5 * 29);
  const int64_t expected = 14 * (2 * half + 100);
  std::cout << "[ params ] paper-size model: " << flow->num_parameters() << "\n";
  EXPECT_EQ(flow->num_parameters(), expected);
  EXPECT_GT(flow->num_parameters(), 2'850'000);
  EXPECT_LT(flow->num_parameters(), 2'950'000);

  auto params = flow->named_parameters();
  EXPECT_EQ(params["blocks.13.coupling.second.data_net.0.weight"].sizes(),
            at::IntArrayRef({128, 5}));
  EXPECT_EQ(params["blocks.0.coupling.first.condition_net.6.weight"].sizes(),
            at::IntArrayRef({145, 128}));
  EXPECT_EQ(params["blocks.3.linear.lower"].sizes(), at::IntArrayRef({45}));
  EXPECT_TRUE(flow->named_buffers().contains("blocks.3.linear.permutation"));

  const at::Tensor cond = gml::flow::GalaxyConditions{}.to_tensor().to(at::kFloat);
  at::Tensor stars = flow->sample(cond, 5, at::detail::createCPUGenerator(32));
  EXPECT_EQ(stars.sizes(), at::IntArrayRef({5, 10}));
  EXPECT_TRUE(at::isfinite(flow->evaluate_log_prob(stars, cond)).all().item<bool>());
}

TEST(FlowConfig, RoundTripsThroughJsonAndRejectsBadInput) {
  FlowConfig cfg = FlowConfig::galactic_flow();
  cfg.num_blocks = 5;
  cfg.tail_bound = 4.5;
  const FlowConfig back = FlowConfig::from_json_text(cfg.to_json_text());
  EXPECT_EQ(back.to_json_text(), cfg.to_json_text());
  EXPECT_EQ(back.num_blocks, 5);
  EXPECT_EQ(back.tail_bound, 4.5);
  EXPECT_EQ(back.log_columns, cfg.log_columns);
  EXPECT_EQ(back.column_names.at(gml::flow::kColFeH), "[Fe/H]");

  EXPECT_THROW(FlowConfig::from_json_text(R"({"num_blocks": 3, "colour": 1})"), gml::Error);
  EXPECT_THROW(FlowConfig::from_json_text(R"({"num_bins": 1})"), gml::Error);
  // A damaged config must fail before it is allocated.
  EXPECT_THROW(FlowConfig::from_json_text(R"({"hidden_width": 1000000000})"), gml::Error);
  EXPECT_THROW(FlowConfig::from_json_text(R"({"num_blocks": 10000000})"), gml::Error);
  EXPECT_THROW(FlowConfig::from_json_text(R"({"log_columns": [10]})"), gml::Error);
  EXPECT_THROW(FlowConfig::from_json_text(R"({"num_bins": "ten"})"), gml::Error);
  EXPECT_THROW(FlowConfig::from_json_text("not json"), gml::Error);
  // Integers beyond int64 or not integral are refused by name, never
  // converted (the JSON library's conversion is undefined there).
  for (const char* text : {R"({"hidden_width": 1e300})", R"({"num_blocks": 18446744073709551616})",
                           R"({"num_bins": 8.5})", R"({"log_columns": [1e300]})"}) {
    try {
      FlowConfig::from_json_text(text);
      ADD_FAILURE() << text << " accepted";
    } catch (const gml::Error& e) {
      EXPECT_EQ(e.status(), gml::Status::Format) << text;
      EXPECT_NE(std::string(e.what()).find("must be an integer within range"), std::string::npos)
          << e.what();
    }
  }
}

// The published GalacticFlow architecture: conditioner outputs activated,
// splines without minimal bin sizes or derivative. A key written only when
// set keeps files of the default architecture readable by older libraries.
TEST(FlowConfig, GalacticFlowArchitectureOptionsRoundTrip) {
  FlowConfig cfg;
  EXPECT_EQ(cfg.to_json_text().find("conditioner_output_activation"), std::string::npos);
  cfg.conditioner_output_activation = true;
  cfg.min_bin_width = 0;
  cfg.min_bin_height = 0;
  cfg.min_derivative = 0;
  const FlowConfig back = FlowConfig::from_json_text(cfg.to_json_text());
  EXPECT_TRUE(back.conditioner_output_activation);
  EXPECT_EQ(back.min_bin_width, 0.0);
  EXPECT_EQ(back.min_derivative, 0.0);
  EXPECT_FALSE(FlowConfig::from_json_text("{}").conditioner_output_activation);
  EXPECT_THROW(FlowConfig::from_json_text(R"({"min_derivative": -1e-3})"), gml::Error);
  EXPECT_THROW(FlowConfig::from_json_text(R"({"conditioner_output_activation": 1})"), gml::Error);
}

TEST(ConditionalFlow, NormalizationTensorsRoundTripBetweenModels) {
  FlowConfig cfg = FlowConfig::galactic_flow();
  cfg.num_blocks = 2;
  cfg.hidden_width = 16;
  ConditionalFlow a(cfg, 33), b(cfg, 33);
  GalaxyData data = galaxy_data(2, 200, 34);
  a->fit_normalization(data.stars, data.conditions);
  b->set_normalization_tensors(a->normalization_tensors());
  EXPECT_TRUE(at::equal(a->evaluate_log_prob(data.stars, data.conditions),
                        b->evaluate_log_prob(data.stars, data.conditions)));
  auto wrong = a->normalization_tensors();
  wrong["data_log10"] = at::zeros({10}, at::kBool);
  EXPECT_THROW(b->set_normalization_tensors(wrong), gml::Error);
  wrong = a->normalization_tensors();
  wrong.erase("condition_std");
  EXPECT_THROW(b->set_normalization_tensors(wrong), gml::Error);
}

}  // namespace

// One condition for every row takes the tiled inference plan (condition MLPs
// folded, rows in tiles across threads); it must agree with the autograd
// path, across tile and chunk boundaries, for log_prob and for sampling.
TEST(ConditionalFlow, SingleConditionInferencePlanEqualsDifferentiablePath) {
  FlowConfig cfg = small_config(5, 3, 3);
  cfg.log_columns = {4};
  ConditionalFlow flow(cfg, 29);
  perturb(*flow, 30, 0.1);
  auto gen = at::detail::createCPUGenerator(31);
  const int64_t n = 1300;
  at::Tensor x = at::randn({n, 5}, gen);
  x.select(1, 4).abs_().add_(0.1);
  x[7][4] = -1.0f;  // outside the log column's support
  const at::Tensor c = at::tensor({0.2f, -0.4f, 1.1f});
  const at::Tensor reference = flow->log_prob(x, c).detach();
  const at::Tensor planned = flow->evaluate_log_prob(x, c, 1000);
  EXPECT_EQ(planned[7].item<double>(), -std::numeric_limits<double>::infinity());
  const at::Tensor finite = at::isfinite(reference);
  EXPECT_EQ(finite.sum().item<int64_t>(), n - 1);
  EXPECT_TRUE(at::equal(finite, at::isfinite(planned)));
  EXPECT_LE(cflow_max_abs_diff(planned.index({finite}), reference.index({finite})), 3e-5);
  {
    // Threads take whole tiles and each runs its tile on one thread, so the
    // rows come out bit for bit the same whatever the thread count.
    const int previous = at::get_num_threads();
    at::set_num_threads(3);
    const at::Tensor threaded = flow->evaluate_log_prob(x, c, 1000);
    at::set_num_threads(previous);
    EXPECT_TRUE(at::equal(threaded.index({finite}), planned.index({finite})));
  }

  at::Tensor s = flow->sample(c, n, at::detail::createCPUGenerator(32), 1000);
  auto noise = at::detail::createCPUGenerator(32);
  const at::Tensor z = at::cat({at::randn({1000, 5}, noise), at::randn({300, 5}, noise)});
  torch::NoGradGuard no_grad;
  // Inverse splines with slopes near the 1e-3 floor amplify last-ulp
  // differences between kernels up to a thousandfold, so the samples are
  // judged by their backward error: mapped back to the latent by the
  // differentiable path they must return the noise they came from.
  const at::Tensor back = flow->to_latent(s, c).first;
  const at::Tensor ref = flow->from_latent(z, c).first;
  std::cout << "[ plan ] max|to_latent(sample) - z| " << cflow_max_abs_diff(back, z)
            << ", median |sample - reference| " << (s - ref).abs().median().item<double>() << "\n";
  EXPECT_LE(cflow_max_abs_diff(back, z), 1e-4);
  EXPECT_LE((s - ref).abs().median().item<double>(), 1e-6);
}

// The same agreement for the published GalacticFlow architecture, whose
// condition MLP cannot be folded into the last layer, and its density still
// integrates to one.
TEST(ConditionalFlow, GalacticFlowArchitectureInferenceEqualsDifferentiablePath) {
  FlowConfig cfg = small_config(5, 3, 3);
  cfg.conditioner_output_activation = true;
  cfg.min_bin_width = cfg.min_bin_height = cfg.min_derivative = 0;
  ConditionalFlow flow(cfg, 41);
  perturb(*flow, 42, 0.1);
  auto gen = at::detail::createCPUGenerator(43);
  const at::Tensor x = at::randn({1300, 5}, gen);
  const at::Tensor c = at::tensor({0.3f, 0.9f, -1.2f});
  const at::Tensor reference = flow->log_prob(x, c).detach();
  ASSERT_TRUE(at::isfinite(reference).all().item<bool>());
  EXPECT_LE(cflow_max_abs_diff(flow->evaluate_log_prob(x, c, 1000), reference), 3e-5);
  const at::Tensor rows = c.unsqueeze(0).expand({1300, 3}).contiguous();
  EXPECT_LE(cflow_max_abs_diff(flow->evaluate_log_prob(x, rows, 64), reference), 3e-5);
  const at::Tensor s = flow->sample(c, 700, at::detail::createCPUGenerator(44), 500);
  auto noise = at::detail::createCPUGenerator(44);
  const at::Tensor z = at::cat({at::randn({500, 5}, noise), at::randn({200, 5}, noise)});
  torch::NoGradGuard no_grad;
  EXPECT_LE(cflow_max_abs_diff(flow->to_latent(s, c).first, z), 1e-4);

  FlowConfig cfg2 = small_config(2, 1, 3);
  cfg2.hidden_width = 16;
  cfg2.conditioner_output_activation = true;
  cfg2.min_bin_width = cfg2.min_bin_height = cfg2.min_derivative = 0;
  ConditionalFlow flow2(cfg2, 45);
  perturb(*flow2, 46, 0.1);
  const double mass = integrate_2d(flow2, at::full({1}, 0.5), -4.0, 4.0, -4.0, 4.0, false, 250);
  std::cout << "[ integral ] galacticflow architecture mass=" << mass << "\n";
  EXPECT_NEAR(mass, 1.0, 0.01);
}
