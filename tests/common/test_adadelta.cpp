// AdaDelta against torch.optim.Adadelta's trajectory
// (tests/golden/common/adadelta.json, made by
// tests/golden/make_adadelta_golden.py), with weight decay, and its
// checkpoint state round trip.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/adadelta.h"
#include "core/common/error.h"

namespace {

struct Problem {
  torch::Tensor p1, p2;
  Problem() {
    auto opts = torch::TensorOptions().dtype(torch::kDouble);
    p1 = torch::tensor({0.5, -1.0, 2.0, 1.5, 0.0, -0.25}, opts).reshape({2, 3});
    p2 = torch::tensor({0.6, 0.2}, opts);
    p1.set_requires_grad(true);
    p2.set_requires_grad(true);
  }
  void backward() const {
    auto opts = torch::TensorOptions().dtype(torch::kDouble);
    const auto t1 = torch::tensor({1.0, 1.0, 1.0, -1.0, -1.0, -1.0}, opts).reshape({2, 3});
    const auto t2 = torch::tensor({0.0, 1.0}, opts);
    const auto w = torch::tensor({1.0, 4.0, 0.25}, opts).reshape({1, 3});
    (0.1 * ((p1 - t1).pow(2) * w).sum() + 0.3 * (p2 - t2).pow(4).sum()).backward();
  }
};

}  // namespace

TEST(Adadelta, MatchesPyTorchTrajectory) {
  std::ifstream in(std::string(GML_GOLDEN) + "/common/adadelta.json");
  ASSERT_TRUE(in) << "golden file missing";
  const auto golden = nlohmann::json::parse(in);
  Problem pb;
  gml::AdadeltaOptions o;
  o.lr = golden["lr"];
  o.rho = golden["rho"];
  o.eps = golden["eps"];
  o.weight_decay = golden["weight_decay"];
  gml::Adadelta opt({pb.p1, pb.p2}, o);
  double worst = 0;
  for (const auto& step : golden["trajectory"]) {
    opt.zero_grad();
    pb.backward();
    opt.step();
    auto want1 = step["p1"].get<std::vector<double>>();
    auto want2 = step["p2"].get<std::vector<double>>();
    auto got1 = pb.p1.detach().flatten();
    for (size_t i = 0; i < want1.size(); ++i)
      worst = std::max(worst, std::abs(got1[static_cast<int64_t>(i)].item<double>() - want1[i]));
    for (size_t i = 0; i < want2.size(); ++i)
      worst = std::max(worst, std::abs(pb.p2[static_cast<int64_t>(i)].item<double>() - want2[i]));
  }
  EXPECT_EQ(opt.steps(), 80);
  EXPECT_LT(worst, 1e-12) << "max deviation from torch.optim.Adadelta";
  // The test is void if nothing moved.
  EXPECT_GT(std::abs(pb.p1[0][0].item<double>() - 0.5), 1e-3);
}

TEST(Adadelta, StateRoundTripContinuesIdentically) {
  Problem a, b;
  gml::Adadelta oa({a.p1, a.p2}, {}), ob({b.p1, b.p2}, {});
  for (int i = 0; i < 5; ++i) {
    oa.zero_grad();
    a.backward();
    oa.step();
  }
  {
    torch::NoGradGuard g;
    b.p1.copy_(a.p1);
    b.p2.copy_(a.p2);
  }
  ob.load_state(oa.state());
  EXPECT_EQ(ob.steps(), 5);
  for (auto* o : {&oa, &ob}) {
    Problem& p = o == &oa ? a : b;
    o->zero_grad();
    p.backward();
    o->step();
  }
  EXPECT_TRUE(torch::equal(a.p1, b.p1));
  auto bad = oa.state();
  bad.erase("acc.1");
  EXPECT_THROW(ob.load_state(bad), gml::Error);
}
