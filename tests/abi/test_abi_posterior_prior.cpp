// Priors and truncation through the C ABI, as a host uses them: simulations
// from a prior given as JSON and from the host's own sampler, the prior
// kept in the training set and the model, and draws truncated to it (by
// the model's prior or the host's density), reported when short.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

// x = theta + 0.05 * a fixed pattern: the posterior is tight around theta.
int near_identity(const double* theta, int64_t n, double* x, void*) {
  for (int64_t i = 0; i < 2 * n; ++i) x[i] = theta[i] + 0.05 * std::sin(double(i));
  return 0;
}

// A host prior: theta_0 uniform on [0, 2], theta_1 uniform on [-1, 1], from
// its own generator seeded by (seed, first_row).
int32_t host_sample(int64_t first_row, int64_t n, int64_t d, uint64_t seed, double* out,
                    void* user) {
  uint64_t s = seed * 2654435761u + static_cast<uint64_t>(first_row) + 1;
  const bool broken = user != nullptr;
  for (int64_t i = 0; i < n * d; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(s >> 11) / 9007199254740992.0;
    out[i] = (i % 2 == 0) ? 2 * u : 2 * u - 1;
  }
  if (broken) out[0] = 5.0;  // outside the declared support
  return 0;
}

// A host density: theta_0 > 0.
int32_t positive_first(const double* theta, int64_t n, int64_t d, double* lp, void*) {
  for (int64_t i = 0; i < n; ++i) lp[i] = theta[i * d] > 0 ? 0.0 : -INFINITY;
  return 0;
}

// A host density that the posterior never reaches.
int32_t far_away(const double* theta, int64_t n, int64_t d, double* lp, void*) {
  for (int64_t i = 0; i < n; ++i) lp[i] = theta[i * d] > 50 ? 0.0 : -INFINITY;
  return 0;
}

class AbiPosteriorPrior : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gml_abi_prior_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    gml_context_options co;
    gml_context_options_default(&co);
    co.device = "cpu";
    co.seed = 5;
    ASSERT_EQ(gml_context_create(&co, &ctx_), GML_OK);
  }
  void TearDown() override {
    gml_context_free(ctx_);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_)) fs::remove(e.path(), ec);
    fs::remove(dir_, ec);
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  // The library's default bounded_theta (-1): for a simulator other than
  // the SED model theta stays as it is, as in sbi, and such a flow leaks out
  // of the prior, which the truncation tests need.
  gml_model* train(const std::string& set, const char* name, int32_t bounded_theta = -1) {
    gml_posterior_train_options t;
    gml_posterior_train_options_default(&t);
    t.bounded_theta = bounded_theta;
    t.num_blocks = 2;
    t.hidden_width = 16;
    t.batch_size = 64;
    t.learning_rate = 3e-3;
    t.max_epochs = 6;
    t.seed = 2;
    const std::string model_path = path(name);
    EXPECT_EQ(gml_posterior_train(ctx_, set.c_str(), &t, model_path.c_str()), GML_OK)
        << gml_last_error();
    gml_model* model = nullptr;
    EXPECT_EQ(gml_model_load(ctx_, model_path.c_str(), "posterior", &model), GML_OK)
        << gml_last_error();
    return model;
  }
  std::string describe(gml_model* model) {
    std::vector<char> buf(16384);
    size_t len = 0;
    EXPECT_EQ(gml_posterior_describe(model, buf.data(), buf.size(), &len), GML_OK);
    return std::string(buf.data());
  }
  fs::path dir_;
  gml_context* ctx_ = nullptr;
};

}  // namespace

