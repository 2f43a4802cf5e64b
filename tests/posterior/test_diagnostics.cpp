// Calibration diagnostics of the posterior family: against independent
// numpy/scipy/mpmath implementations (tests/golden/make_diagnostics_golden.py),
// and on posteriors whose calibration is known by construction.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/posterior/diagnostics.h"

namespace {

namespace gp = gml::posterior;

const auto kF64 = at::TensorOptions().dtype(at::kDouble);

at::Tensor from_json(const nlohmann::json& v, std::vector<int64_t> shape) {
  return at::tensor(v.get<std::vector<double>>(), kF64).reshape(shape);
}

std::vector<double> to_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

const nlohmann::json& golden() {
  static const nlohmann::json doc = [] {
    std::ifstream in(std::string(GML_GOLDEN_DIR) + "/posterior/diagnostics_golden.json");
    if (!in.good()) return nlohmann::json();
    return nlohmann::json::parse(in);
  }();
  return doc;
}

// scipy's kstwo.sf is itself approximate in parts of the range (for n > 140
// the Pelz-Good series at moderate d and the doubled one-sided tail, which
// drops the joint two-sided event, from p ~ 0.05 down): its distance from our
// exact values peaks at 1.1e-5 relative on the golden grid, and where the
// 60-digit references exist they side with us (within 3e-11). So scipy is
// held to 3e-5 relative and the high-precision references to 1e-9.
constexpr double kScipyRel = 3e-5;
constexpr double kExactRel = 1e-9;

void expect_pvalue(double got, const nlohmann::json& scipy, const nlohmann::json& exact,
                   const std::string& what) {
  const double s = scipy.get<double>();
  if (s == 0) {
    // scipy flushes P(D_n >= d) to 0 once n d^2 >= 370 (n > 140).
    EXPECT_LT(got, 1e-150) << what;
  } else {
    EXPECT_NEAR(got, s, kScipyRel * s) << what << " vs scipy";
  }
  if (!exact.is_null()) {
    const double e = exact.get<double>();
    EXPECT_NEAR(got, e, kExactRel * e + 1e-300) << what << " vs exact";
  }
}

struct Synthetic {
  at::Tensor samples, theta, log_prob_samples, log_prob_true;
};

// Gaussian posteriors N(mu_i, sigma_i^2); the estimator draws from
// N(mu_i + bias sigma_i, (spread sigma_i)^2). spread = 1, bias = 0 is
// calibrated by construction.
Synthetic synthetic(int64_t m, int64_t l, int64_t d, double spread, double bias, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const at::Tensor mu = at::rand({m, d}, gen, kF64) * 5 - 2.5;
  const at::Tensor sigma = at::rand({m, d}, gen, kF64) * 0.4 + 0.2;
  Synthetic s;
  s.theta = mu + sigma * at::randn({m, d}, gen, kF64);
  const at::Tensor qm = (mu + bias * sigma).unsqueeze(1);
  const at::Tensor qs = (spread * sigma).unsqueeze(1);
  s.samples = qm + qs * at::randn({m, l, d}, gen, kF64);
  const double half_log_2pi = 0.5 * std::log(2 * M_PI);
  s.log_prob_samples = (-0.5 * ((s.samples - qm) / qs).square() - qs.log() - half_log_2pi).sum(-1);
  s.log_prob_true = (-0.5 * ((s.theta.unsqueeze(1) - qm) / qs).square() - qs.log() - half_log_2pi)
                        .sum(-1)
                        .squeeze(1);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// Golden values.

TEST(DiagnosticsGolden, KolmogorovDistributionMatchesScipyAndHighPrecision) {
  const auto& doc = golden();
  ASSERT_FALSE(doc.is_null()) << "missing tests/golden/posterior/diagnostics_golden.json";
  ASSERT_GT(doc.at("kolmogorov").size(), 200u);
  double worst_exact = 0, worst_scipy = 0;
  for (const auto& row : doc.at("kolmogorov")) {
    const auto n = row.at("n").get<int64_t>();
    const double d = row.at("d").get<double>();
    const double p = gp::kolmogorov_sf(n, d);
    const std::string what = "n=" + std::to_string(n) + " d=" + std::to_string(d);
    const double s = row.at("scipy").get<double>();
    if (n > 10000 && s > 1e-3) {
      // n d > 200 takes the first-order asymptotic expansion (error ~0.13/n);
      // scipy uses more terms of the same series here.
      EXPECT_NEAR(p, s, 0.2 / static_cast<double>(n) + kScipyRel * s) << what;
      continue;
    }
    expect_pvalue(p, row.at("scipy"), row.at("exact"), what);
    if (s > 1e-300) worst_scipy = std::max(worst_scipy, std::abs(p - s) / s);
    if (!row.at("exact").is_null() && row.at("exact").get<double>() > 1e-300) {
      const double e = row.at("exact").get<double>();
      worst_exact = std::max(worst_exact, std::abs(p - e) / e);
    }
  }
  RecordProperty("worst_rel_vs_exact", std::to_string(worst_exact));
  RecordProperty("worst_rel_vs_scipy", std::to_string(worst_scipy));
  std::printf("kolmogorov_sf: worst relative error %.3g vs 60-digit, %.3g vs scipy\n", worst_exact,
              worst_scipy);
}

TEST(DiagnosticsGolden, SbcMatchesScipy) {
  const auto& doc = golden();
  ASSERT_FALSE(doc.is_null()) << "missing tests/golden/posterior/diagnostics_golden.json";
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto m = c.at("M").get<int64_t>(), l = c.at("L").get<int64_t>(),
               d = c.at("D").get<int64_t>();
    const at::Tensor samples = from_json(c.at("samples"), {m, l, d});
    const at::Tensor theta = from_json(c.at("theta"), {m, d});
    const at::Tensor jitter = from_json(c.at("sbc_jitter"), {m, d});
    const gp::SbcResult r = gp::simulation_based_calibration(samples, theta, jitter);
    const auto& g = c.at("sbc");
    ASSERT_EQ(r.ranks.scalar_type(), at::kLong);
    ASSERT_EQ(r.ranks.sizes(), (std::vector<int64_t>{m, d}));
    EXPECT_EQ(to_vector(r.ranks), g.at("ranks").get<std::vector<double>>());
    for (int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(r.ks_statistic[j].item<double>(), g.at("ks_statistic")[j].get<double>(), 1e-12);
      expect_pvalue(r.ks_pvalue[j].item<double>(), g.at("ks_pvalue_scipy")[j],
                    g.at("ks_pvalue_exact")[j], "sbc dim " + std::to_string(j));
    }
  }
}

TEST(DiagnosticsGolden, CoverageMatchesNumpyQuantiles) {
  const auto& doc = golden();
  ASSERT_FALSE(doc.is_null()) << "missing tests/golden/posterior/diagnostics_golden.json";
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto m = c.at("M").get<int64_t>(), l = c.at("L").get<int64_t>(),
               d = c.at("D").get<int64_t>(), k = c.at("levels").get<int64_t>();
    const gp::CoverageResult r = gp::expected_coverage(
        from_json(c.at("samples"), {m, l, d}), from_json(c.at("theta"), {m, d}),
        from_json(c.at("log_prob_samples"), {m, l}), from_json(c.at("log_prob_true"), {m}), k);
    // Fractions of whole counts: equal, not close.
    EXPECT_EQ(to_vector(r.nominal), c.at("coverage").at("nominal").get<std::vector<double>>());
    ASSERT_EQ(r.empirical.sizes(), (std::vector<int64_t>{k, d + 1}));
    EXPECT_EQ(to_vector(r.empirical), c.at("coverage").at("empirical").get<std::vector<double>>());
  }
}

