// The posterior family through the shipped library only: a host simulator
// plugged in as a C callback, failure and resume of training-set
// generation, training, and posterior sampling, densities and summaries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

// x = (t0 + t1, t0 - t1) + noise: a host forward model with its own
// deterministic noise stream, as a Fortran or Python simulator would have.
struct HostSimulator {
  uint64_t state = 12345;
  int calls = 0;
  int fail_on_call = -1;  // return an error on this call (0-based)
  int nan_on_call = -1;   // write a NaN on this call
  double normal() {
    auto next = [this] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return (static_cast<double>(state >> 11) + 0.5) / 9007199254740992.0;
    };
    const double u1 = next(), u2 = next();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
};

int host_simulate(const double* theta, int64_t n, double* x, void* user) {
  auto* s = static_cast<HostSimulator*>(user);
  const int call = s->calls++;
  if (call == s->fail_on_call) return 7;
  for (int64_t i = 0; i < n; ++i) {
    x[2 * i] = theta[2 * i] + theta[2 * i + 1] + 0.1 * s->normal();
    x[2 * i + 1] = theta[2 * i] - theta[2 * i + 1] + 0.1 * s->normal();
  }
  if (call == s->nan_on_call) x[3] = std::nan("");
  return 0;
}

const double kLower[2] = {-1.0, -2.0};
const double kUpper[2] = {1.0, 2.0};

class AbiPosterior : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gml_abi_posterior_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    gml_context_options co;
    gml_context_options_default(&co);
    co.device = "cpu";
    ASSERT_EQ(gml_context_create(&co, &ctx_), GML_OK) << gml_last_error();
  }
  void TearDown() override {
    gml_context_free(ctx_);
    fs::remove_all(dir_);
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  int64_t rows(const std::string& p) const {
    int64_t r = -1, td = 0, xd = 0;
    EXPECT_EQ(gml_posterior_training_set_info(p.c_str(), &td, &xd, &r), GML_OK) << gml_last_error();
    EXPECT_EQ(td, 2);
    EXPECT_EQ(xd, 2);
    return r;
  }

  fs::path dir_;
  gml_context* ctx_ = nullptr;
};

}  // namespace

