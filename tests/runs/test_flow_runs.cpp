// The flow runs in C++, below the C ABI: synthetic galaxies written and read
// back, a two-step training run, sampling into a buffer and into a file (the
// same draws for the same seed), log densities with one or per-star
// conditions, and the MMD evaluation over a star table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "runs/flow/flow_runs.h"

namespace {

namespace flow = gml::flow;
namespace runs = gml::runs;

std::string flow_work_path(const std::string& name) {
  return testing::TempDir() + "gml_runs_flow_" + std::to_string(::getpid()) + "_" + name;
}

// Three synthetic galaxies of 200 stars and a flow trained on them for two
// steps, shared by the cases: the runs' mechanics do not depend on training.
class FlowRuns : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::remove(stars().c_str());
    std::remove(model().c_str());
    runs::simulate_flow_galaxies(3, 200, at::Tensor(), 5, stars(), nullptr);
    runs::FlowTrainRunOptions o;
    o.train.steps = 2;
    o.train.batch_size = 64;
    o.train.eval_every = 1;
    o.train.seed = 7;
    o.config_json = R"({"num_blocks":1,"hidden_width":8,"hidden_layers":1})";
    o.command = "test_flow_runs";
    const flow::TrainReport r = runs::run_flow_training(stars(), o, model(), nullptr, at::kCPU);
    ASSERT_EQ(r.steps, 2);
    loaded_ = new flow::LoadedFlow(flow::load_flow(model()));
  }
  static void TearDownTestSuite() {
    delete loaded_;
    loaded_ = nullptr;
    std::remove(stars().c_str());
    std::remove(model().c_str());
  }
  static std::string stars() { return flow_work_path("stars.h5"); }
  static std::string model() { return flow_work_path("model.h5"); }
  static flow::LoadedFlow& loaded() { return *loaded_; }
  static at::Tensor conditions(int64_t galaxy) {
    return runs::read_flow_galaxy(stars(), galaxy).conditions.unsqueeze(0);
  }
  static inline flow::LoadedFlow* loaded_ = nullptr;
};

TEST_F(FlowRuns, SimulatedGalaxiesReadBackWithTheirConditions) {
  const runs::FlowGalaxy g = runs::read_flow_galaxy(stars(), 1);
  EXPECT_EQ(g.stars.size(0), 200);
  EXPECT_EQ(g.stars.size(1), static_cast<int64_t>(flow::kColumnNames.size()));
  EXPECT_EQ(g.conditions.numel(), flow::kNumConditions);
  EXPECT_TRUE(at::isfinite(g.stars).all().item<bool>());
  try {
    runs::read_flow_galaxy(stars(), 42);
    FAIL() << "galaxy 42 was found";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::NotFound);
  }
}

TEST_F(FlowRuns, GivenConditionsAreCheckedAndKept) {
  const std::string path = flow_work_path("given.h5");
  std::remove(path.c_str());
  const at::Tensor cond = conditions(0).repeat({2, 1});
  runs::simulate_flow_galaxies(2, 30, cond, 9, path, nullptr);
  EXPECT_TRUE(at::allclose(runs::read_flow_galaxy(path, 1).conditions, cond[1]));
  std::remove(path.c_str());
  at::Tensor bad = cond.clone();
  bad.fill_(-1e6);
  EXPECT_THROW(runs::simulate_flow_galaxies(2, 30, bad, 9, path, nullptr), gml::Error);
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "no file after a refused run";
}

TEST_F(FlowRuns, SamplesIntoABufferAndAFileAlike) {
  const at::Tensor cond = at::cat({conditions(0), conditions(2)});
  const int64_t d = loaded().flow->config().data_dim, per = 70;
  std::vector<float> a(static_cast<size_t>(2 * per * d)), b(a.size());
  const at::Tensor outside = runs::sample_flow_into(loaded(), cond, per, 11, a.data(), nullptr);
  runs::sample_flow_into(loaded(), cond, per, 11, b.data(), nullptr);
  EXPECT_EQ(a, b) << "the same seed draws the same stars";
  EXPECT_EQ(outside.numel(), 2);
  EXPECT_EQ(outside.max().item<double>(), 0.0) << "training galaxies are inside their range";
  for (float v : a) ASSERT_TRUE(std::isfinite(v));

  const std::string path = flow_work_path("sampled.h5");
  std::remove(path.c_str());
  runs::sample_flow_to_file(loaded(), cond, per, 11, path, model(), "checksum", nullptr);
  const runs::FlowGalaxy g = runs::read_flow_galaxy(path, 1);
  ASSERT_EQ(g.stars.size(0), per);
  const at::Tensor from_buffer =
      at::from_blob(a.data() + per * d, {per, d}, at::kFloat).to(at::kDouble);
  EXPECT_TRUE(at::allclose(g.stars, from_buffer, 1e-6, 1e-6));
  std::remove(path.c_str());
}

TEST_F(FlowRuns, LogProbWithOneOrPerStarConditions) {
  const runs::FlowGalaxy g = runs::read_flow_galaxy(stars(), 0);
  const at::Tensor x = g.stars.slice(0, 0, 20).to(at::kFloat).contiguous();
  const at::Tensor one = g.conditions.unsqueeze(0);
  const std::vector<double> a = runs::flow_log_prob(loaded(), x, one, nullptr);
  const std::vector<double> b = runs::flow_log_prob(loaded(), x, one.repeat({20, 1}), nullptr);
  ASSERT_EQ(a.size(), 20u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a[i]));
    // The flow computes in float32: one broadcast row and a repeated one
    // round differently.
    EXPECT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(a[i])));
  }
}

TEST_F(FlowRuns, EvaluationCoversEveryGalaxyAndTheReferenceIsZeroMassApart) {
  const flow::StarTable table = runs::read_evaluation_table(loaded(), stars());
  const runs::FlowEvaluation e = runs::evaluate_flow(loaded(), table, stars(), 1, 64, 13, nullptr);
  EXPECT_EQ(e.galaxy_ids, (std::vector<int64_t>{0, 1, 2}));
  ASSERT_EQ(e.mmd.size(), 3u);
  EXPECT_EQ(e.delta_log_mass[1], 0.0);
  for (double v : e.mmd) EXPECT_TRUE(std::isfinite(v));
  try {
    runs::evaluate_flow(loaded(), table, stars(), 9, 64, 13, nullptr);
    FAIL() << "reference galaxy 9 was found";
  } catch (const gml::Error& e9) {
    EXPECT_EQ(e9.status(), gml::Status::NotFound);
  }
}

TEST_F(FlowRuns, DescriptionNamesColumnsAndChecksum) {
  const std::string text = runs::describe_flow(loaded(), "abc123");
  EXPECT_NE(text.find("\"checksum\":\"abc123\""), std::string::npos) << text;
  EXPECT_NE(text.find("condition_min"), std::string::npos) << text;
}

}  // namespace