TEST(DiagnosticsGolden, TarpMatchesIndependentImplementation) {
  const auto& doc = golden();
  ASSERT_FALSE(doc.is_null()) << "missing tests/golden/posterior/diagnostics_golden.json";
  for (const auto& c : doc.at("cases")) {
    const auto m = c.at("M").get<int64_t>(), l = c.at("L").get<int64_t>(),
               d = c.at("D").get<int64_t>(), bins = c.at("bins").get<int64_t>();
    const at::Tensor samples = from_json(c.at("samples"), {m, l, d});
    const at::Tensor theta = from_json(c.at("theta"), {m, d});
    const at::Tensor jitter = from_json(c.at("tarp_jitter"), {m});
    for (const bool box : {true, false}) {
      SCOPED_TRACE(c.at("name").get<std::string>() + (box ? " prior box" : " theta range"));
      const at::Tensor lower = box ? from_json(c.at("lower"), {d}) : at::Tensor();
      const at::Tensor upper = box ? from_json(c.at("upper"), {d}) : at::Tensor();
      const at::Tensor refs = from_json(c.at(box ? "references_box" : "references_auto"), {m, d});
      const gp::TarpResult r = gp::tarp_coverage(samples, theta, lower, upper, bins, refs, jitter);
      const auto& g = c.at(box ? "tarp_box" : "tarp_auto");
      EXPECT_EQ(to_vector(r.alpha), g.at("alpha").get<std::vector<double>>());
      EXPECT_EQ(to_vector(r.fractions), g.at("fractions").get<std::vector<double>>());
      EXPECT_EQ(to_vector(r.ecp), g.at("ecp").get<std::vector<double>>());
      // A sum of bins/2 terms; numpy adds them pairwise.
      EXPECT_NEAR(r.atc, g.at("atc").get<double>(), 1e-12);
      EXPECT_NEAR(r.ks_statistic, g.at("ks_statistic").get<double>(), 1e-12);
      expect_pvalue(r.ks_pvalue, g.at("ks_pvalue_scipy"), g.at("ks_pvalue_exact"), "tarp");
    }
  }
}

