// RAdam against torch.optim.RAdam's trajectory (tests/golden/common/radam.json,
// made by tests/golden/make_radam_golden.py), across the warm-up steps where
// the rectifier is off (rho_t <= 5) and after.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/radam.h"

namespace {

// Follows `key`'s trajectory with RAdam (rectified) or Adam; returns the
// largest deviation from PyTorch.
double follow(const nlohmann::json& golden, const char* key, bool rectified) {
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  torch::Tensor p1 = torch::tensor({0.5, -1.0, 2.0, 1.5, 0.0, -0.25}, opts).reshape({2, 3});
  torch::Tensor p2 = torch::tensor({0.6, 0.2}, opts);
  p1.set_requires_grad(true);
  p2.set_requires_grad(true);
  const auto t1 = torch::tensor({1.0, 1.0, 1.0, -1.0, -1.0, -1.0}, opts).reshape({2, 3});
  const auto t2 = torch::tensor({0.0, 1.0}, opts);
  const auto w = torch::tensor({1.0, 4.0, 0.25}, opts).reshape({1, 3});
  gml::RAdamOptions o;
  o.lr = golden["lr"];
  o.weight_decay = golden["weight_decay"];
  o.rectified = rectified;
  gml::RAdam opt({p1, p2}, o);
  double worst = 0;
  for (const auto& step : golden[key]) {
    opt.zero_grad();
    auto loss = 0.1 * ((p1 - t1).pow(2) * w).sum() + 0.3 * (p2 - t2).pow(4).sum();
    loss.backward();
    opt.step();
    auto want1 = step["p1"].get<std::vector<double>>();
    auto want2 = step["p2"].get<std::vector<double>>();
    auto got1 = p1.detach().flatten();
    for (size_t i = 0; i < want1.size(); ++i) {
      worst = std::max(worst, std::abs(got1[static_cast<int64_t>(i)].item<double>() - want1[i]));
    }
    for (size_t i = 0; i < want2.size(); ++i) {
      worst = std::max(worst, std::abs(p2[static_cast<int64_t>(i)].item<double>() - want2[i]));
    }
  }
  EXPECT_EQ(opt.steps(), 60);
  // The path must have gone somewhere: the test is void if nothing moved.
  EXPECT_LT(std::abs(p2[0].item<double>()), 0.6);
  return worst;
}

}  // namespace

TEST(RAdam, MatchesPyTorchTrajectory) {
  std::ifstream in(std::string(GML_GOLDEN) + "/common/radam.json");
  ASSERT_TRUE(in) << "golden file missing";
  const auto golden = nlohmann::json::parse(in);
  EXPECT_LT(follow(golden, "trajectory", true), 1e-10) << "max deviation from torch.optim.RAdam";
}

TEST(RAdam, UnrectifiedIsTorchAdam) {
  std::ifstream in(std::string(GML_GOLDEN) + "/common/radam.json");
  ASSERT_TRUE(in) << "golden file missing";
  const auto golden = nlohmann::json::parse(in);
  ASSERT_TRUE(golden.contains("adam_trajectory"));
  EXPECT_LT(follow(golden, "adam_trajectory", false), 1e-10)
      << "max deviation from torch.optim.Adam";
}

TEST(RAdam, StateRoundTripResumesIdentically) {
  auto make = [] {
    auto p = torch::linspace(-1, 1, 8, torch::kDouble).set_requires_grad(true);
    return p;
  };
  auto run = [](torch::Tensor p, gml::RAdam& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      (p.pow(2) * torch::arange(1, 9, torch::kDouble)).sum().backward();
      opt.step();
    }
  };
  auto a = make();
  gml::RAdam oa({a}, {});
  run(a, oa, 10);
  auto b = make();
  gml::RAdam ob({b}, {});
  run(b, ob, 4);
  auto saved = ob.state();
  auto c = b.detach().clone().set_requires_grad(true);
  gml::RAdam oc({c}, {});
  oc.load_state(saved);
  run(c, oc, 6);
  EXPECT_TRUE(torch::allclose(a, c, 0, 0)) << "resumed run must equal the uninterrupted one";
}
