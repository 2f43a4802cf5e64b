// The posterior family's autoregressive flows: against nflows (golden values
// from tests/golden/make_posterior_golden.py), fast (degree-ordered) against
// naive (D-pass) sampling, and normalisation of the density.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/made.h"
#include "core/posterior/posterior_flow.h"
#include "core/posterior/posterior_sampling.h"

namespace {

using gml::posterior::Estimator;
using gml::posterior::PosteriorConfig;
using gml::posterior::PosteriorFlow;

const auto kFlowF64 = at::TensorOptions().dtype(at::kDouble);

at::Tensor flow_from_json(const nlohmann::json& v, std::vector<int64_t> shape) {
  return at::tensor(v.get<std::vector<double>>(), kFlowF64).reshape(shape);
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

void perturb(torch::nn::Module& m, uint64_t seed, double scale) {
  auto gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.add_(at::randn(p.sizes(), gen, p.options()) * scale);
}

// Every layout of the family: MAF, autoregressive NSF, sbi's coupling NSF.
struct FlowLayout {
  Estimator estimator;
  bool coupling;
  const char* name;
};
const FlowLayout kFlowLayouts[] = {{Estimator::Maf, false, "maf"},
                                   {Estimator::Nsf, false, "autoregressive_nsf"},
                                   {Estimator::Nsf, true, "nsf"}};

PosteriorConfig small_config(Estimator e, int64_t d, int64_t c, int64_t blocks, int64_t hidden,
                             bool coupling = false) {
  PosteriorConfig cfg;
  cfg.coupling = coupling;
  if (coupling) cfg.activation = gml::posterior::Activation::Relu;
  cfg.estimator = e;
  cfg.theta_dim = d;
  cfg.x_dim = c;
  cfg.num_blocks = blocks;
  cfg.hidden_width = hidden;
  cfg.made_blocks = 2;
  cfg.num_bins = 6;
  return cfg;
}

}  // namespace

TEST(PosteriorFlow, MatchesNflowsLogProbAndInverse) {
  std::ifstream in(std::string(GML_GOLDEN_DIR) + "/posterior/nflows_golden.json");
  ASSERT_TRUE(in.good()) << "missing tests/golden/posterior/nflows_golden.json";
  const nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_GE(doc.at("cases").size(), 7u);
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    PosteriorConfig cfg;
    cfg.estimator = gml::posterior::estimator_from_name(c.at("estimator"));
    cfg.theta_dim = c.at("theta_dim");
    cfg.x_dim = c.at("x_dim");
    cfg.hidden_width = c.at("hidden_width");
    cfg.num_blocks = c.at("num_blocks");
    cfg.made_blocks = c.at("made_blocks");
    cfg.num_bins = c.at("num_bins");
    cfg.tail_bound = c.at("tail_bound");
    cfg.coupling = c.value("coupling", false);
    if (cfg.coupling) cfg.activation = gml::posterior::Activation::Relu;
    PosteriorFlow flow(cfg, 1);
    flow->to(at::kDouble);
    // Every parameter and permutation of ours must come from the file.
    const nlohmann::json& params = c.at("parameters");
    size_t assigned = 0;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : flow->named_parameters()) {
        ASSERT_TRUE(params.contains(p.key())) << p.key();
        p.value().copy_(flow_from_json(params.at(p.key()), p.value().sizes().vec()));
        ++assigned;
      }
      for (auto& b : flow->named_buffers()) {
        if (b.key().rfind("permutation", 0) != 0) continue;
        ASSERT_TRUE(params.contains(b.key())) << b.key();
        b.value().copy_(flow_from_json(params.at(b.key()), b.value().sizes().vec()));
        ++assigned;
      }
    }
    EXPECT_EQ(assigned, params.size());
    const int64_t n = c.at("n"), d = cfg.theta_dim, cx = cfg.x_dim;
    const at::Tensor theta = flow_from_json(c.at("theta"), {n, d});
    const at::Tensor x = flow_from_json(c.at("x"), {n, cx});
    const at::Tensor z = flow_from_json(c.at("z"), {n, d});
    const at::Tensor want_lp = flow_from_json(c.at("log_prob"), {n});
    const at::Tensor want_inv = flow_from_json(c.at("inverse"), {n, d});
    torch::NoGradGuard no_grad;
    const double err_lp = max_abs_diff(flow->log_prob(theta, x), want_lp);
    const double err_fast = max_abs_diff(flow->from_latent(z, x), want_inv);
    const double err_naive = max_abs_diff(flow->from_latent(z, x, true), want_inv);
    EXPECT_LT(err_lp, 1e-9);
    // One row of x serves every theta, as N copies of it do.
    const at::Tensor x0 = x.narrow(0, 0, 1);
    EXPECT_LT(max_abs_diff(flow->log_prob(theta, x0), flow->log_prob(theta, x0.expand({n, cx}))),
              1e-12);
    EXPECT_LT(err_fast, 1e-9);
    EXPECT_LT(err_naive, 1e-9);
    std::cout << "[ nflows ] " << c.at("name").get<std::string>() << " |dlogp| " << err_lp
              << " |dtheta| fast " << err_fast << " naive " << err_naive << "\n";
  }
}

