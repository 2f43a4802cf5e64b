// The import entry points of the posterior family called with NULL or
// invalid arguments: each returns the documented status with a message,
// fills no report and writes no file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

const char* const kCoveredPosteriorImport[] = {
    "gml_posterior_import_options_default",
    "gml_posterior_training_set_write",
    "gml_posterior_import",
};

void import_expect(gml_status got, gml_status want, const char* what) {
  EXPECT_EQ(got, want) << what << ": " << gml_status_name(got) << " " << gml_last_error();
  EXPECT_STRNE(gml_last_error(), "") << what;
}

}  // namespace

TEST(AbiArgumentsPosteriorImport, EveryEntryPointRejectsBadArguments) {
  ASSERT_EQ(sizeof kCoveredPosteriorImport / sizeof kCoveredPosteriorImport[0], 3u);
  gml_posterior_import_options_default(nullptr);
  const fs::path dir =
      fs::temp_directory_path() / ("gml_abi_args_import_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "set.h5").string();
  const char* path = out.c_str();
  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  ASSERT_EQ(gml_context_create(&co, &ctx), GML_OK);
  const double theta[4] = {0.1, 0.2, 0.3, 0.4}, x[6] = {1, 2, 3, 4, 5, 6};
  const double nan_x[6] = {std::nan(""), 2, 3, 4, std::nan(""), 6};
  const gml_status kInvalid = GML_ERR_INVALID_ARGUMENT;
  gml_posterior_import_report r{};
  r.struct_size = sizeof r;
  r.rows_written = -9;

  import_expect(gml_posterior_training_set_write(nullptr, theta, x, 2, 2, 3, nullptr, path, &r),
                kInvalid, "ctx");
  import_expect(gml_posterior_training_set_write(ctx, nullptr, x, 2, 2, 3, nullptr, path, &r),
                kInvalid, "theta");
  import_expect(gml_posterior_training_set_write(ctx, theta, nullptr, 2, 2, 3, nullptr, path, &r),
                kInvalid, "x");
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 0, 2, 3, nullptr, path, &r),
                kInvalid, "n 0");
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 0, 3, nullptr, path, &r),
                kInvalid, "theta_dim 0");
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 20000, nullptr, path, &r),
                kInvalid, "x_dim too large");
  import_expect(
      gml_posterior_training_set_write(ctx, theta, x, INT64_MAX / 4, 2, 3, nullptr, path, &r),
      kInvalid, "n beyond memory");
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, nullptr, nullptr, &r),
                kInvalid, "path NULL");
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, nullptr, "", &r), kInvalid,
                "path ''");
  import_expect(gml_posterior_training_set_write(ctx, theta, nan_x, 2, 2, 3, nullptr, path, &r),
                kInvalid, "every row non-finite");
  EXPECT_NE(std::string(gml_last_error()).find("every one of the 2 rows"), std::string::npos)
      << gml_last_error();

  gml_posterior_import_options o;
  gml_posterior_import_options_default(&o);
  EXPECT_STREQ(o.theta, "theta");
  EXPECT_STREQ(o.x, "x");
  EXPECT_EQ(o.prior_dim, 0);
  EXPECT_EQ(o.reject_nonfinite, 0);
  o.struct_size = 2;
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, &o, path, &r), kInvalid,
                "opts struct_size");
  gml_posterior_import_options_default(&o);
  const double lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1}, bad_hi[2] = {1, -1};
  o.prior_dim = 2;
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, &o, path, &r), kInvalid,
                "prior bounds NULL");
  o.prior_lower = lo;
  o.prior_upper = bad_hi;
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, &o, path, &r), kInvalid,
                "upper below lower");
  o.prior_dim = 3;
  o.prior_upper = hi;
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, &o, path, &r), kInvalid,
                "prior of another dimension");
  EXPECT_NE(std::string(gml_last_error()).find("3 dimensions but theta has 2 columns"),
            std::string::npos)
      << gml_last_error();
  o.prior_dim = -1;
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, &o, path, &r), kInvalid,
                "prior_dim < 0");
  gml_posterior_import_options_default(&o);
  o.theta_names = "a,b,c";
  import_expect(gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, &o, path, &r), kInvalid,
                "labels");
  gml_posterior_import_options_default(&o);
  o.reject_nonfinite = 1;
  const double one_nan_x[6] = {1, 2, 3, 4, std::nan(""), 6};
  import_expect(gml_posterior_training_set_write(ctx, theta, one_nan_x, 2, 2, 3, &o, path, &r),
                kInvalid, "reject_nonfinite");
  gml_posterior_import_report short_report{};
  import_expect(
      gml_posterior_training_set_write(ctx, theta, x, 2, 2, 3, nullptr, path, &short_report),
      kInvalid, "report struct_size 0");
  EXPECT_EQ(r.rows_written, -9);
  EXPECT_FALSE(fs::exists(out));

  const std::string missing = (dir / "missing.npz").string();
  import_expect(gml_posterior_import(nullptr, missing.c_str(), nullptr, nullptr, path, &r),
                kInvalid, "import ctx");
  import_expect(gml_posterior_import(ctx, nullptr, nullptr, nullptr, path, &r), kInvalid,
                "import theta_path NULL");
  import_expect(gml_posterior_import(ctx, "", nullptr, nullptr, path, &r), kInvalid,
                "import theta_path ''");
  import_expect(gml_posterior_import(ctx, missing.c_str(), "", nullptr, path, &r), kInvalid,
                "import x_path ''");
  import_expect(gml_posterior_import(ctx, missing.c_str(), nullptr, nullptr, nullptr, &r), kInvalid,
                "import path NULL");
  import_expect(gml_posterior_import(ctx, missing.c_str(), nullptr, nullptr, path, &r), GML_ERR_IO,
                "import of a missing file");
  const std::string sims = std::string(GML_GOLDEN) + "/posterior/import/sims.npz";
  gml_posterior_import_options_default(&o);
  o.theta = "params";
  import_expect(gml_posterior_import(ctx, sims.c_str(), nullptr, &o, path, &r), GML_ERR_FORMAT,
                "import of a missing key");
  EXPECT_NE(std::string(gml_last_error()).find("no array 'params'"), std::string::npos)
      << gml_last_error();
  EXPECT_EQ(r.rows_written, -9);
  EXPECT_FALSE(fs::exists(out));
  gml_context_free(ctx);
  fs::remove_all(dir);
}