// ---------------------------------------------------------------------------
// The Kolmogorov distribution on its own.

TEST(DiagnosticsKolmogorov, ClosedFormsAndEdges) {
  // n = 1: D_1 = max(x, 1 - x), so P(D_1 >= d) = 2 (1 - d) on [1/2, 1].
  EXPECT_DOUBLE_EQ(gp::kolmogorov_sf(1, 0.8), 0.4);
  EXPECT_DOUBLE_EQ(gp::kolmogorov_sf(1, 0.5), 1.0);
  // Ruben & Gambino: P(D_n < d) = n! (2d - 1/n)^n for 1/(2n) <= d <= 1/n.
  EXPECT_NEAR(gp::kolmogorov_sf(5, 0.15), 1 - 120 * std::pow(0.1, 5), 1e-15);
  // ... and P(D_n >= d) = 2 (1 - d)^n for d >= 1 - 1/n.
  EXPECT_NEAR(gp::kolmogorov_sf(10, 0.95), 2 * std::pow(0.05, 10), 1e-25);
  EXPECT_EQ(gp::kolmogorov_sf(100, 0.004), 1.0);  // below 1/(2n)
  EXPECT_EQ(gp::kolmogorov_sf(100, 1.0), 0.0);
  EXPECT_EQ(gp::kolmogorov_sf(100, -1.0), 1.0);
  EXPECT_THROW(gp::kolmogorov_sf(0, 0.1), gml::Error);
  EXPECT_THROW(gp::kolmogorov_sf(10, std::nan("")), gml::Error);
}

TEST(DiagnosticsKolmogorov, MonotoneAcrossMethodSwitches) {
  // The p-value changes algorithm where the doubled one-sided tail drops
  // below 1e-3 (lambda = sqrt(n) d ~ 1.95) and, for n > 10^4, where n d
  // exceeds 200 (lambda = 200 / sqrt(n)); a seam would show as a rise, or
  // as a step larger than the density allows over the grid spacing.
  for (const int64_t n : {7, 200, 1500, 20000}) {
    const double rn = std::sqrt(static_cast<double>(n));
    double prev = 1.0;
    // The matrix method costs ~10 ms a point at n = 20000: seams only there.
    for (double lam = 0.2; lam < 3.0 && n < 10000; lam += 0.01) {
      const double p = gp::kolmogorov_sf(n, lam / rn);
      ASSERT_LE(p, prev + 1e-12) << "n=" << n << " lambda=" << lam;
      prev = p;
    }
    for (const double seam : {1.95, 200 / rn}) {
      prev = gp::kolmogorov_sf(n, (seam - 0.05) / rn);
      for (double lam = seam - 0.05; lam < seam + 0.05; lam += 1e-3) {
        const double p = gp::kolmogorov_sf(n, lam / rn);
        ASSERT_LE(p, prev + 1e-12) << "n=" << n << " lambda=" << lam;
        // The Kolmogorov density is below 0.4 past lambda = 1.3.
        ASSERT_LE(prev - p, 0.4 * 1e-3 + 1e-5) << "n=" << n << " lambda=" << lam;
        prev = p;
      }
    }
  }
}