TEST(PosteriorFlow, FastSamplingEqualsNaiveSampling) {
  for (const FlowLayout& layout : kFlowLayouts) {
    SCOPED_TRACE(layout.name);
    PosteriorFlow flow(small_config(layout.estimator, 7, 11, 4, 64, layout.coupling), 3);
    perturb(*flow, 4, 0.05);
    const at::Tensor x = at::randn({3, 11}, at::detail::createCPUGenerator(5));
    const at::Tensor fast = flow->sample(x, 400, at::detail::createCPUGenerator(6));
    const at::Tensor naive = flow->sample(x, 400, at::detail::createCPUGenerator(6), true);
    ASSERT_EQ(fast.sizes(), (std::vector<int64_t>{3, 400, 7}));
    EXPECT_LE(max_abs_diff(fast, naive), 1e-5);
    // Different observations give different posteriors.
    EXPECT_GT(max_abs_diff(fast[0].mean(0), fast[1].mean(0)), 1e-3);
    // One observation broadcasts: the same draws as a repeated row.
    const at::Tensor one = flow->sample(x.narrow(0, 0, 1), 400, at::detail::createCPUGenerator(6));
    const at::Tensor z = at::randn({400, 7}, at::detail::createCPUGenerator(6));
    torch::NoGradGuard no_grad;
    EXPECT_LE(max_abs_diff(one[0], flow->from_latent(z, x.narrow(0, 0, 1).expand({400, 11}))),
              1e-5);
  }
}

TEST(PosteriorFlow, SamplesAreTheInverseOfTheDensityMap) {
  // Sampled theta must map back to the noise it came from: the log density
  // of a sample equals the base density minus the inverse log-Jacobian,
  // here checked through log_prob against a finite-difference Jacobian.
  PosteriorFlow flow(small_config(Estimator::Maf, 2, 1, 3, 16), 7);
  flow->to(at::kDouble);
  perturb(*flow, 8, 0.2);
  const at::Tensor x = at::tensor({0.3}, kFlowF64).view({1, 1});
  const at::Tensor z = at::randn({50, 2}, at::detail::createCPUGenerator(9), kFlowF64);
  torch::NoGradGuard no_grad;
  const at::Tensor theta = flow->from_latent(z, x);
  const double h = 1e-6;
  for (int64_t i = 0; i < 50; ++i) {
    at::Tensor jac = at::zeros({2, 2}, kFlowF64);
    for (int64_t k = 0; k < 2; ++k) {
      at::Tensor zp = z.narrow(0, i, 1).clone(), zm = zp.clone();
      zp[0][k] += h;
      zm[0][k] -= h;
      jac.select(1, k).copy_((flow->from_latent(zp, x) - flow->from_latent(zm, x))[0] / (2 * h));
    }
    const double base = -0.5 * z[i].pow(2).sum().item<double>() - std::log(2 * M_PI);
    const double want = base - std::log(std::abs(at::det(jac).item<double>()));
    EXPECT_NEAR(flow->log_prob(theta.narrow(0, i, 1), x).item<double>(), want, 1e-5);
  }
}

