// Priors as objects: log densities and supports against scipy.stats
// (tests/golden/make_prior_golden.py), draws with the prior's moments, the
// box drawing what the uniform box always drew, JSON that round-trips and
// errors that list every problem, and the config and training-set forms.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/posterior_config.h"
#include "core/posterior/prior.h"

namespace {

using gml::posterior::Prior;

nlohmann::json prior_golden() {
  std::ifstream in(std::string(GML_GOLDEN_DIR) + "/posterior/prior_golden.json");
  EXPECT_TRUE(in.good()) << "missing tests/golden/posterior/prior_golden.json";
  return nlohmann::json::parse(in);
}

at::Tensor rows_of(const nlohmann::json& rows) {
  std::vector<double> v;
  int64_t cols = 0;
  for (const auto& r : rows) {
    cols = static_cast<int64_t>(r.size());
    for (const auto& e : r) v.push_back(e.get<double>());
  }
  return at::tensor(v, at::kDouble).view({static_cast<int64_t>(rows.size()), cols});
}

std::string error_of(const std::string& json, int64_t dim = 0) {
  try {
    Prior::from_json_text(json, dim);
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::InvalidArgument);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Prior, LogDensityAndSupportMatchScipy) {
  const nlohmann::json doc = prior_golden();
  ASSERT_EQ(doc.at("cases").size(), 5u);
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Prior p = Prior::from_json(c.at("prior"));
    const at::Tensor theta = rows_of(c.at("theta"));
    const at::Tensor lp = p.log_prob(theta);
    const at::Tensor inside = p.in_support(theta);
    for (int64_t i = 0; i < theta.size(0); ++i) {
      const auto& want = c.at("log_prob")[static_cast<size_t>(i)];
      const double got = lp[i].item<double>();
      if (want.is_null()) {
        EXPECT_EQ(got, -INFINITY) << "row " << i;
      } else {
        EXPECT_NEAR(got, want.get<double>(), 1e-10 * (1 + std::abs(want.get<double>())))
            << "row " << i;
      }
      EXPECT_EQ(inside[i].item<bool>(), c.at("inside")[static_cast<size_t>(i)].get<bool>())
          << "row " << i;
    }
  }
}

TEST(Prior, DrawsHaveThePriorsMomentsAndStayInItsSupport) {
  const nlohmann::json doc = prior_golden();
  const int64_t n = 40000;
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Prior p = Prior::from_json(c.at("prior"));
    const at::Tensor t = p.sample(n, at::detail::createCPUGenerator(17));
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{n, p.dim()}));
    EXPECT_TRUE(p.in_support(t).all().item<bool>());
    for (int64_t j = 0; j < p.dim(); ++j) {
      const nlohmann::json& spec = c.at("prior");
      const bool lognormal =
          spec.at("kind") == "lognormal" ||
          (spec.at("kind") == "independent" &&
           spec.at("marginals")[static_cast<size_t>(j)].at("kind") == "lognormal");
      // A log-normal's sample spread converges slowly: its logarithm is
      // checked against the normal it is the exponential of.
      const at::Tensor col = lognormal ? t.select(1, j).log() : t.select(1, j);
      double want_mean = c.at("mean")[static_cast<size_t>(j)].get<double>();
      double want_sd = c.at("std")[static_cast<size_t>(j)].get<double>();
      if (lognormal) {
        const auto& m = spec.at("kind") == "lognormal"
                            ? nlohmann::json{{"mean", spec.at("mean")[static_cast<size_t>(j)]},
                                             {"std", spec.at("std")[static_cast<size_t>(j)]}}
                            : spec.at("marginals")[static_cast<size_t>(j)];
        want_mean = m.at("mean").get<double>();
        want_sd = m.at("std").get<double>();
      }
      // Five standard errors on the mean, 3% on the spread.
      EXPECT_NEAR(col.mean().item<double>(), want_mean, 5 * want_sd / std::sqrt(double(n)))
          << "parameter " << j;
      EXPECT_NEAR(col.std().item<double>(), want_sd, 0.03 * want_sd) << "parameter " << j;
    }
  }
  // The multivariate normal's correlations, not only its marginals.
  const auto& mvn = doc.at("cases")[4];
  ASSERT_EQ(mvn.at("name"), "mvn");
  const Prior p = Prior::from_json(mvn.at("prior"));
  const at::Tensor t = p.sample(n, at::detail::createCPUGenerator(18));
  const at::Tensor cov = at::cov(t.t());
  const at::Tensor want = rows_of(mvn.at("prior").at("cov"));
  EXPECT_LT((cov - want).abs().max().item<double>(), 0.05 * want.abs().max().item<double>());
}

