// The calibration record a posterior model carries: built from the
// diagnostics of exact and of over-confident posteriors of a conjugate
// normal model, it passes the first and fails the second by name and
// direction, and it survives the model file's JSON.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/calibration_record.h"
#include "core/posterior/calibration_run.h"
#include "core/posterior/diagnostics.h"

namespace {

namespace post = gml::posterior;

// theta ~ N(0, 1) in two dimensions and x = theta + N(0, 1): the posterior is
// N(x / 2, 1 / 2). Draws with `scale` times its width; scale 1 is exact.
post::CalibrationReport conjugate_report(double scale, int64_t m, int64_t l) {
  auto gen = at::detail::createCPUGenerator(77);
  const at::Tensor theta = at::randn({m, 2}, gen, at::kDouble);
  const at::Tensor x = theta + at::randn({m, 2}, gen, at::kDouble);
  const at::Tensor draws =
      (x / 2).unsqueeze(1) + scale * std::sqrt(0.5) * at::randn({m, l, 2}, gen, at::kDouble);
  post::CalibrationReport r;
  r.sbc = post::simulation_based_calibration(draws, theta, 5);
  r.coverage = post::expected_coverage(draws, theta, at::Tensor(), at::Tensor(), 10);
  r.tarp = post::tarp_coverage(draws, theta, at::Tensor(), at::Tensor(), 10, 6);
  return r;
}

}  // namespace

TEST(CalibrationRecord, AnExactPosteriorPassesAndAnOverConfidentOneFailsByName) {
  const std::vector<std::string> names = {"mass", "age"};
  const post::CalibrationRecord exact =
      post::record_calibration(conjugate_report(1.0, 500, 200), names, 200, "held-out sims");
  EXPECT_EQ(exact.n_sims, 500);
  EXPECT_EQ(exact.n_samples, 200);
  ASSERT_EQ(exact.sbc_pvalue.size(), 2u);
  EXPECT_TRUE(exact.passed()) << exact.verdict();
  EXPECT_EQ(exact.verdict().rfind("calibration passed on 500 held-out sims x 200 draws", 0), 0u)
      << exact.verdict();

  // Half the width: the truth falls in the tails of its draws far too often.
  const post::CalibrationRecord narrow =
      post::record_calibration(conjugate_report(0.5, 500, 200), names, 200, "held-out sims");
  EXPECT_FALSE(narrow.passed());
  EXPECT_LT(narrow.sbc_pvalue[0], 1e-6);
  EXPECT_LT(narrow.sbc_pvalue[1], 1e-6);
  EXPECT_LT(narrow.tarp_atc, 0);
  const std::string v = narrow.verdict();
  EXPECT_NE(v.find("calibration FAILED"), std::string::npos) << v;
  EXPECT_NE(v.find("(mass: too narrow)"), std::string::npos) << v;
  EXPECT_NE(v.find("(age: too narrow)"), std::string::npos) << v;
  EXPECT_NE(v.find("over-confident"), std::string::npos) << v;
  EXPECT_EQ(v.find('\n'), std::string::npos) << "one line";

  // Twice the width: under-confident, also a failure.
  const post::CalibrationRecord wide =
      post::record_calibration(conjugate_report(2.0, 500, 200), names, 200, "held-out sims");
  EXPECT_FALSE(wide.passed());
  EXPECT_GT(wide.tarp_atc, 0);
  EXPECT_NE(wide.verdict().find("under-confident"), std::string::npos) << wide.verdict();
  EXPECT_NE(wide.verdict().find("(mass: too wide)"), std::string::npos) << wide.verdict();
}

TEST(CalibrationRecord, ABiasedPosteriorIsNamedByItsDirection) {
  // Draws shifted down by one posterior width: the truth sits above them.
  auto gen = at::detail::createCPUGenerator(78);
  const int64_t m = 400, l = 100;
  const at::Tensor theta = at::randn({m, 2}, gen, at::kDouble);
  const at::Tensor x = theta + at::randn({m, 2}, gen, at::kDouble);
  at::Tensor draws = (x / 2).unsqueeze(1) + std::sqrt(0.5) * at::randn({m, l, 2}, gen, at::kDouble);
  draws.select(2, 1).sub_(std::sqrt(0.5));
  post::CalibrationReport r;
  r.sbc = post::simulation_based_calibration(draws, theta, 5);
  r.coverage = post::expected_coverage(draws, theta, at::Tensor(), at::Tensor(), 10);
  r.tarp = post::tarp_coverage(draws, theta, at::Tensor(), at::Tensor(), 10, 6);
  const post::CalibrationRecord rec = post::record_calibration(r, {"mass", "age"}, l, "sims");
  EXPECT_GT(rec.sbc_pvalue[0], 0.01) << rec.verdict();
  EXPECT_GT(rec.rank_mean[1], 0.6);
  EXPECT_NE(rec.verdict().find("(age: draws too low)"), std::string::npos) << rec.verdict();
  EXPECT_EQ(rec.verdict().find("(mass"), std::string::npos) << rec.verdict();
}

TEST(CalibrationRecord, SurvivesTheModelsProvenanceJson) {
  post::CalibrationRecord r =
      post::record_calibration(conjugate_report(0.8, 200, 100), {"a", "b"}, 100, "validation");
  const std::string provenance = "{\"rows\":10,\"calibration\":" + r.to_json_text() + "}";
  post::CalibrationRecord back;
  ASSERT_TRUE(post::calibration_from_provenance(provenance, back));
  EXPECT_EQ(back.source, r.source);
  EXPECT_EQ(back.n_sims, r.n_sims);
  EXPECT_EQ(back.names, r.names);
  EXPECT_EQ(back.sbc_pvalue, r.sbc_pvalue);
  EXPECT_EQ(back.tarp_pvalue, r.tarp_pvalue);
  EXPECT_EQ(back.tarp_atc, r.tarp_atc);
  EXPECT_EQ(back.rank_mean, r.rank_mean);
  EXPECT_EQ(back.rank_variance, r.rank_variance);
  EXPECT_EQ(back.verdict(), r.verdict());

  post::CalibrationRecord none;
  EXPECT_FALSE(post::calibration_from_provenance("{\"rows\":10}", none));
  EXPECT_FALSE(post::calibration_from_provenance("not json", none));
  try {
    post::calibration_from_provenance("{\"calibration\":{\"n_sims\":\"many\"}}", none);
    FAIL() << "a malformed record was read";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Format);
  }
}