TEST(PosteriorFlow, TwoDimensionalDensityIntegratesToOne) {
  for (const FlowLayout& layout : kFlowLayouts) {
    SCOPED_TRACE(layout.name);
    PosteriorFlow flow(small_config(layout.estimator, 2, 2, 3, 16, layout.coupling), 10);
    flow->to(at::kDouble);
    perturb(*flow, 11, 0.1);
    std::map<std::string, at::Tensor> norm = flow->normalization_tensors();
    norm["theta_mean"] = at::tensor({1.0, -2.0}, kFlowF64);
    norm["theta_std"] = at::tensor({0.5, 2.0}, kFlowF64);
    flow->set_normalization_tensors(norm);
    const int64_t m = 600;
    const at::Tensor g0 = at::linspace(-5.0, 7.0, m, kFlowF64);
    const at::Tensor g1 = at::linspace(-26.0, 22.0, m, kFlowF64);
    const double cell = (12.0 / (m - 1)) * (48.0 / (m - 1));
    auto grid = at::meshgrid({g0, g1}, "ij");
    const at::Tensor theta = at::stack({grid[0].reshape(-1), grid[1].reshape(-1)}, 1);
    torch::NoGradGuard no_grad;
    const double mass = flow->log_prob(theta, at::tensor({0.2, -0.1}, kFlowF64).view({1, 2}))
                            .exp()
                            .sum()
                            .item<double>() *
                        cell;
    EXPECT_NEAR(mass, 1.0, 0.01);
    std::cout << "[ integral ] " << layout.name << " " << mass << "\n";
  }
}

// bounded_theta: the flow models logit((theta - lo) / (hi - lo)),
// log(theta - lo) or log(hi - theta). For each kind of bound the density is
// normalised on the support (quadrature, through theta = lo + e^s on an
// open side), zero outside it, and every draw lies inside with the mean the
// density gives.
TEST(PosteriorFlow, BoundedThetaIsADensityOnThePriorsSupportAndDrawsStayInside) {
  struct Case {
    const char* prior;
    double lo, hi;
  };
  const Case cases[] = {{R"({"kind":"uniform","lower":[2],"upper":[3.5]})", 2, 3.5},
                        {R"({"kind":"external","lower":[1],"upper":[null]})", 1, INFINITY},
                        {R"({"kind":"external","lower":[null],"upper":[5]})", -INFINITY, 5}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.prior);
    for (const FlowLayout& layout : kFlowLayouts) {
      SCOPED_TRACE(layout.name);
      PosteriorConfig cfg = small_config(layout.estimator, 1, 1, 2, 16, layout.coupling);
      cfg.prior = gml::posterior::Prior::from_json_text(c.prior);
      if (cfg.prior.kind() == gml::posterior::Prior::Kind::Independent) {
        cfg.prior_lower = {c.lo};  // a box is kept in the legacy fields
        cfg.prior_upper = {c.hi};
        cfg.prior = gml::posterior::Prior();
      }
      cfg.bounded_theta = true;
      PosteriorFlow flow(cfg, 12);
      flow->to(at::kDouble);
      perturb(*flow, 13, 0.2);
      std::map<std::string, at::Tensor> norm = flow->normalization_tensors();
      norm["theta_mean"] = at::tensor({0.3}, kFlowF64);
      norm["theta_std"] = at::tensor({0.8}, kFlowF64);
      flow->set_normalization_tensors(norm);
      const at::Tensor x = at::tensor({0.4}, kFlowF64).view({1, 1});
      torch::NoGradGuard no_grad;
      // Midpoints of the support, or of s with theta = lo + e^s / hi - e^s.
      const int64_t m = 40000;
      at::Tensor theta, weight;
      if (std::isfinite(c.lo) && std::isfinite(c.hi)) {
        const double h = (c.hi - c.lo) / m;
        theta = c.lo + h * (at::arange(m, kFlowF64) + 0.5);
        weight = at::full({m}, h, kFlowF64);
      } else {
        const double h = 60.0 / m;
        const at::Tensor ex = at::exp(-30.0 + h * (at::arange(m, kFlowF64) + 0.5));
        theta = std::isfinite(c.lo) ? c.lo + ex : c.hi - ex;
        weight = h * ex;
      }
      const at::Tensor q = flow->log_prob(theta.view({m, 1}), x).exp() * weight;
      EXPECT_NEAR(q.sum().item<double>(), 1.0, 2e-3);
      const double mean = (q * theta).sum().item<double>();

      const double outside = std::isfinite(c.lo) ? c.lo - 0.5 : c.hi + 0.5;
      EXPECT_EQ(flow->log_prob(at::tensor({outside}, kFlowF64).view({1, 1}), x).item<double>(),
                -INFINITY);
      EXPECT_FALSE(flow->in_domain(at::tensor({outside}, kFlowF64).view({1, 1}))[0].item<bool>());

      const at::Tensor draws = flow->sample(x, 20000, at::detail::createCPUGenerator(14))[0];
      EXPECT_TRUE(((draws >= c.lo) & (draws <= c.hi)).all().item<bool>());
      const double sd = draws.std().item<double>();
      EXPECT_NEAR(draws.mean().item<double>(), mean, 5 * sd / std::sqrt(20000.0));
    }
  }
}