TEST_F(AbiPosterior, FailingSimulatorKeepsEarlierRowsAndResumeCompletesTheSet) {
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  so.batch_size = 1000;
  so.seed = 5;
  so.theta_names = "a,b";
  const std::string ts = path("ts.h5");

  HostSimulator failing;
  failing.fail_on_call = 2;
  gml_status s = gml_posterior_simulate(ctx_, host_simulate, &failing, 2, 2, kLower, kUpper, 5000,
                                        &so, ts.c_str());
  EXPECT_EQ(s, GML_ERR_CALLBACK) << gml_last_error();
  EXPECT_NE(std::strstr(gml_last_error(), "returned 7"), nullptr) << gml_last_error();
  EXPECT_NE(std::strstr(gml_last_error(), "batch 2"), nullptr) << gml_last_error();
  EXPECT_EQ(rows(ts), 2000);

  HostSimulator nan;
  nan.nan_on_call = 0;
  so.resume = 1;
  s = gml_posterior_simulate(ctx_, host_simulate, &nan, 2, 2, kLower, kUpper, 5000, &so,
                             ts.c_str());
  EXPECT_EQ(s, GML_ERR_CALLBACK);
  EXPECT_NE(std::strstr(gml_last_error(), "non-finite"), nullptr) << gml_last_error();
  EXPECT_EQ(rows(ts), 2000);

  HostSimulator good;
  EXPECT_EQ(gml_posterior_simulate(ctx_, host_simulate, &good, 2, 2, kLower, kUpper, 5000, &so,
                                   ts.c_str()),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(rows(ts), 5000);
  EXPECT_EQ(good.calls, 3);  // only the missing batches were simulated

  // Resuming with another prior is refused, the file untouched.
  const double other_upper[2] = {1.0, 3.0};
  EXPECT_EQ(gml_posterior_simulate(ctx_, host_simulate, &good, 2, 2, kLower, other_upper, 6000, &so,
                                   ts.c_str()),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rows(ts), 5000);
}

TEST_F(AbiPosterior, TrainSampleLogProbAndSummarize) {
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  so.batch_size = 2000;
  const std::string ts = path("ts.h5"), model_path = path("model.h5");
  HostSimulator sim;
  ASSERT_EQ(gml_posterior_simulate(ctx_, host_simulate, &sim, 2, 2, kLower, kUpper, 6000, &so,
                                   ts.c_str()),
            GML_OK)
      << gml_last_error();
  gml_posterior_train_options to;
  gml_posterior_train_options_default(&to);
  to.num_blocks = 3;
  to.hidden_width = 32;
  to.batch_size = 128;
  to.learning_rate = 2e-3;
  to.max_epochs = 25;
  to.patience = 5;
  to.seed = 1;
  ASSERT_EQ(gml_posterior_train(ctx_, ts.c_str(), &to, model_path.c_str()), GML_OK)
      << gml_last_error();

  gml_model* model = nullptr;
  ASSERT_EQ(gml_model_load(ctx_, model_path.c_str(), "posterior", &model), GML_OK)
      << gml_last_error();
  int64_t td = 0, xd = 0;
  ASSERT_EQ(gml_posterior_dims(model, &td, &xd), GML_OK);
  EXPECT_EQ(td, 2);
  EXPECT_EQ(xd, 2);
  char json[16384];
  size_t len = 0;
  ASSERT_EQ(gml_posterior_describe(model, json, sizeof json, &len), GML_OK) << gml_last_error();
  EXPECT_NE(std::strstr(json, "\"prior_upper\":[1.0,2.0]"), nullptr) << json;
  EXPECT_NE(std::strstr(json, "x_train_min"), nullptr) << json;
  // The default calibration on the 600 validation simulations.
  EXPECT_NE(std::strstr(json, "\"calibration\":{"), nullptr) << json;
  EXPECT_NE(std::strstr(json, "\"n_sims\":600"), nullptr) << json;
  EXPECT_NE(std::strstr(json, "\"truncated\":true"), nullptr) << json << ": a box prior";
  EXPECT_NE(std::strstr(json, "\"verdict\":\"calibration "), nullptr) << json;

  // Observation of theta = (0.5, -0.5): x = (0, 1). With noise 0.1 the
  // posterior is tight around the truth.
  const double x[4] = {0.0, 1.0, 0.6, 0.0};
  const int64_t n = 2000;
  std::vector<double> draws(2 * n * 2, -99.0);
  int64_t outside[2] = {-1, -1};
  ASSERT_EQ(gml_posterior_sample(ctx_, model, x, 2, n, 42, draws.data(), draws.size(), outside),
            GML_OK)
      << gml_last_error();
  std::vector<double> again(draws.size());
  ASSERT_EQ(gml_posterior_sample(ctx_, model, x, 2, n, 42, again.data(), again.size(), nullptr),
            GML_OK);
  EXPECT_EQ(draws, again);
  double mean0 = 0, mean1 = 0;
  int64_t out_count = 0;
  for (int64_t i = 0; i < n; ++i) {
    mean0 += draws[2 * i] / n;
    mean1 += draws[2 * i + 1] / n;
    const double a = draws[2 * i], b = draws[2 * i + 1];
    out_count += (a < -1 || a > 1 || b < -2 || b > 2) ? 1 : 0;
  }
  EXPECT_NEAR(mean0, 0.5, 0.1);
  EXPECT_NEAR(mean1, -0.5, 0.1);
  EXPECT_EQ(outside[0], out_count);

  std::vector<double> summary(2 * 2 * GML_SUMMARY_COLUMNS);
  int64_t outside2[2];
  ASSERT_EQ(
      gml_posterior_summarize(ctx_, model, x, 2, n, 42, summary.data(), summary.size(), outside2),
      GML_OK)
      << gml_last_error();
  EXPECT_EQ(outside2[0], outside[0]);
  // Same seed, same draws: the mean matches the one computed here (over the
  // draws inside the prior, which is all of them for this observation).
  if (outside[0] == 0) {
    EXPECT_NEAR(summary[GML_SUMMARY_MEAN], mean0, 1e-9);
  }
  EXPECT_LT(summary[GML_SUMMARY_P16], summary[GML_SUMMARY_MEDIAN]);
  EXPECT_LT(summary[GML_SUMMARY_MEDIAN], summary[GML_SUMMARY_P84]);
  EXPECT_GT(summary[GML_SUMMARY_STD], 0.0);
  EXPECT_LT(summary[GML_SUMMARY_STD], 0.3);

  // The same draws streamed to files: .npy bit for bit, the FITS table
  // (one row per draw) bit for bit with its observation index and prior
  // flag, and an HDF5 file; no temporary file left beside them.
  {
    const int64_t m = 300;
    std::vector<double> ref(2 * m * 2);
    ASSERT_EQ(gml_posterior_sample(ctx_, model, x, 2, m, 42, ref.data(), ref.size(), nullptr),
              GML_OK);
    const std::string npy = path("draws.npy"), fits = path("draws.fits"), h5 = path("draws.h5");
    for (const std::string& out : {npy, fits, h5})
      ASSERT_EQ(gml_posterior_sample_to_file(ctx_, model, x, 2, m, 42, out.c_str()), GML_OK)
          << out << ": " << gml_last_error();
    std::ifstream in(npy, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GT(bytes.size(), 10u);
    ASSERT_EQ(bytes.substr(0, 6), std::string("\x93NUMPY"));
    const size_t header =
        10 + static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]);
    EXPECT_EQ(header % 64, 0u);
    EXPECT_NE(bytes.find("'shape': (2, 300, 2)"), std::string::npos);
    ASSERT_EQ(bytes.size(), header + ref.size() * sizeof(double));
    EXPECT_EQ(std::memcmp(bytes.data() + header, ref.data(), ref.size() * sizeof(double)), 0);

    gml_catalog* cat = nullptr;
    ASSERT_EQ(gml_catalog_open(fits.c_str(), nullptr, &cat), GML_OK) << gml_last_error();
    int64_t rows = 0, n_out = 0;
    ASSERT_EQ(gml_catalog_num_rows(cat, &rows), GML_OK);
    ASSERT_EQ(rows, 2 * m);
    std::vector<double> table(static_cast<size_t>(rows) * 4);
    ASSERT_EQ(gml_catalog_read_f64(cat, "THETA0,THETA1,OBS,INSIDE", 0, rows, table.data(),
                                   table.size(), nullptr, &n_out),
              GML_OK)
        << gml_last_error();
    gml_catalog_free(cat);
    int64_t inside_flags = 0;
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_EQ(table[r * 4], ref[r * 2]) << r;
      EXPECT_EQ(table[r * 4 + 1], ref[r * 2 + 1]) << r;
      EXPECT_EQ(table[r * 4 + 2], static_cast<double>(r / m)) << r;
      const double a = ref[r * 2], b = ref[r * 2 + 1];
      const bool inside = a >= -1 && a <= 1 && b >= -2 && b <= 2;
      EXPECT_EQ(table[r * 4 + 3], inside ? 1.0 : 0.0) << r;
      inside_flags += inside ? 1 : 0;
    }
    EXPECT_GT(inside_flags, 0);
    EXPECT_GT(fs::file_size(h5), ref.size() * sizeof(float) / 4);
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }

  // log q is highest near the truth.
  const double theta[4] = {0.5, -0.5, -0.5, 0.5};
  double lp[2];
  ASSERT_EQ(gml_posterior_log_prob(ctx_, model, theta, 2, x, 1, lp), GML_OK) << gml_last_error();
  EXPECT_TRUE(std::isfinite(lp[0]));
  EXPECT_GT(lp[0], lp[1] + 5.0);
  gml_model_free(model);
}

