// Building blocks of the flow: LU linear layer, product conditioner, double
// spline coupling.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/flow/conditioner.h"
#include "core/flow/flow_config.h"
#include "core/flow/lu_linear.h"
#include "core/flow/spline_coupling.h"

namespace {

using gml::flow::FlowConfig;

double layers_max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Moves every parameter away from its initial value so the checks below see
// a generic, strongly non-linear layer rather than a near-identity one.
void layers_perturb(torch::nn::Module& m, uint64_t seed, double scale) {
  auto gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.add_(at::randn(p.sizes(), gen, p.options()) * scale);
}

TEST(LULinear, StartsOrthogonalWithZeroLogDet) {
  gml::flow::LULinear lu(7, at::detail::createCPUGenerator(1));
  const at::Tensor w = lu->weight().to(at::kDouble);
  EXPECT_LE(layers_max_abs_diff(w.matmul(w.t()), at::eye(7, w.options())), 1e-5);
  EXPECT_NEAR(lu->logabsdet().item<double>(), 0.0, 1e-5);
  // A random rotation, not the identity.
  EXPECT_GT(layers_max_abs_diff(w, at::eye(7, w.options())), 0.1);
  // Only the free entries are parameters: 2 * 21 triangular + 7 diagonal.
  int64_t count = 0;
  for (const auto& p : lu->parameters()) count += p.numel();
  EXPECT_EQ(count, 2 * 21 + 7);
}

TEST(LULinear, LogDetAndInverseMatchDenseLinearAlgebra) {
  gml::flow::LULinear lu(6, at::detail::createCPUGenerator(2));
  lu->to(at::kDouble);
  layers_perturb(*lu, 3, 0.3);
  const at::Tensor w = lu->weight();
  const at::Tensor slogdet = std::get<1>(at::linalg_slogdet(w));
  EXPECT_NEAR(lu->logabsdet().item<double>(), slogdet.item<double>(), 1e-10);
  EXPECT_GT(std::abs(slogdet.item<double>()), 0.05);

  auto gen = at::detail::createCPUGenerator(4);
  at::Tensor x = at::randn({50, 6}, gen, at::TensorOptions().dtype(at::kDouble));
  auto [y, ld] = lu->forward(x);
  EXPECT_LE(layers_max_abs_diff(y, x.matmul(w.t())), 1e-12);
  auto [x_back, ld_inv] = lu->inverse(y);
  EXPECT_LE(layers_max_abs_diff(x_back, x), 1e-10);
  EXPECT_LE(layers_max_abs_diff(ld + ld_inv, at::zeros_like(ld)), 1e-12);
  EXPECT_EQ(ld.sizes(), at::IntArrayRef({50}));
}

TEST(Conditioner, IsTheProductOfTwoMlpsAndBroadcastsOneCondition) {
  gml::flow::ConditionerShape shape;
  shape.data_in = 3;
  shape.condition_in = 2;
  shape.out = 11;
  shape.hidden_width = 16;
  shape.hidden_layers = 3;
  gml::flow::Conditioner net(shape, at::detail::createCPUGenerator(5));
  auto params = net->named_parameters();
  ASSERT_TRUE(params.contains("data_net.0.weight"));
  ASSERT_TRUE(params.contains("condition_net.6.bias"));
  EXPECT_EQ(params["data_net.0.weight"].sizes(), at::IntArrayRef({16, 3}));
  EXPECT_EQ(params["condition_net.6.weight"].sizes(), at::IntArrayRef({11, 16}));

  auto gen = at::detail::createCPUGenerator(6);
  at::Tensor x = at::randn({9, 3}, gen);
  at::Tensor c = at::randn({1, 2}, gen);
  at::Tensor out = net->forward(x, c);
  at::Tensor out_rows = net->forward(x, c.expand({9, 2}));
  EXPECT_EQ(out.sizes(), at::IntArrayRef({9, 11}));
  EXPECT_LE(layers_max_abs_diff(out, out_rows), 1e-6);

  // Zeroing the last condition-net layer zeroes the product: the condition
  // gates every output multiplicatively.
  {
    torch::NoGradGuard no_grad;
    params["condition_net.6.weight"].zero_();
    params["condition_net.6.bias"].zero_();
  }
  EXPECT_EQ(net->forward(x, c).abs().max().item<double>(), 0.0);
}

// The published GalacticFlow conditioner applies its LeakyReLU after the
// last layer of both MLPs too. Checked against the product written out from
// the weights, on the autograd path and on both inference paths (one
// condition folded or not, per-row conditions).
TEST(Conditioner, OutputActivationGivesTheProductOfActivatedMlps) {
  gml::flow::ConditionerShape shape;
  shape.data_in = 3;
  shape.condition_in = 2;
  shape.out = 7;
  shape.hidden_width = 12;
  shape.hidden_layers = 2;
  shape.leaky_relu_slope = 0.2;
  shape.output_activation = true;
  gml::flow::Conditioner net(shape, at::detail::createCPUGenerator(15));
  layers_perturb(*net, 16, 0.3);
  auto params = net->named_parameters();
  auto mlp = [&](const std::string& name, at::Tensor h) {
    for (int64_t i = 0; i <= shape.hidden_layers; ++i) {
      const std::string p = name + "." + std::to_string(2 * i) + ".";
      h = at::leaky_relu(at::linear(h, params[p + "weight"], params[p + "bias"]), 0.2);
    }
    return h;
  };
  auto gen = at::detail::createCPUGenerator(17);
  const at::Tensor x = at::randn({40, 3}, gen) * 2;
  const at::Tensor c = at::randn({40, 2}, gen) * 2;
  at::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = mlp("data_net", x) * mlp("condition_net", c);
  }
  // Both factors are negative somewhere, so the output activation matters.
  ASSERT_GT((expected < 0).sum().item<int64_t>(), 0);
  EXPECT_LE(layers_max_abs_diff(net->forward(x, c).detach(), expected), 1e-5);
  torch::NoGradGuard no_grad;
  EXPECT_LE(layers_max_abs_diff(net->forward(x, c), expected), 1e-5);
  const at::Tensor c0 = c.narrow(0, 0, 1);
  const at::Tensor expected_one = mlp("data_net", x) * mlp("condition_net", c0);
  EXPECT_LE(layers_max_abs_diff(net->forward(x, c0), expected_one), 1e-5);
}