// sbi's NSF layout is stored only when chosen (files written before it
// read as the MADE layout), and only an NSF has it.
TEST(PosteriorConfig, CouplingIsWrittenOnlyWhenSetAndOnlyForNsf) {
  PosteriorConfig cfg = small_config(Estimator::Nsf, 3, 2, 2, 8);
  EXPECT_EQ(cfg.to_json_text().find("coupling"), std::string::npos);
  EXPECT_FALSE(PosteriorConfig::from_json_text(cfg.to_json_text()).coupling);
  cfg.coupling = true;
  EXPECT_TRUE(PosteriorConfig::from_json_text(cfg.to_json_text()).coupling);
  // No permutations: the alternating halves and LU layers mix the dimensions.
  PosteriorFlow flow(cfg, 1);
  for (const auto& b : flow->named_buffers())
    EXPECT_EQ(b.key().find("permutation"), std::string::npos);
  cfg.estimator = Estimator::Maf;
  EXPECT_THROW(cfg.validate(), gml::Error);
}

// The flag is written only when set (older libraries refuse such a model
// rather than misread it), and it needs a bound to map.
TEST(PosteriorConfig, BoundedThetaIsWrittenOnlyWhenSetAndNeedsABound) {
  PosteriorConfig cfg = small_config(Estimator::Maf, 1, 1, 1, 4);
  EXPECT_EQ(cfg.to_json_text().find("bounded_theta"), std::string::npos);
  cfg.prior_lower = {0};
  cfg.prior_upper = {1};
  cfg.bounded_theta = true;
  EXPECT_NE(cfg.to_json_text().find("\"bounded_theta\":true"), std::string::npos);
  EXPECT_TRUE(PosteriorConfig::from_json_text(cfg.to_json_text()).bounded_theta);
  cfg.prior_lower.clear();
  cfg.prior_upper.clear();
  EXPECT_THROW(cfg.validate(), gml::Error);
}