TEST_F(AbiPosteriorPrior, AJsonPriorIsDrawnStoredAndTruncatedTo) {
  // theta_0 log-normal (support theta > 0), theta_1 normal: the model keeps
  // the prior, and truncation removes every draw with theta_0 <= 0.
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  so.batch_size = 1000;
  so.prior =
      R"({"kind":"independent","marginals":[{"kind":"lognormal","mean":-1.5,"std":0.8},
          {"kind":"normal","mean":0,"std":1}]})";
  const std::string set = path("set.h5");
  ASSERT_EQ(gml_posterior_simulate(ctx_, near_identity, nullptr, 2, 2, nullptr, nullptr, 3000, &so,
                                   set.c_str()),
            GML_OK)
      << gml_last_error();
  gml_model* model = train(set, "m.h5");
  ASSERT_NE(model, nullptr);
  const std::string d = describe(model);
  EXPECT_NE(d.find(R"("prior":{"kind":"independent")"), std::string::npos) << d;
  EXPECT_NE(d.find(R"("prior_lower":[0.0,null])"), std::string::npos) << d;

  // Just below theta_0 = 0 a good share of the untruncated draws is negative.
  const double x[2] = {-0.05, 0.3};
  const int64_t n = 2000;
  std::vector<double> raw(n * 2), cut(n * 2), again(n * 2);
  int64_t outside = -1, acc = -1, prop = -1;
  ASSERT_EQ(gml_posterior_sample(ctx_, model, x, 1, n, 9, raw.data(), raw.size(), &outside),
            GML_OK);
  ASSERT_GT(outside, 20) << "the test needs draws outside the prior";
  EXPECT_EQ(d.find("bounded_theta"), std::string::npos) << d;
  {
    // Asked for, the flow models log(theta_0), so nothing leaks.
    gml_model* bounded = train(set, "bounded.h5", 1);
    ASSERT_NE(bounded, nullptr);
    EXPECT_NE(describe(bounded).find(R"("bounded_theta":true)"), std::string::npos);
    std::vector<double> in(n * 2);
    int64_t none = -1;
    ASSERT_EQ(gml_posterior_sample(ctx_, bounded, x, 1, n, 9, in.data(), in.size(), &none), GML_OK)
        << gml_last_error();
    EXPECT_EQ(none, 0);
    for (int64_t i = 0; i < n; ++i) ASSERT_GT(in[2 * i], 0.0) << i;
    gml_model_free(bounded);
  }
  gml_posterior_sample_options o;
  gml_posterior_sample_options_default(&o);
  ASSERT_EQ(gml_posterior_draw(ctx_, model, x, 1, n, 9, &o, cut.data(), cut.size(), &acc, &prop),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(acc, n);
  EXPECT_GE(prop, n + outside);
  const int64_t proposed = prop;
  for (int64_t i = 0; i < n; ++i) ASSERT_GT(cut[2 * i], 0.0) << i;
  // Reproducible, and off means gml_posterior_sample()'s draws bit for bit.
  ASSERT_EQ(
      gml_posterior_draw(ctx_, model, x, 1, n, 9, &o, again.data(), again.size(), nullptr, nullptr),
      GML_OK);
  EXPECT_EQ(cut, again);
  o.truncate = 0;
  ASSERT_EQ(
      gml_posterior_draw(ctx_, model, x, 1, n, 9, &o, again.data(), again.size(), &acc, &prop),
      GML_OK);
  EXPECT_EQ(again, raw);
  EXPECT_EQ(acc, n);
  EXPECT_EQ(prop, n);

  // Summaries use exactly n draws inside the prior: the truncated ones.
  double summary[2 * GML_SUMMARY_COLUMNS];
  int64_t rejected = -1;
  ASSERT_EQ(
      gml_posterior_summarize(ctx_, model, x, 1, n, 9, summary, 2 * GML_SUMMARY_COLUMNS, &rejected),
      GML_OK);
  EXPECT_EQ(rejected, proposed - n);
  double mean0 = 0;
  for (int64_t i = 0; i < n; ++i) mean0 += cut[2 * i] / n;
  EXPECT_NEAR(summary[GML_SUMMARY_MEAN], mean0, 1e-6);
  EXPECT_GT(summary[GML_SUMMARY_P16], 0.0);

  // To a file: the same truncated draws.
  const std::string npy = path("cut.npy");
  gml_posterior_sample_options_default(&o);
  ASSERT_EQ(gml_posterior_draw_to_file(ctx_, model, x, 1, n, 9, &o, npy.c_str()), GML_OK)
      << gml_last_error();
  std::ifstream in(npy, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const size_t data = cut.size() * sizeof(double);
  ASSERT_GT(bytes.size(), data);
  EXPECT_EQ(std::memcmp(bytes.data() + bytes.size() - data, cut.data(), data), 0);
  gml_model_free(model);
}

TEST_F(AbiPosteriorPrior, AHostPriorAndAHostDensityTruncate) {
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  so.batch_size = 1000;
  so.prior_sample = host_sample;
  const double lo[2] = {0, -1}, hi[2] = {2, 1};
  const std::string set = path("host.h5");
  ASSERT_EQ(
      gml_posterior_simulate(ctx_, near_identity, nullptr, 2, 2, lo, hi, 3000, &so, set.c_str()),
      GML_OK)
      << gml_last_error();
  // A sampler that leaves its declared support is caught, naming the batch.
  so.prior_user = reinterpret_cast<void*>(1);
  EXPECT_EQ(gml_posterior_simulate(ctx_, near_identity, nullptr, 2, 2, lo, hi, 100, &so,
                                   path("broken.h5").c_str()),
            GML_ERR_CALLBACK);
  EXPECT_NE(std::string(gml_last_error()).find("outside the prior"), std::string::npos)
      << gml_last_error();

  gml_model* model = train(set, "host_model.h5");
  ASSERT_NE(model, nullptr);
  const std::string d = describe(model);
  EXPECT_NE(d.find(R"("kind":"external")"), std::string::npos) << d;

  const double x[2] = {0.01, 0.0};
  const int64_t n = 1000;
  std::vector<double> draws(n * 2);
  int64_t acc = -1, prop = -1;
  gml_posterior_sample_options o;
  gml_posterior_sample_options_default(&o);
  o.prior_log_prob = positive_first;
  ASSERT_EQ(
      gml_posterior_draw(ctx_, model, x, 1, n, 3, &o, draws.data(), draws.size(), &acc, &prop),
      GML_OK)
      << gml_last_error();
  EXPECT_EQ(acc, n);
  EXPECT_GT(prop, n);
  for (int64_t i = 0; i < n; ++i) ASSERT_GT(draws[2 * i], 0.0) << i;

  // Where the host's prior has no posterior mass the observation stays
  // short: the kept draws, then NaN, and the proposals stop at n / 0.01.
  o.prior_log_prob = far_away;
  o.min_acceptance = 0.01;
  const int64_t m = 30;
  std::vector<double> few(m * 2, 0.0);
  ASSERT_EQ(gml_posterior_draw(ctx_, model, x, 1, m, 3, &o, few.data(), few.size(), &acc, &prop),
            GML_OK);
  EXPECT_EQ(acc, 0);
  EXPECT_EQ(prop, 3000);
  for (double v : few) EXPECT_TRUE(std::isnan(v));
  gml_model_free(model);
}

TEST_F(AbiPosteriorPrior, ImportedSimulationsKeepTheirPriorAndItsSupportIsChecked) {
  const int64_t n = 200;
  std::vector<double> theta(n * 2), x(n * 2);
  for (int64_t i = 0; i < n; ++i) {
    theta[2 * i] = 0.1 + 0.01 * i;  // log-normal support: > 0
    theta[2 * i + 1] = std::cos(double(i));
  }
  theta[2 * 7] = -0.5;  // outside the support
  near_identity(theta.data(), n, x.data(), nullptr);
  gml_posterior_import_options io;
  gml_posterior_import_options_default(&io);
  io.prior = R"({"kind":"independent","marginals":[{"kind":"lognormal","mean":0,"std":1},
               {"kind":"uniform","lower":-1,"upper":1}]})";
  gml_posterior_import_report r{};
  r.struct_size = sizeof r;
  const std::string set = path("imported.h5");
  ASSERT_EQ(
      gml_posterior_training_set_write(ctx_, theta.data(), x.data(), n, 2, 2, &io, set.c_str(), &r),
      GML_OK)
      << gml_last_error();
  EXPECT_EQ(r.rows_outside_prior, 1);
  gml_model* model = train(set, "imported_model.h5");
  ASSERT_NE(model, nullptr);
  const std::string d = describe(model);
  EXPECT_NE(d.find(R"("prior_lower":[0.0,-1.0])"), std::string::npos) << d;
  EXPECT_NE(d.find(R"("rows_outside_prior":1)"), std::string::npos) << d;
  gml_model_free(model);
}