FlowConfig layers_small_config(int64_t d, int64_t c) {
  FlowConfig cfg;
  cfg.data_dim = d;
  cfg.condition_dim = c;
  cfg.num_blocks = 2;
  cfg.num_bins = 6;
  cfg.hidden_width = 24;
  return cfg;
}

TEST(SplineCoupling, InvertsInOnePassAndTransformsBothHalves) {
  for (int64_t d : {2, 5, 10}) {
    gml::flow::SplineCoupling coupling(layers_small_config(d, 3),
                                       at::detail::createCPUGenerator(7));
    layers_perturb(*coupling, 8, 0.15);
    auto gen = at::detail::createCPUGenerator(9);
    at::Tensor x = at::randn({300, d}, gen) * 1.5;
    at::Tensor c = at::randn({300, 3}, gen);
    auto [y, ld] = coupling->forward(x, c);
    auto [x_back, ld_inv] = coupling->inverse(y, c);
    EXPECT_LE(layers_max_abs_diff(x_back, x), 1e-5) << "d=" << d;
    EXPECT_LE(layers_max_abs_diff(ld, -ld_inv), 1e-4) << "d=" << d;
    // Both halves move (the double coupling), so no column is left as is.
    const at::Tensor moved = (y - x).abs().amax(0);
    EXPECT_GT(moved.min().item<double>(), 1e-3) << "d=" << d;
  }
}

TEST(SplineCoupling, DependsOnTheCondition) {
  gml::flow::SplineCoupling coupling(layers_small_config(4, 2), at::detail::createCPUGenerator(10));
  layers_perturb(*coupling, 11, 0.15);
  auto gen = at::detail::createCPUGenerator(12);
  at::Tensor x = at::randn({100, 4}, gen);
  auto [y1, ld1] = coupling->forward(x, at::zeros({1, 2}));
  auto [y2, ld2] = coupling->forward(x, at::ones({1, 2}));
  EXPECT_GT(layers_max_abs_diff(y1, y2), 1e-3);
}

}  // namespace