// The parameter a MADE block takes first is transformed without x; each
// block's permutation hands the lead to another parameter, so with two or
// more blocks every parameter's posterior depends on x. Two parameters and
// identity permutations everywhere used to leave theta_0 unconditioned.
TEST(PosteriorFlow, EveryBlockHandsTheLeadToAnotherParameter) {
  for (int64_t dim : {2, 3, 5}) {
    for (uint64_t seed = 0; seed < 32; ++seed) {
      PosteriorFlow flow(small_config(Estimator::Maf, dim, 2, 4, 8), seed);
      const auto buffers = flow->named_buffers();
      for (int b = 0; b < 4; ++b) {
        const at::Tensor perm = buffers["permutation" + std::to_string(b)].to(at::kLong);
        ASSERT_NE(perm[0].item<int64_t>(), 0)
            << "dim " << dim << " seed " << seed << " block " << b;
        EXPECT_TRUE(at::equal(std::get<0>(perm.sort()), at::arange(dim)));
      }
    }
  }
}

TEST(PosteriorConfig, RoundTripsThroughJsonAndRejectsBadInput) {
  PosteriorConfig c = small_config(Estimator::Nsf, 3, 4, 5, 32);
  c.prior_lower = {0, 1, 2};
  c.prior_upper = {1, 2, 3};
  c.theta_names = {"a", "b", "c"};
  const PosteriorConfig back = PosteriorConfig::from_json_text(c.to_json_text());
  EXPECT_EQ(back.to_json_text(), c.to_json_text());
  EXPECT_EQ(back.estimator, Estimator::Nsf);
  EXPECT_THROW(PosteriorConfig::from_json_text("{\"theta_dim\": 2, \"bogus\": 1}"), gml::Error);
  EXPECT_THROW(PosteriorConfig::from_json_text("{\"estimator\": \"gan\"}"), gml::Error);
  // A damaged config must fail before it is allocated.
  EXPECT_THROW(PosteriorConfig::from_json_text("{\"hidden_width\": 1000000000}"), gml::Error);
  EXPECT_THROW(PosteriorConfig::from_json_text("{\"num_blocks\": 10000000}"), gml::Error);
  for (const char* text : {R"({"theta_dim": 1e300})", R"({"x_dim": 18446744073709551616})",
                           R"({"hidden_width": 2.5})"}) {
    try {
      PosteriorConfig::from_json_text(text);
      ADD_FAILURE() << text << " accepted";
    } catch (const gml::Error& e) {
      EXPECT_EQ(e.status(), gml::Status::Format) << text;
      EXPECT_NE(std::string(e.what()).find("must be an integer within range"), std::string::npos)
          << e.what();
    }
  }
  c.prior_upper = {1, 0, 3};
  EXPECT_THROW(c.validate(), gml::Error);
  c.prior_upper = {1, 2};
  EXPECT_THROW(c.validate(), gml::Error);
}

// One observation's draws made chunk by chunk into a caller's buffer equal
// the draws made in one batch, across a stream-chunk boundary, with the same
// count outside the prior box.
TEST(PosteriorSampling, DrawsOfOneObservationIntoABufferEqualOneBatch) {
  namespace post = gml::posterior;
  PosteriorConfig cfg = small_config(Estimator::Maf, 2, 2, 1, 8);
  cfg.prior_lower = {-1.0, -1.0};
  cfg.prior_upper = {1.0, 1.0};
  PosteriorFlow flow(cfg, 3);
  perturb(*flow, 4, 0.05);
  const at::Tensor x = at::randn({1, 2}, at::detail::createCPUGenerator(5));
  const int64_t n = post::kStreamChunk + 3000;
  const post::PosteriorDraws whole = post::draw_posterior(flow, x, n, 11, 5);
  std::vector<double> buf(static_cast<size_t>(n * 2), std::nan(""));
  const int64_t outside = post::draw_observation_into(flow, x, n, 11, 5, buf.data(), nullptr, 4096);
  const at::Tensor chunked = at::from_blob(buf.data(), {1, n, 2}, kFlowF64);
  EXPECT_LE(max_abs_diff(whole.theta, chunked), 1e-6);
  EXPECT_EQ(outside, whole.outside[0].item<int64_t>());
  EXPECT_GT(outside, 0);
  // The second chunk has a stream of its own.
  EXPECT_GT(
      max_abs_diff(post::latent_chunk(11, 5, 0, 100, 2), post::latent_chunk(11, 5, 1, 100, 2)),
      0.1);
}
