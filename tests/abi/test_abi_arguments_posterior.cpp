// Posterior-family entry points called with NULL or invalid arguments: each
// returns the documented status with a message, leaves its outputs
// untouched, writes no file and never crashes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

const char* const kCoveredPosterior[] = {
    "gml_posterior_simulate_options_default",
    "gml_posterior_simulate",
    "gml_posterior_simulate_sed",
    "gml_posterior_training_set_info",
    "gml_posterior_train_options_default",
    "gml_posterior_train",
    "gml_posterior_dims",
    "gml_posterior_describe",
    "gml_posterior_sample",
    "gml_posterior_log_prob",
    "gml_posterior_summarize",
    "gml_posterior_run_options_default",
    "gml_posterior_run_catalog",
    "gml_posterior_diagnose",
    "gml_posterior_diagnose_batch",
    "gml_posterior_sample_to_file",
};

int identity_simulator(const double* theta, int64_t n, double* x, void*) {
  std::memcpy(x, theta, static_cast<size_t>(n) * 2 * sizeof(double));
  return 0;
}

void posterior_expect_status(gml_status got, gml_status want, const char* what) {
  EXPECT_EQ(got, want) << what << ": " << gml_status_name(got) << " " << gml_last_error();
  if (want != GML_OK) {
    EXPECT_STRNE(gml_last_error(), "") << what;
  }
}

void posterior_expect_invalid(gml_status s, const char* what) {
  posterior_expect_status(s, GML_ERR_INVALID_ARGUMENT, what);
}

}  // namespace