TEST(DiagnosticsKolmogorov, KsTestUniform) {
  // x = (1, 3, 5)/6: F_n steps at the midpoints, D = 1/6.
  const gp::KsResult r = gp::ks_test_uniform(at::tensor({5.0 / 6, 0.5, 1.0 / 6}, kF64));
  EXPECT_NEAR(r.statistic, 1.0 / 6, 1e-15);
  EXPECT_EQ(r.pvalue, 1.0);  // the smallest D_3 can be
  const gp::KsResult far = gp::ks_test_uniform(at::full({50}, 0.9, kF64));
  EXPECT_NEAR(far.statistic, 0.9, 1e-15);
  EXPECT_LT(far.pvalue, 1e-40);
  EXPECT_THROW(gp::ks_test_uniform(at::empty({0}, kF64)), gml::Error);
  EXPECT_THROW(gp::ks_test_uniform(at::ones({2, 2}, kF64)), gml::Error);
}

// ---------------------------------------------------------------------------
// Known calibration.

TEST(DiagnosticsCalibrated, SbcCoverageAndTarpPass) {
  const int64_t m = 1000, l = 200, d = 3, levels = 19, bins = 20;
  const Synthetic s = synthetic(m, l, d, 1.0, 0.0, 11);
  const gp::SbcResult sbc = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{5});
  for (int64_t j = 0; j < d; ++j) EXPECT_GT(sbc.ks_pvalue[j].item<double>(), 0.01) << j;
  EXPECT_GE(sbc.ranks.min().item<int64_t>(), 0);
  EXPECT_LE(sbc.ranks.max().item<int64_t>(), l);

  const gp::CoverageResult cov =
      gp::expected_coverage(s.samples, s.theta, s.log_prob_samples, s.log_prob_true, levels);
  for (int64_t a = 0; a < levels; ++a) {
    const double alpha = cov.nominal[a].item<double>();
    // 4 binomial standard errors, plus the O(1/L) bias of sample quantiles.
    const double tol = 4 * std::sqrt(alpha * (1 - alpha) / m) + 2.0 / l;
    for (int64_t j = 0; j <= d; ++j)
      EXPECT_NEAR(cov.empirical[a][j].item<double>(), alpha, tol)
          << "alpha=" << alpha << " j=" << j;
  }

  const at::Tensor lower = at::full({d}, -4.0, kF64), upper = at::full({d}, 4.0, kF64);
  for (const bool box : {true, false}) {
    const gp::TarpResult t = gp::tarp_coverage(s.samples, s.theta, box ? lower : at::Tensor(),
                                               box ? upper : at::Tensor(), bins, uint64_t{3});
    // Uniform ECP lies on the diagonal up to the DKW band and the L/(L+1)
    // shrink of a finite-sample credibility level.
    const double max_dev = (t.ecp - t.alpha).abs().max().item<double>();
    EXPECT_LT(max_dev, 1.63 / std::sqrt(static_cast<double>(m)) + 1.0 / l) << box;
    EXPECT_GT(t.ks_pvalue, 0.01) << box;
    EXPECT_LT(std::abs(t.atc), 0.5) << box;
  }
}

TEST(DiagnosticsMiscalibrated, OverconfidentPosteriorIsFlagged) {
  const int64_t m = 1000, l = 100, d = 3, levels = 9, bins = 20;
  const Synthetic s = synthetic(m, l, d, 0.5, 0.0, 12);
  const gp::SbcResult sbc = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{1});
  for (int64_t j = 0; j < d; ++j) EXPECT_LT(sbc.ks_pvalue[j].item<double>(), 1e-3) << j;
  // Truths pile up in the extreme ranks: U-shaped histogram.
  const at::Tensor r = sbc.ranks.to(at::kDouble) / l;
  EXPECT_GT(((r < 0.1) | (r > 0.9)).to(at::kDouble).mean().item<double>(), 0.4);

  const gp::CoverageResult cov =
      gp::expected_coverage(s.samples, s.theta, s.log_prob_samples, s.log_prob_true, levels);
  for (int64_t a = 0; a < levels; ++a)
    for (int64_t j = 0; j <= d; ++j)
      // Half the spread: 2 Phi(z_alpha / 2) - 1, e.g. 0.05 at alpha = 0.1.
      EXPECT_LT(cov.empirical[a][j].item<double>(), 0.75 * cov.nominal[a].item<double>())
          << "level " << a << " column " << j;

  const gp::TarpResult t = gp::tarp_coverage(s.samples, s.theta, at::full({d}, -4.0, kF64),
                                             at::full({d}, 4.0, kF64), bins, uint64_t{2});
  EXPECT_LT(t.ks_pvalue, 1e-3);
  EXPECT_LT(t.atc, -1.0);  // ECP under the diagonal: too narrow
}

