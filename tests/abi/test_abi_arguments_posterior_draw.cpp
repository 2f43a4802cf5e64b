// Truncated draws and priors through the C ABI called with NULL or invalid
// arguments: each returns the documented status with a message and writes
// no output file; malformed priors are refused before anything is written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

const char* const kCoveredPosteriorDraw[] = {
    "gml_posterior_sample_options_default",
    "gml_posterior_draw",
    "gml_posterior_draw_to_file",
};

int copy_simulator(const double* theta, int64_t n, double* x, void*) {
  std::memcpy(x, theta, static_cast<size_t>(n) * 2 * sizeof(double));
  return 0;
}

void draw_expect(gml_status got, gml_status want, const char* what) {
  EXPECT_EQ(got, want) << what << ": " << gml_status_name(got) << " " << gml_last_error();
  EXPECT_STRNE(gml_last_error(), "") << what;
}

void draw_invalid(gml_status got, const char* what) {
  draw_expect(got, GML_ERR_INVALID_ARGUMENT, what);
}

}  // namespace

TEST(AbiArgumentsPosteriorDraw, EveryEntryPointRejectsBadArguments) {
  ASSERT_EQ(sizeof kCoveredPosteriorDraw / sizeof kCoveredPosteriorDraw[0], 3u);
  gml_posterior_sample_options_default(nullptr);
  const fs::path dir =
      fs::temp_directory_path() / ("gml_abi_args_draw_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  ASSERT_EQ(gml_context_create(&co, &ctx), GML_OK);
  const std::string ts = (dir / "ts.h5").string();
  const double lo[2] = {0, 0}, hi[2] = {1, 1};

  // Priors given to the simulation: malformed, twice, or of another size.
  gml_posterior_simulate_options so;
  gml_posterior_simulate_options_default(&so);
  EXPECT_EQ(so.prior, nullptr);
  EXPECT_EQ(so.prior_sample, nullptr);
  so.prior = R"({"kind":"normal","mean":[0,0],"std":[1,0]})";
  draw_invalid(gml_posterior_simulate(ctx, copy_simulator, nullptr, 2, 2, nullptr, nullptr, 10, &so,
                                      ts.c_str()),
               "std 0");
  so.prior = R"({"kind":"normal","mean":[0,0,0],"std":[1,1,1]})";
  draw_invalid(gml_posterior_simulate(ctx, copy_simulator, nullptr, 2, 2, nullptr, nullptr, 10, &so,
                                      ts.c_str()),
               "prior of 3 parameters");
  so.prior = R"({"kind":"normal","mean":[0,0],"std":[1,1]})";
  draw_invalid(
      gml_posterior_simulate(ctx, copy_simulator, nullptr, 2, 2, lo, hi, 10, &so, ts.c_str()),
      "prior and box");
  so.prior = "{";
  draw_invalid(gml_posterior_simulate(ctx, copy_simulator, nullptr, 2, 2, nullptr, nullptr, 10, &so,
                                      ts.c_str()),
               "not JSON");
  so.prior = nullptr;
  draw_invalid(
      gml_posterior_simulate(ctx, copy_simulator, nullptr, 2, 2, lo, nullptr, 10, &so, ts.c_str()),
      "one bound NULL");
  EXPECT_FALSE(fs::exists(ts));

  gml_posterior_import_options io;
  gml_posterior_import_options_default(&io);
  EXPECT_EQ(io.prior, nullptr);
  const double theta[4] = {0.1, 0.2, 0.3, 0.4}, xs[4] = {0.1, 0.2, 0.3, 0.4};
  io.prior = R"({"kind":"lognormal","mean":[0],"std":[1]})";
  draw_invalid(gml_posterior_training_set_write(ctx, theta, xs, 2, 2, 2, &io, ts.c_str(), nullptr),
               "import prior of 1 parameter");
  io.prior = R"({"kind":"uniform","lower":[0,0],"upper":[1,1]})";
  io.prior_dim = 2;
  io.prior_lower = lo;
  io.prior_upper = hi;
  draw_invalid(gml_posterior_training_set_write(ctx, theta, xs, 2, 2, 2, &io, ts.c_str(), nullptr),
               "import prior and box");
  EXPECT_FALSE(fs::exists(ts));

  // A tiny model for the draw calls.
  ASSERT_EQ(
      gml_posterior_simulate(ctx, copy_simulator, nullptr, 2, 2, lo, hi, 60, nullptr, ts.c_str()),
      GML_OK)
      << gml_last_error();
  gml_posterior_train_options to;
  gml_posterior_train_options_default(&to);
  to.num_blocks = 1;
  to.hidden_width = 4;
  to.max_epochs = 1;
  const std::string model_path = (dir / "m.h5").string();
  ASSERT_EQ(gml_posterior_train(ctx, ts.c_str(), &to, model_path.c_str()), GML_OK)
      << gml_last_error();
  gml_model* model = nullptr;
  ASSERT_EQ(gml_model_load(ctx, model_path.c_str(), "posterior", &model), GML_OK);

  const double x[4] = {0.5, 0.5, 0.2, 0.1};
  const double x_nan[2] = {0.5, std::nan("")};
  std::vector<double> out(20, -7.0);
  int64_t acc[2] = {-3, -3}, prop[2] = {-3, -3};
  gml_posterior_sample_options o;
  gml_posterior_sample_options_default(&o);
  EXPECT_EQ(o.truncate, -1);
  EXPECT_EQ(o.min_acceptance, 1e-3);
  draw_invalid(gml_posterior_draw(nullptr, model, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "ctx");
  draw_invalid(gml_posterior_draw(ctx, nullptr, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "model");
  draw_invalid(gml_posterior_draw(ctx, model, nullptr, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "x");
  draw_invalid(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, nullptr, 20, acc, prop), "theta");
  draw_invalid(gml_posterior_draw(ctx, model, x, 0, 5, 0, &o, out.data(), 20, acc, prop), "n_obs");
  draw_invalid(gml_posterior_draw(ctx, model, x, 2, 0, 0, &o, out.data(), 20, acc, prop), "n 0");
  draw_invalid(gml_posterior_draw(ctx, model, x_nan, 1, 5, 0, &o, out.data(), 20, acc, prop),
               "NaN");
  draw_expect(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, out.data(), 19, acc, prop),
              GML_ERR_CAPACITY, "capacity");
  o.truncate = 2;
  draw_invalid(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "truncate 2");
  gml_posterior_sample_options_default(&o);
  o.min_acceptance = 0;
  draw_invalid(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "min_acceptance 0");
  o.min_acceptance = 1.5;
  draw_invalid(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "min_acceptance 1.5");
  gml_posterior_sample_options_default(&o);
  o.struct_size = 3;
  draw_invalid(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
               "struct_size");
  for (double v : out) EXPECT_EQ(v, -7.0);
  EXPECT_EQ(acc[0], -3);
  EXPECT_EQ(prop[0], -3);
  // A failing host density stops the call.
  gml_posterior_sample_options_default(&o);
  o.prior_log_prob = [](const double*, int64_t, int64_t, double*, void*) -> int32_t { return 5; };
  draw_expect(gml_posterior_draw(ctx, model, x, 2, 5, 0, &o, out.data(), 20, acc, prop),
              GML_ERR_CALLBACK, "prior_log_prob fails");
  // NULL options and NULL counts are allowed.
  EXPECT_EQ(gml_posterior_draw(ctx, model, x, 2, 5, 0, nullptr, out.data(), 20, nullptr, nullptr),
            GML_OK)
      << gml_last_error();

  const std::string file = (dir / "draws.npy").string();
  gml_posterior_sample_options_default(&o);
  const char* f = file.c_str();
  draw_invalid(gml_posterior_draw_to_file(nullptr, model, x, 2, 5, 0, &o, f), "ctx");
  draw_invalid(gml_posterior_draw_to_file(ctx, nullptr, x, 2, 5, 0, &o, f), "model");
  draw_invalid(gml_posterior_draw_to_file(ctx, model, nullptr, 2, 5, 0, &o, f), "x");
  draw_invalid(gml_posterior_draw_to_file(ctx, model, x, 2, 5, 0, &o, nullptr), "path");
  draw_invalid(gml_posterior_draw_to_file(ctx, model, x, 2, 5, 0, &o, ""), "path ''");
  draw_invalid(gml_posterior_draw_to_file(ctx, model, x, 0, 5, 0, &o, f), "n_obs");
  draw_invalid(gml_posterior_draw_to_file(ctx, model, x, 2, 0, 0, &o, f), "n 0");
  draw_invalid(gml_posterior_draw_to_file(ctx, model, x_nan, 1, 5, 0, &o, f), "NaN");
  draw_invalid(
      gml_posterior_draw_to_file(ctx, model, x, 2, 5, 0, &o, (dir / "draws.csv").string().c_str()),
      "extension");
  o.truncate = -2;
  draw_invalid(gml_posterior_draw_to_file(ctx, model, x, 2, 5, 0, &o, f), "truncate -2");
  EXPECT_FALSE(fs::exists(file));

  gml_posterior_run_options ro;
  gml_posterior_run_options_default(&ro);
  EXPECT_EQ(ro.truncate, -1);
  EXPECT_EQ(ro.min_acceptance, 1e-3);
  ro.truncate = 3;
  const std::string run_out = (dir / "run.fits").string();
  draw_invalid(gml_posterior_run_catalog(ctx, model, (dir / "none.fits").c_str(), "a=A,b=B", &ro,
                                         run_out.c_str()),
               "run truncate 3");
  EXPECT_FALSE(fs::exists(run_out));

  gml_model_free(model);
  gml_context_free(ctx);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path(), ec);
  fs::remove(dir, ec);
}