TEST(AbiArgumentsPosterior, EveryEntryPointRejectsBadArguments) {
  ASSERT_EQ(sizeof kCoveredPosterior / sizeof kCoveredPosterior[0], 16u);
  gml_posterior_simulate_options_default(nullptr);
  gml_posterior_train_options_default(nullptr);
  gml_posterior_run_options_default(nullptr);
  const fs::path dir =
      fs::temp_directory_path() / ("gml_abi_args_post_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string ts = (dir / "ts.h5").string();
  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  ASSERT_EQ(gml_context_create(&co, &ctx), GML_OK);
  const double lo[2] = {0, 0}, hi[2] = {1, 1}, bad_hi[2] = {1, -1};
  const double nan_hi[2] = {1, std::nan("")};

  posterior_expect_invalid(gml_posterior_simulate(nullptr, identity_simulator, nullptr, 2, 2, lo,
                                                  hi, 10, nullptr, ts.c_str()),
                           "ctx NULL");
  posterior_expect_invalid(
      gml_posterior_simulate(ctx, nullptr, nullptr, 2, 2, lo, hi, 10, nullptr, ts.c_str()),
      "fn NULL");
  posterior_expect_invalid(gml_posterior_simulate(ctx, identity_simulator, nullptr, 0, 2, lo, hi,
                                                  10, nullptr, ts.c_str()),
                           "theta_dim 0");
  posterior_expect_invalid(gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, nullptr,
                                                  hi, 10, nullptr, ts.c_str()),
                           "lower NULL");
  posterior_expect_invalid(gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo,
                                                  bad_hi, 10, nullptr, ts.c_str()),
                           "upper < lower");
  posterior_expect_invalid(gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo,
                                                  nan_hi, 10, nullptr, ts.c_str()),
                           "NaN bound");
  posterior_expect_invalid(gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo, hi, 0,
                                                  nullptr, ts.c_str()),
                           "n 0");
  posterior_expect_invalid(
      gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo, hi, 10, nullptr, nullptr),
      "path NULL");
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  so.struct_size = 4;
  posterior_expect_invalid(
      gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo, hi, 10, &so, ts.c_str()),
      "struct_size");
  so.struct_size = sizeof so;
  so.batch_size = 0;
  posterior_expect_invalid(
      gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo, hi, 10, &so, ts.c_str()),
      "batch 0");
  so.theta_names = "only_one";
  so.batch_size = 5;
  posterior_expect_invalid(
      gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo, hi, 10, &so, ts.c_str()),
      "names count");
  EXPECT_FALSE(fs::exists(ts));

  posterior_expect_invalid(gml_posterior_simulate_sed(nullptr, nullptr, 10, nullptr, ts.c_str()),
                           "ctx");
  posterior_expect_invalid(gml_posterior_simulate_sed(ctx, nullptr, 0, nullptr, ts.c_str()), "n 0");
  posterior_expect_invalid(gml_posterior_simulate_sed(ctx, nullptr, 10, nullptr, nullptr), "path");
  EXPECT_NE(gml_posterior_simulate_sed(ctx, (dir / "nowhere").c_str(), 10, nullptr, ts.c_str()),
            GML_OK);

  int64_t rows = -5;
  posterior_expect_invalid(gml_posterior_training_set_info(nullptr, nullptr, nullptr, &rows),
                           "path NULL");
  EXPECT_EQ(gml_posterior_training_set_info((dir / "missing.h5").c_str(), nullptr, nullptr, &rows),
            GML_ERR_IO);
  EXPECT_EQ(rows, -5);

  posterior_expect_invalid(gml_posterior_train(nullptr, ts.c_str(), nullptr, "m.h5"), "ctx");
  posterior_expect_invalid(gml_posterior_train(ctx, nullptr, nullptr, "m.h5"), "training set NULL");
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), nullptr, nullptr), "model NULL");
  EXPECT_EQ(gml_posterior_train(ctx, ts.c_str(), nullptr, (dir / "m.h5").c_str()), GML_ERR_IO);

  // A real (tiny) training set and model for the model-level calls.
  so.theta_names = nullptr;
  ASSERT_EQ(
      gml_posterior_simulate(ctx, identity_simulator, nullptr, 2, 2, lo, hi, 60, &so, ts.c_str()),
      GML_OK)
      << gml_last_error();
  gml_posterior_train_options to;
  gml_posterior_train_options_default(&to);
  to.estimator = "gan";
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), &to, (dir / "m.h5").c_str()),
                           "estimator");
  gml_posterior_train_options_default(&to);
  to.activation = "sigmoid";
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), &to, (dir / "m.h5").c_str()),
                           "activation");
  gml_posterior_train_options_default(&to);
  to.num_blocks = -1;  // 0 asks for the training set's default
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), &to, (dir / "m.h5").c_str()),
                           "blocks -1");
  gml_posterior_train_options_default(&to);
  to.batch_size = -1;
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), &to, (dir / "m.h5").c_str()),
                           "batch -1");
  gml_posterior_train_options_default(&to);
  to.calibration_sims = -1;
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), &to, (dir / "m.h5").c_str()),
                           "calibration_sims -1");
  gml_posterior_train_options_default(&to);
  to.calibration_samples = 1;
  posterior_expect_invalid(gml_posterior_train(ctx, ts.c_str(), &to, (dir / "m.h5").c_str()),
                           "calibration_samples 1");
  EXPECT_FALSE(fs::exists(dir / "m.h5"));
  gml_posterior_train_options_default(&to);
  to.num_blocks = 1;
  to.hidden_width = 4;
  to.max_epochs = 1;
  const std::string model_path = (dir / "m.h5").string();
  ASSERT_EQ(gml_posterior_train(ctx, ts.c_str(), &to, model_path.c_str()), GML_OK)
      << gml_last_error();
  gml_model* model = nullptr;
  ASSERT_EQ(gml_model_load(ctx, model_path.c_str(), "posterior", &model), GML_OK);

  int64_t td = -1;
  posterior_expect_invalid(gml_posterior_dims(nullptr, &td, nullptr), "model NULL");
  EXPECT_EQ(td, -1);
  EXPECT_EQ(gml_posterior_dims(model, nullptr, nullptr), GML_OK);
  posterior_expect_invalid(gml_posterior_describe(nullptr, nullptr, 0, nullptr), "describe NULL");
  size_t len = 0;
  EXPECT_EQ(gml_posterior_describe(model, nullptr, 0, &len), GML_OK);  // a size query
  EXPECT_GT(len, 10u);

  const double x[4] = {0.5, 0.5, 0.2, 0.1};
  const double x_nan[2] = {0.5, std::nan("")};
  std::vector<double> out(40, -7.0);
  int64_t outside[2] = {-3, -3};
  posterior_expect_invalid(
      gml_posterior_sample(nullptr, model, x, 2, 5, 0, out.data(), 40, outside), "ctx");
  posterior_expect_invalid(gml_posterior_sample(ctx, nullptr, x, 2, 5, 0, out.data(), 40, outside),
                           "model");
  posterior_expect_invalid(
      gml_posterior_sample(ctx, model, nullptr, 2, 5, 0, out.data(), 40, outside), "x");
  posterior_expect_invalid(gml_posterior_sample(ctx, model, x, 2, 5, 0, nullptr, 40, outside),
                           "theta");
  posterior_expect_invalid(gml_posterior_sample(ctx, model, x, 0, 5, 0, out.data(), 40, outside),
                           "n_obs");
  posterior_expect_invalid(gml_posterior_sample(ctx, model, x, 2, 0, 0, out.data(), 40, outside),
                           "n 0");
  posterior_expect_invalid(
      gml_posterior_sample(ctx, model, x_nan, 1, 5, 0, out.data(), 40, outside), "NaN");
  EXPECT_EQ(gml_posterior_sample(ctx, model, x, 2, 5, 0, out.data(), 19, outside),
            GML_ERR_CAPACITY);
  for (double v : out) EXPECT_EQ(v, -7.0);
  EXPECT_EQ(outside[0], -3);

  const std::string draws_path = (dir / "draws.fits").string();
  const char* file = draws_path.c_str();
  posterior_expect_invalid(gml_posterior_sample_to_file(nullptr, model, x, 2, 5, 0, file), "ctx");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, nullptr, x, 2, 5, 0, file), "model");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, nullptr, 2, 5, 0, file), "x");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x, 2, 5, 0, nullptr), "path");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x, 2, 5, 0, ""), "path ''");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x, 0, 5, 0, file), "n_obs");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x, 2, 0, 0, file), "n 0");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x_nan, 1, 5, 0, file), "NaN");
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x, 2, INT64_MAX / 2, 0, file),
                           "too many draws");
  const std::string csv = (dir / "draws.csv").string();
  posterior_expect_invalid(gml_posterior_sample_to_file(ctx, model, x, 2, 5, 0, csv.c_str()),
                           "extension");
  EXPECT_FALSE(fs::exists(draws_path));
  EXPECT_FALSE(fs::exists(csv));

  double lp[2] = {-7, -7};
  posterior_expect_invalid(gml_posterior_log_prob(nullptr, model, x, 2, x, 1, lp), "ctx");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, nullptr, x, 2, x, 1, lp), "model");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, nullptr, 2, x, 1, lp), "theta");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, x, 2, nullptr, 1, lp), "x");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, x, 2, x, 3, lp), "n_x");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, x, 2, x, 1, nullptr), "out");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, x, -1, x, 1, lp), "n<0");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, x_nan, 1, x, 1, lp), "NaN theta");
  EXPECT_EQ(lp[0], -7);

  posterior_expect_invalid(
      gml_posterior_summarize(nullptr, model, x, 2, 5, 0, out.data(), 40, outside), "ctx");
  posterior_expect_invalid(
      gml_posterior_summarize(ctx, nullptr, x, 2, 5, 0, out.data(), 40, outside), "model");
  posterior_expect_invalid(
      gml_posterior_summarize(ctx, model, nullptr, 2, 5, 0, out.data(), 40, outside), "x");
  posterior_expect_invalid(gml_posterior_summarize(ctx, model, x, 2, 5, 0, nullptr, 40, outside),
                           "out");
  posterior_expect_invalid(gml_posterior_summarize(ctx, model, x, 2, 0, 0, out.data(), 40, outside),
                           "n");
  EXPECT_EQ(gml_posterior_summarize(ctx, model, x, 2, 5, 0, out.data(), 19, outside),
            GML_ERR_CAPACITY);
  // n_obs * theta_dim * 5 overflowed to a small number that passed the
  // capacity check; sizes beyond the address space are argument errors.
  const int64_t huge = int64_t{1} << 61;
  posterior_expect_invalid(
      gml_posterior_summarize(ctx, model, x, huge, 5, 0, out.data(), SIZE_MAX, outside),
      "summarize n_obs 2^61");
  posterior_expect_invalid(gml_posterior_log_prob(ctx, model, x, huge, x, 1, lp),
                           "log_prob n 2^61");
  posterior_expect_invalid(
      gml_posterior_sample(ctx, model, x, huge, 5, 0, out.data(), SIZE_MAX, outside),
      "sample n_obs 2^61");
  for (double v : out) EXPECT_EQ(v, -7.0);

  // Catalog runs: NULLs, a mapping of the wrong arity, a missing column; no
  // output file in any case.
  const std::string cat = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";
  const std::string out_path = (dir / "post.fits").string();
  posterior_expect_invalid(
      gml_posterior_run_catalog(nullptr, model, cat.c_str(), "a=Z,b=Z", nullptr, out_path.c_str()),
      "run ctx");
  posterior_expect_invalid(
      gml_posterior_run_catalog(ctx, nullptr, cat.c_str(), "a=Z,b=Z", nullptr, out_path.c_str()),
      "run model");
  posterior_expect_invalid(
      gml_posterior_run_catalog(ctx, model, nullptr, "a=Z,b=Z", nullptr, out_path.c_str()),
      "run catalog");
  posterior_expect_invalid(
      gml_posterior_run_catalog(ctx, model, cat.c_str(), nullptr, nullptr, out_path.c_str()),
      "run mapping");
  posterior_expect_invalid(
      gml_posterior_run_catalog(ctx, model, cat.c_str(), "a=Z,b=Z", nullptr, nullptr), "run out");
  posterior_expect_invalid(
      gml_posterior_run_catalog(ctx, model, cat.c_str(), "a=Z", nullptr, out_path.c_str()),
      "run arity");
  gml_posterior_run_options ro;
  gml_posterior_run_options_default(&ro);
  ro.n_samples = 1;
  posterior_expect_invalid(
      gml_posterior_run_catalog(ctx, model, cat.c_str(), "a=Z,b=Z", &ro, out_path.c_str()),
      "run n_samples");
  EXPECT_EQ(
      gml_posterior_run_catalog(ctx, model, cat.c_str(), "a=NOSUCH,b=Z", nullptr, out_path.c_str()),
      GML_ERR_NOT_FOUND)
      << gml_last_error();
  EXPECT_FALSE(fs::exists(out_path));

  double pv[2] = {-1, -1};
  posterior_expect_invalid(gml_posterior_diagnose(nullptr, model, ts.c_str(), 0, 10, 5, 4, 0,
                                                  nullptr, pv, nullptr, nullptr, nullptr),
                           "diagnose ctx");
  posterior_expect_invalid(gml_posterior_diagnose(ctx, model, nullptr, 0, 10, 5, 4, 0, nullptr, pv,
                                                  nullptr, nullptr, nullptr),
                           "diagnose path");
  posterior_expect_invalid(gml_posterior_diagnose(ctx, model, ts.c_str(), 0, 10, 5, 4, 0, nullptr,
                                                  nullptr, nullptr, nullptr, nullptr),
                           "diagnose pvalue NULL");
  posterior_expect_invalid(gml_posterior_diagnose(ctx, model, ts.c_str(), 0, 1, 5, 4, 0, nullptr,
                                                  pv, nullptr, nullptr, nullptr),
                           "diagnose n_sims");
  posterior_expect_invalid(gml_posterior_diagnose(ctx, model, ts.c_str(), 50, 20, 5, 4, 0, nullptr,
                                                  pv, nullptr, nullptr, nullptr),
                           "diagnose past the end");
  EXPECT_EQ(pv[0], -1);
  EXPECT_EQ(gml_posterior_diagnose(ctx, model, ts.c_str(), 0, 20, 10, 4, 0, nullptr, pv, nullptr,
                                   nullptr, nullptr),
            GML_OK)
      << gml_last_error();
  EXPECT_GE(pv[0], 0.0);
  EXPECT_LE(pv[0], 1.0);

  // The request/result form: the same figures for the same seed, and
  // capacities checked before any draw.
  gml_posterior_diagnose_request rq{};
  rq.struct_size = sizeof rq;
  rq.simulations_path = ts.c_str();
  rq.n_sims = 20;
  rq.n_samples = 10;
  rq.levels = 4;
  double pv2[2] = {-1, -1}, ecp[5] = {-1, -1, -1, -1, -1};
  gml_posterior_diagnose_result rs{};
  rs.struct_size = sizeof rs;
  rs.sbc_pvalue = pv2;
  rs.sbc_pvalue_capacity = 2;
  rs.tarp_ecp = ecp;
  rs.tarp_ecp_capacity = 4;
  EXPECT_EQ(gml_posterior_diagnose_batch(ctx, model, &rq, &rs), GML_ERR_CAPACITY);
  EXPECT_NE(std::string(gml_last_error()).find("tarp_ecp holds 4 elements; 5 needed"),
            std::string::npos)
      << gml_last_error();
  EXPECT_EQ(pv2[0], -1);
  rs.tarp_ecp_capacity = 5;
  ASSERT_EQ(gml_posterior_diagnose_batch(ctx, model, &rq, &rs), GML_OK) << gml_last_error();
  EXPECT_EQ(pv2[0], pv[0]);
  EXPECT_EQ(pv2[1], pv[1]);
  EXPECT_EQ(ecp[0], 0.0);
  for (int k = 1; k < 5; ++k) {
    EXPECT_GE(ecp[k], ecp[k - 1]) << k;  // a coverage curve
    EXPECT_LE(ecp[k], 1.0) << k;
  }
  // Truncated to the prior's box, as a catalog run draws: each simulation is
  // ranked among n_samples draws inside the box, or left out (rank -1).
  int64_t ranks[40];
  rs.ranks = ranks;
  rs.ranks_capacity = 40;
  rq.truncate = 1;
  ASSERT_EQ(gml_posterior_diagnose_batch(ctx, model, &rq, &rs), GML_OK) << gml_last_error();
  for (int64_t r : ranks) {
    EXPECT_GE(r, -1);
    EXPECT_LE(r, 10);
  }
  rq.truncate = 5;
  posterior_expect_invalid(gml_posterior_diagnose_batch(ctx, model, &rq, &rs), "truncate 5");
  rq.truncate = 0;
  rs.ranks = nullptr;
  rs.ranks_capacity = 0;
  posterior_expect_invalid(gml_posterior_diagnose_batch(nullptr, model, &rq, &rs),
                           "diagnose_batch ctx");
  posterior_expect_invalid(gml_posterior_diagnose_batch(ctx, nullptr, &rq, &rs),
                           "diagnose_batch model");
  posterior_expect_invalid(gml_posterior_diagnose_batch(ctx, model, nullptr, &rs),
                           "diagnose_batch request");
  posterior_expect_invalid(gml_posterior_diagnose_batch(ctx, model, &rq, nullptr),
                           "diagnose_batch result");
  rq.struct_size = 0;
  posterior_expect_invalid(gml_posterior_diagnose_batch(ctx, model, &rq, &rs),
                           "diagnose_batch size 0");
  EXPECT_NE(std::string(gml_last_error()).find("zero it and set struct_size"), std::string::npos)
      << gml_last_error();

  // A flow call on a posterior model names the family.
  EXPECT_EQ(gml_flow_dims(model, nullptr, nullptr), GML_ERR_FAMILY);
  gml_model_free(model);
  gml_context_free(ctx);
  fs::remove_all(dir);
}