TEST(DiagnosticsMiscalibrated, OverdispersedPosteriorHasPositiveAtc) {
  const int64_t m = 500, l = 100, d = 3;
  const Synthetic s = synthetic(m, l, d, 2.0, 0.0, 13);
  const gp::CoverageResult cov =
      gp::expected_coverage(s.samples, s.theta, s.log_prob_samples, s.log_prob_true, 9);
  for (int64_t a = 0; a < 9; ++a)
    for (int64_t j = 0; j <= d; ++j)
      EXPECT_GT(cov.empirical[a][j].item<double>(), cov.nominal[a].item<double>());
  const gp::TarpResult t = gp::tarp_coverage(s.samples, s.theta, at::full({d}, -4.0, kF64),
                                             at::full({d}, 4.0, kF64), 20, uint64_t{2});
  EXPECT_LT(t.ks_pvalue, 1e-3);
  EXPECT_GT(t.atc, 1.0);
}

TEST(DiagnosticsMiscalibrated, BiasedPosteriorIsFlagged) {
  const int64_t m = 1000, l = 100, d = 3, levels = 9;
  const Synthetic s = synthetic(m, l, d, 1.0, 1.5, 14);  // shifted by 1.5 sigma
  const gp::SbcResult sbc = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{1});
  for (int64_t j = 0; j < d; ++j) {
    EXPECT_LT(sbc.ks_pvalue[j].item<double>(), 1e-3) << j;
    // Draws sit above the truth: low ranks.
    EXPECT_LT(sbc.ranks.select(1, j).to(at::kDouble).mean().item<double>(), 0.25 * l) << j;
  }
  const gp::CoverageResult cov =
      gp::expected_coverage(s.samples, s.theta, s.log_prob_samples, s.log_prob_true, levels);
  for (int64_t a = 0; a < levels; ++a)
    for (int64_t j = 0; j <= d; ++j)
      // Expected 0.03 at alpha = 0.1, 0.56 at alpha = 0.9.
      EXPECT_LT(cov.empirical[a][j].item<double>(), 0.75 * cov.nominal[a].item<double>())
          << "level " << a << " column " << j;
  const gp::TarpResult t = gp::tarp_coverage(s.samples, s.theta, at::full({d}, -4.0, kF64),
                                             at::full({d}, 4.0, kF64), 20, uint64_t{2});
  EXPECT_LT(t.ks_pvalue, 1e-3);
}

// ---------------------------------------------------------------------------
// Determinism, dtypes and options.

TEST(DiagnosticsSeeds, SameSeedSameResultOtherSeedOtherJitter) {
  const Synthetic s = synthetic(100, 50, 2, 1.0, 0.0, 21);
  const gp::SbcResult a = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{7});
  const gp::SbcResult b = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{7});
  const gp::SbcResult c = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{8});
  EXPECT_TRUE(at::equal(a.ranks, b.ranks));
  EXPECT_TRUE(at::equal(a.ks_pvalue, b.ks_pvalue));
  EXPECT_TRUE(at::equal(a.ranks, c.ranks));
  EXPECT_FALSE(at::equal(a.ks_statistic, c.ks_statistic));

  const gp::TarpResult t1 = gp::tarp_coverage(s.samples, s.theta, {}, {}, 10, uint64_t{4});
  const gp::TarpResult t2 = gp::tarp_coverage(s.samples, s.theta, {}, {}, 10, uint64_t{4});
  const gp::TarpResult t3 = gp::tarp_coverage(s.samples, s.theta, {}, {}, 10, uint64_t{5});
  EXPECT_TRUE(at::equal(t1.fractions, t2.fractions));
  EXPECT_EQ(t1.ks_pvalue, t2.ks_pvalue);
  EXPECT_FALSE(at::equal(t1.fractions, t3.fractions));
}

