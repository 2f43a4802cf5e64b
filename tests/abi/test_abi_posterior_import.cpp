// Simulations brought in through the C ABI: a host's arrays and the files of
// tests/golden/posterior/import/ become training sets that
// gml_posterior_training_set_info and gml_posterior_train read, with a
// report of what was dropped and what lies outside the prior.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

class AbiPosteriorImport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gml_abi_import_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    gml_context_options co;
    gml_context_options_default(&co);
    co.device = "cpu";
    co.seed = 3;
    ASSERT_EQ(gml_context_create(&co, &ctx_), GML_OK);
  }
  void TearDown() override {
    gml_context_free(ctx_);
    fs::remove_all(dir_);
  }
  static std::string golden(const char* name) {
    return std::string(GML_GOLDEN) + "/posterior/import/" + name;
  }
  fs::path dir_;
  gml_context* ctx_ = nullptr;
};

}  // namespace

TEST_F(AbiPosteriorImport, ArraysBecomeATrainingSetThatTrains) {
  // theta uniform-ish on [0, 1]^2, x = theta + small offsets, one NaN row
  // and one theta outside the declared box.
  const int64_t n = 64;
  std::vector<double> theta(n * 2), x(n * 3);
  for (int64_t i = 0; i < n; ++i) {
    theta[i * 2] = (i % 8) / 8.0;
    theta[i * 2 + 1] = (i / 8) / 8.0;
    for (int k = 0; k < 3; ++k) x[i * 3 + k] = theta[i * 2 + k % 2] + 0.01 * k;
  }
  x[5 * 3 + 2] = std::nan("");
  theta[9 * 2] = 1.5;
  gml_posterior_import_options o;
  gml_posterior_import_options_default(&o);
  const double lo[2] = {0, 0}, hi[2] = {1, 1};
  o.prior_dim = 2;
  o.prior_lower = lo;
  o.prior_upper = hi;
  o.theta_names = "a,b";
  gml_posterior_import_report r{};
  r.struct_size = sizeof r;
  const std::string set = (dir_ / "set.h5").string();
  ASSERT_EQ(
      gml_posterior_training_set_write(ctx_, theta.data(), x.data(), n, 2, 3, &o, set.c_str(), &r),
      GML_OK)
      << gml_last_error();
  EXPECT_EQ(r.theta_dim, 2);
  EXPECT_EQ(r.x_dim, 3);
  EXPECT_EQ(r.rows_read, n);
  EXPECT_EQ(r.rows_nonfinite, 1);
  EXPECT_EQ(r.rows_written, n - 1);
  EXPECT_EQ(r.rows_outside_prior, 1);
  int64_t td = 0, xd = 0, rows = 0;
  ASSERT_EQ(gml_posterior_training_set_info(set.c_str(), &td, &xd, &rows), GML_OK);
  EXPECT_EQ(td, 2);
  EXPECT_EQ(xd, 3);
  EXPECT_EQ(rows, n - 1);

  // The imported set trains a model that keeps the prior and the labels.
  gml_posterior_train_options t;
  gml_posterior_train_options_default(&t);
  t.num_blocks = 1;
  t.hidden_width = 8;
  t.max_epochs = 2;
  t.batch_size = 16;
  const std::string model_path = (dir_ / "model.h5").string();
  ASSERT_EQ(gml_posterior_train(ctx_, set.c_str(), &t, model_path.c_str()), GML_OK)
      << gml_last_error();
  gml_model* model = nullptr;
  ASSERT_EQ(gml_model_load(ctx_, model_path.c_str(), "posterior", &model), GML_OK);
  char desc[8192];
  size_t length = 0;
  ASSERT_EQ(gml_posterior_describe(model, desc, sizeof desc, &length), GML_OK) << gml_last_error();
  EXPECT_NE(std::string(desc).find("\"theta\":[\"a\",\"b\"]"), std::string::npos) << desc;
  EXPECT_NE(std::string(desc).find("\"prior_upper\":[1.0,1.0]"), std::string::npos) << desc;
  gml_model_free(model);
}

TEST_F(AbiPosteriorImport, FilesOfEveryFormatGiveTheSameTrainingSet) {
  struct Case {
    const char* theta_file;
    const char* x_file;
    const char* theta;
    const char* x;
  };
  const Case cases[] = {{"sims.h5", nullptr, "theta", "x"},
                        {"sims.npz", nullptr, "theta", "x"},
                        {"sims_compressed.npz", nullptr, "params", "obs"},
                        {"theta.npy", "x.npy", "theta", "x"},
                        {"sims.fits", nullptr, "mass,age", "FLUX"},
                        {"sims.csv", nullptr, "mass,age", "*"},
                        {"sims.txt", nullptr, "mass,age", "f0,f1,f2"}};
  for (const Case& c : cases) {
    gml_posterior_import_options o;
    gml_posterior_import_options_default(&o);
    o.theta = c.theta;
    o.x = c.x;
    gml_posterior_import_report r{};
    r.struct_size = sizeof r;
    const std::string out = (dir_ / (std::string(c.theta_file) + ".set.h5")).string();
    const std::string x_file = c.x_file ? golden(c.x_file) : "";
    ASSERT_EQ(gml_posterior_import(ctx_, golden(c.theta_file).c_str(),
                                   c.x_file ? x_file.c_str() : nullptr, &o, out.c_str(), &r),
              GML_OK)
        << c.theta_file << ": " << gml_last_error();
    EXPECT_EQ(r.rows_read, 40) << c.theta_file;
    EXPECT_EQ(r.rows_nonfinite, 1) << c.theta_file;
    EXPECT_EQ(r.rows_written, 39) << c.theta_file;
    EXPECT_EQ(r.theta_dim, 2) << c.theta_file;
    EXPECT_EQ(r.x_dim, 3) << c.theta_file;
    EXPECT_EQ(r.rows_outside_prior, 0) << c.theta_file;  // no prior given
  }
  // A plain HDF5 file needs no import: its row count is read as it is.
  int64_t rows = 0;
  ASSERT_EQ(gml_posterior_training_set_info(golden("sims.h5").c_str(), nullptr, nullptr, &rows),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(rows, 40);
}
