// Training-set files: attributes that disagree with the stored datasets (a
// damaged rows_complete, a negative theta_dim) are format errors naming the
// attribute, before anything is sized by them.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>

#include "core/common/error.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/training_set.h"

namespace fs = std::filesystem;
namespace post = gml::posterior;

namespace {

void set_int64_attr(const std::string& path, const char* name, int64_t value) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  ASSERT_GE(a, 0);
  ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &value), 0);
  H5Aclose(a);
  H5Fclose(f);
}

// The status and message of what `f` throws.
template <class F>
std::pair<gml::Status, std::string> error_of(F&& f) {
  try {
    f();
  } catch (const gml::Error& e) {
    return {e.status(), e.what()};
  }
  return {gml::Status::Ok, ""};
}

}  // namespace

TEST(TrainingSet, DamagedAttributesAreFormatErrorsNamingThem) {
  const fs::path dir = fs::temp_directory_path() / ("gml_ts_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string good = (dir / "good.h5").string();
  post::TrainingSetInfo info;
  info.theta_dim = 2;
  info.x_dim = 3;
  info.prior_lower = {0, 0};
  info.prior_upper = {1, 1};
  info.batch_size = 5;
  post::simulate_training_set(
      good, info, 20,
      [](int64_t, const double* theta, int64_t m, double* x) {
        for (int64_t i = 0; i < m; ++i) {
          for (int j = 0; j < 3; ++j) x[i * 3 + j] = theta[i * 2 + j % 2];
        }
        return 0;
      },
      false, nullptr);
  EXPECT_EQ(post::read_training_set(good).theta.size(0), 20);
  EXPECT_EQ(post::training_set_shape(good).rows, 20);

  const std::string rows = (dir / "rows.h5").string();
  fs::copy_file(good, rows);
  set_int64_attr(rows, "rows_complete", 1000000000000000LL);
  auto [status, msg] = error_of([&] { post::read_training_set(rows); });
  EXPECT_EQ(status, gml::Status::Format);
  EXPECT_NE(msg.find("rows_complete = 1000000000000000"), std::string::npos) << msg;
  EXPECT_EQ(error_of([&] { post::training_set_shape(rows); }).first, gml::Status::Format);
  set_int64_attr(rows, "rows_complete", -1);
  EXPECT_EQ(error_of([&] { post::read_training_set(rows); }).first, gml::Status::Format);

  const std::string dim = (dir / "dim.h5").string();
  fs::copy_file(good, dim);
  set_int64_attr(dim, "theta_dim", -3);
  std::tie(status, msg) = error_of([&] { post::training_set_shape(dim); });
  EXPECT_EQ(status, gml::Status::Format);
  EXPECT_NE(msg.find("theta_dim = -3"), std::string::npos) << msg;
  set_int64_attr(dim, "theta_dim", 3);  // plausible, but /theta has 2 columns
  std::tie(status, msg) = error_of([&] { post::read_training_set(dim); });
  EXPECT_EQ(status, gml::Status::Format);
  // Not fs::remove_all: in a test linked to libtorch.so it binds to that
  // library's own copy, which crashes.
  for (const std::string& p : {good, rows, dim}) std::remove(p.c_str());
  ::rmdir(dir.c_str());
}

// A posterior model file whose config asks for far more parameters than its
// tensors hold is refused before the flow is built.
TEST(PosteriorFile, ConfigAskingForMoreThanTheTensorsHoldIsAFormatError) {
  gml::posterior::PosteriorConfig cfg;
  cfg.theta_dim = 2;
  cfg.x_dim = 2;
  cfg.num_blocks = 2;
  cfg.hidden_width = 8;
  cfg.made_blocks = 1;
  gml::posterior::PosteriorFlow flow(cfg, 1);
  gml::ModelFile file =
      gml::posterior::posterior_model_file(flow, gml::posterior::PosteriorFileExtras{});
  EXPECT_NO_THROW(gml::posterior::posterior_from_model_file(file)) << "config and tensors agree";
  gml::posterior::PosteriorConfig big = cfg;
  big.hidden_width = 4096;
  big.num_blocks = 50;
  file.config = big.to_json_text();
  try {
    gml::posterior::posterior_from_model_file(file);
    ADD_FAILURE() << "a config of 8e8 parameters over a few hundred stored ones was built";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Format);
    EXPECT_NE(std::string(e.what()).find("config and tensors disagree"), std::string::npos)
        << e.what();
  }
}