TEST(DiagnosticsInputs, Float32AndNoLogProbs) {
  const Synthetic s = synthetic(60, 30, 2, 1.0, 0.0, 31);
  const gp::SbcResult a = gp::simulation_based_calibration(s.samples, s.theta, uint64_t{1});
  const gp::SbcResult b = gp::simulation_based_calibration(s.samples.to(at::kFloat),
                                                           s.theta.to(at::kFloat), uint64_t{1});
  // Rounding to float32 can only move a rank where a draw is within 1e-7 of
  // the truth.
  EXPECT_LE((a.ranks - b.ranks).abs().max().item<int64_t>(), 1);
  const gp::CoverageResult cov = gp::expected_coverage(s.samples, s.theta, {}, {}, 4);
  EXPECT_EQ(cov.empirical.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(at::isnan(cov.empirical.select(1, 2)).all().item<bool>());
  EXPECT_FALSE(at::isnan(cov.empirical.narrow(1, 0, 2)).any().item<bool>());
}

TEST(DiagnosticsInputs, BadInputsThrow) {
  const Synthetic s = synthetic(20, 10, 2, 1.0, 0.0, 41);
  const at::Tensor& x = s.samples;
  const at::Tensor& t = s.theta;
  const at::Tensor lo = at::full({2}, -4.0, kF64), hi = at::full({2}, 4.0, kF64);
  auto sbc = [](const at::Tensor& a, const at::Tensor& b) {
    return gp::simulation_based_calibration(a, b, uint64_t{0});
  };
  // Shapes.
  EXPECT_THROW(sbc(x.select(2, 0), t), gml::Error);
  EXPECT_THROW(sbc(x, t.narrow(0, 0, 19)), gml::Error);
  EXPECT_THROW(sbc(x, t.narrow(1, 0, 1)), gml::Error);
  EXPECT_THROW(sbc(x.narrow(1, 0, 0), t), gml::Error);
  EXPECT_THROW(sbc(at::Tensor(), t), gml::Error);
  EXPECT_THROW(sbc(x.to(at::kLong), t), gml::Error);
  EXPECT_THROW(gp::simulation_based_calibration(x, t, at::rand({20, 3}, kF64)), gml::Error);
  EXPECT_THROW(gp::simulation_based_calibration(x, t, at::full({20, 2}, 1.0, kF64)), gml::Error);
  // Non-finite values.
  at::Tensor bad = x.clone();
  bad[3][4][1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(sbc(bad, t), gml::Error);
  EXPECT_THROW(gp::expected_coverage(bad, t, {}, {}, 5), gml::Error);
  EXPECT_THROW(gp::tarp_coverage(bad, t, lo, hi, 10, uint64_t{0}), gml::Error);
  at::Tensor bad_t = t.clone();
  bad_t[0][0] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(sbc(x, bad_t), gml::Error);
  // Coverage options.
  EXPECT_THROW(gp::expected_coverage(x, t, {}, {}, 0), gml::Error);
  EXPECT_THROW(gp::expected_coverage(x, t, s.log_prob_samples, {}, 5), gml::Error);
  EXPECT_THROW(gp::expected_coverage(x, t, s.log_prob_samples.t(), s.log_prob_true, 5), gml::Error);
  EXPECT_THROW(gp::expected_coverage(x, t, s.log_prob_samples, s.log_prob_true.narrow(0, 0, 5), 5),
               gml::Error);
  at::Tensor bad_lp = s.log_prob_true.clone();
  bad_lp[2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(gp::expected_coverage(x, t, s.log_prob_samples, bad_lp, 5), gml::Error);
  // TARP options.
  EXPECT_THROW(gp::tarp_coverage(x, t, lo, hi, 0, uint64_t{0}), gml::Error);
  EXPECT_THROW(gp::tarp_coverage(x, t, lo, {}, 10, uint64_t{0}), gml::Error);
  EXPECT_THROW(gp::tarp_coverage(x, t, lo, at::full({2}, -4.0, kF64), 10, uint64_t{0}), gml::Error);
  EXPECT_THROW(
      gp::tarp_coverage(x, t, at::full({3}, -4.0, kF64), at::full({3}, 4.0, kF64), 10, uint64_t{0}),
      gml::Error);
  EXPECT_THROW(gp::tarp_coverage(x, t, lo, hi, 10, at::rand({20, 3}, kF64), at::rand({20}, kF64)),
               gml::Error);
  EXPECT_THROW(gp::tarp_coverage(x, t, lo, hi, 10, at::rand({20, 2}, kF64), at::rand({19}, kF64)),
               gml::Error);
  try {
    sbc(x, t.narrow(0, 0, 19));
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("theta_true"), std::string::npos) << e.what();
  }
}