// Bad catalog rows become flagged rows with reasons; the run continues and
// the good rows get posteriors. Built on the SED model end to end.
TEST_F(AbiPosterior, CatalogRunFlagsBadRowsAndKeepsInputOrder) {
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  so.batch_size = 2000;
  so.seed = 4;
  const std::string ts = path("sed.h5"), model_path = path("sed_model.h5");
  ASSERT_EQ(gml_posterior_simulate_sed(ctx_, GML_TEST_DATA, 6000, &so, ts.c_str()), GML_OK)
      << gml_last_error();
  gml_posterior_train_options to;
  gml_posterior_train_options_default(&to);
  to.num_blocks = 2;
  to.hidden_width = 16;
  to.batch_size = 256;
  to.max_epochs = 2;
  ASSERT_EQ(gml_posterior_train(ctx_, ts.c_str(), &to, model_path.c_str()), GML_OK)
      << gml_last_error();
  gml_model* model = nullptr;
  ASSERT_EQ(gml_model_load(ctx_, model_path.c_str(), "posterior", &model), GML_OK);

  // Five rows: good, missing flux, zero ivar, z beyond the prior, good.
  const std::string cat = path("cat.fits");
  gml_table_writer* w = nullptr;
  ASSERT_EQ(gml_table_writer_create(cat.c_str(), nullptr, &w), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_table_writer_add_column(w, "FLUX", GML_COLUMN_FLOAT64, 5, "nmgy"), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "IVAR", GML_COLUMN_FLOAT64, 5, ""), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "Z", GML_COLUMN_FLOAT64, 1, ""), GML_OK);
  const double good[5] = {8.0, 30.0, 60.0, 85.0, 110.0}, ivar[5] = {0.5, 5.0, 4.0, 2.0, 0.3};
  std::vector<double> flux, iv, z;
  for (int r = 0; r < 5; ++r) {
    flux.insert(flux.end(), good, good + 5);
    iv.insert(iv.end(), ivar, ivar + 5);
    z.push_back(0.08);
  }
  flux[5 + 2] = std::nan("");  // row 1: missing r flux
  iv[10 + 1] = 0.0;            // row 2: zero ivar in g
  z[3] = 0.9;                  // row 3: beyond the z prior
  const void* cols[3] = {flux.data(), iv.data(), z.data()};
  ASSERT_EQ(gml_table_writer_append(w, 5, cols), GML_OK);
  ASSERT_EQ(gml_table_writer_commit(w), GML_OK);
  gml_table_writer_free(w);

  const std::string map =
      "a=FLUX[0],b=FLUX[1],c=FLUX[2],d=FLUX[3],e=FLUX[4],f=IVAR[0],g=IVAR[1],h=IVAR[2],"
      "i=IVAR[3],j=IVAR[4],z=Z";
  gml_posterior_run_options ro;
  gml_posterior_run_options_default(&ro);
  ro.n_samples = 200;
  ro.chunk_rows = 2;  // several work units
  const std::string out = path("post.fits");
  ASSERT_EQ(gml_posterior_run_catalog(ctx_, model, cat.c_str(), map.c_str(), &ro, out.c_str()),
            GML_OK)
      << gml_last_error();
  gml_catalog* res = nullptr;
  ASSERT_EQ(gml_catalog_open(out.c_str(), nullptr, &res), GML_OK) << gml_last_error();
  int64_t rows = 0;
  ASSERT_EQ(gml_catalog_num_rows(res, &rows), GML_OK);
  ASSERT_EQ(rows, 5);
  double v[5 * 4];
  ASSERT_EQ(gml_catalog_read_f64(res, "r=ROW,f=FLAGS,o=N_OUTSIDE,m=LOG_MSTAR_MEDIAN", 0, 5, v, 20,
                                 nullptr, nullptr),
            GML_OK)
      << gml_last_error();
  gml_catalog_free(res);
  for (int r = 0; r < 5; ++r) EXPECT_EQ(v[4 * r], r);  // input order
  EXPECT_EQ(static_cast<int>(v[4 * 1 + 1]) & GML_POSTERIOR_FLAG_MISSING,
            GML_POSTERIOR_FLAG_MISSING);
  EXPECT_EQ(static_cast<int>(v[4 * 2 + 1]) & GML_POSTERIOR_FLAG_BAD_IVAR,
            GML_POSTERIOR_FLAG_BAD_IVAR);
  EXPECT_EQ(static_cast<int>(v[4 * 3 + 1]) & GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR,
            GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR);
  for (int r : {1, 2, 3}) {
    EXPECT_EQ(v[4 * r + 2], -1) << "flagged row " << r << " must not be sampled";
    EXPECT_TRUE(std::isnan(v[4 * r + 3])) << r;
  }
  for (int r : {0, 4}) {
    EXPECT_EQ(static_cast<int>(v[4 * r + 1]) & ~GML_POSTERIOR_FLAG_OUTSIDE_TRAINING, 0) << r;
    EXPECT_GE(v[4 * r + 2], 0) << r;
    EXPECT_GT(v[4 * r + 3], 8.0) << r;  // a stellar mass inside the prior
    EXPECT_LT(v[4 * r + 3], 12.5) << r;
  }
  // Same seed and rows: rows 0 and 4 hold equal inputs but distinct streams.
  EXPECT_NE(v[3], v[4 * 4 + 3]);
  gml_model_free(model);
}