TEST(Prior, BoxDrawsAreTheUniformBoxDraws) {
  // Training sets generated before priors were objects must resume with the
  // same rows: lower + span * U from the batch's generator.
  const std::vector<double> lo = {-1, 0, 2}, hi = {1, 0.5, 7};
  const Prior box = Prior::box(lo, hi);
  EXPECT_TRUE(box.is_box());
  EXPECT_TRUE(box.bounded());
  auto g1 = at::detail::createCPUGenerator(99), g2 = at::detail::createCPUGenerator(99);
  const at::Tensor a = box.sample(257, g1);
  const at::Tensor l = at::tensor(lo, at::kDouble);
  const at::Tensor b = l + (at::tensor(hi, at::kDouble) - l) * at::rand({257, 3}, g2, at::kDouble);
  EXPECT_TRUE(at::equal(a, b));
}

TEST(Prior, JsonRoundTripsForEveryKind) {
  const nlohmann::json doc = prior_golden();
  for (const auto& c : doc.at("cases")) {
    const Prior p = Prior::from_json(c.at("prior"));
    EXPECT_EQ(Prior::from_json_text(p.to_json_text()), p) << p.to_json_text();
    EXPECT_TRUE(p.has_density());
  }
  const Prior host = Prior::external(3, {0, -INFINITY, -1}, {INFINITY, 2, 1});
  const std::string text = host.to_json_text();
  EXPECT_NE(text.find("null"), std::string::npos) << text;
  const Prior back = Prior::from_json_text(text, 3);
  EXPECT_EQ(back, host);
  EXPECT_EQ(back.support_lower()[1], -INFINITY);
  EXPECT_EQ(back.support_upper()[0], INFINITY);
  EXPECT_FALSE(back.has_density());
  EXPECT_TRUE(back.bounded());
  EXPECT_THROW(back.sample(2, at::detail::createCPUGenerator(1)), gml::Error);
  EXPECT_FALSE(Prior::external(2, {}, {}).bounded());
  EXPECT_FALSE(Prior::from_json_text(R"({"kind":"normal","mean":[0],"std":[1]})").bounded());
  EXPECT_TRUE(Prior::from_json_text(R"({"kind":"lognormal","mean":[0],"std":[1]})").bounded());
  EXPECT_TRUE(Prior::from_json_text("null").is_none());
}

TEST(Prior, MalformedPriorsAreRefusedWithEveryProblemListed) {
  const std::string two =
      error_of(R"({"kind":"independent","marginals":[{"kind":"uniform","lower":2,"upper":1},
               {"kind":"normal","mean":0,"std":-1},{"kind":"gamma","mean":1,"std":1}]})");
  EXPECT_NE(two.find("parameter 0"), std::string::npos) << two;
  EXPECT_NE(two.find("std > 0"), std::string::npos) << two;
  EXPECT_NE(two.find("unknown kind 'gamma'"), std::string::npos) << two;
  EXPECT_NE(two.find("docs/posterior.md"), std::string::npos) << two;
  EXPECT_NE(error_of(R"({"kind":"normal","mean":[0,1],"std":[1,1]})", 3).find("theta has 3"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"normal","mean":[0,1],"std":[1]})").find("differ in length"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"mvn","mean":[0,0],"cov":[[1,2],[2,1]]})").find("positive"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"mvn","mean":[0,0],"cov":[[1,0.5],[0.4,1]]})").find("symmetric"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"uniform","lower":[0,"a"],"upper":[1,2]})").find("non-number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"beta"})").find("unknown kind 'beta'"), std::string::npos);
  EXPECT_NE(error_of("[1,2]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of("{not json").find("not JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"uniform","lower":[0],"upper":[NaN]})").find("not JSON"),
            std::string::npos);
}

TEST(Prior, ConfigKeepsABoxInTheLegacyFieldsAndAnyOtherPriorAsAnObject) {
  namespace post = gml::posterior;
  post::PosteriorConfig cfg;
  cfg.theta_dim = 2;
  cfg.x_dim = 1;
  post::store_prior(Prior::box({0, 0}, {1, 2}), cfg.prior, cfg.prior_lower, cfg.prior_upper);
  EXPECT_TRUE(cfg.prior.is_none());
  std::string text = cfg.to_json_text();
  // Readable by a library that predates prior objects (it refuses unknown keys).
  EXPECT_EQ(text.find("\"prior\""), std::string::npos) << text;
  EXPECT_TRUE(post::PosteriorConfig::from_json_text(text).prior_distribution().is_box());

  const Prior logn = Prior::from_json_text(R"({"kind":"lognormal","mean":[0,1],"std":[1,2]})");
  post::store_prior(logn, cfg.prior, cfg.prior_lower, cfg.prior_upper);
  EXPECT_TRUE(cfg.prior_lower.empty());
  cfg.validate();
  text = cfg.to_json_text();
  EXPECT_NE(text.find("\"prior\""), std::string::npos) << text;
  const post::PosteriorConfig back = post::PosteriorConfig::from_json_text(text);
  EXPECT_EQ(back.prior_distribution(), logn);
  cfg.theta_dim = 3;
  EXPECT_THROW(cfg.validate(), gml::Error);
}
