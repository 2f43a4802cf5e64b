// The merger training run in C++, below the C ABI: the architecture follows
// the data, the validation cameras are held out whole (by default the two
// highest-numbered), rank 0 writes the model, and bad data or an unwritable
// model path fail with no model file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/common/error.h"
#include "core/distributed/backend.h"
#include "core/merger/merger_file.h"
#include "core/merger/sim/dataset.h"
#include "core/merger/sim/fits.h"
#include "runs/merger/train_run.h"

namespace {

std::string train_work_path(const std::string& name) {
  return testing::TempDir() + "gml_runs_merger_" + std::to_string(::getpid()) + "_" + name;
}

bool train_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// 2 simulations x 5 classes x `cameras` cameras of 24 px.
std::string simulate(int32_t cameras) {
  gml::merger::MergerSimConfig cfg;
  cfg.mass_ratios = {0.5, 1.0};
  cfg.sims_per_ratio = 1;
  cfg.n_time_classes = 5;
  cfg.n_cameras = cameras;
  cfg.image_size = 24;
  cfg.particles_per_disk = 300;
  cfg.t_end_myr = 1500;
  cfg.dt_myr = 3;
  cfg.fov_kpc = 64;
  const std::string path = train_work_path("sims_" + std::to_string(cameras) + ".fits");
  std::remove(path.c_str());
  gml::merger::write_merger_fits(path, gml::merger::simulate_mergers(cfg), cfg);
  return path;
}

gml::runs::MergerTrainRunOptions small_run() {
  gml::runs::MergerTrainRunOptions o;
  o.latent_dim = 4;
  o.train.batch_size = 4;
  o.train.max_steps = 2;
  o.train.max_epochs = 1;
  o.train.seed = 5;
  return o;
}

}  // namespace

TEST(MergerTrainRun, ArchitectureFollowsTheDataAndTheLastCamerasValidate) {
  const std::string data = simulate(4), model = train_work_path("model.h5");
  std::remove(model.c_str());
  const auto backend = gml::dist::open_backend("none");
  const gml::runs::MergerTrainRun run =
      gml::runs::run_merger_training(data, small_run(), model, *backend, nullptr, at::kCPU);
  EXPECT_EQ(run.validation_cameras, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(run.report.train_images, 2 * 5 * 2);  // cameras 0 and 1
  EXPECT_EQ(run.report.validation_images, 2 * 5 * 2);
  EXPECT_EQ(run.report.steps, 2);
  const gml::merger::LoadedMerger loaded = gml::merger::load_merger(model);
  const gml::merger::MergerConfig& cfg = loaded.net->config();
  EXPECT_EQ(cfg.in_channels, 1);
  EXPECT_EQ(cfg.image_size, 24);
  EXPECT_EQ(cfg.n_classes, 5);
  EXPECT_EQ(cfg.latent_dim, 4);
  EXPECT_GT(cfg.time_max_myr, 0);
  EXPECT_NE(loaded.provenance.find("\"validation_cameras\":[3,2]"), std::string::npos)
      << loaded.provenance;
  std::remove(model.c_str());

  // Named cameras are used as given.
  gml::runs::MergerTrainRunOptions o = small_run();
  o.validation_cameras = {0};
  const gml::runs::MergerTrainRun named =
      gml::runs::run_merger_training(data, o, model, *backend, nullptr, at::kCPU);
  EXPECT_EQ(named.report.validation_images, 2 * 5);
  std::remove(model.c_str());
  std::remove(data.c_str());
}

TEST(MergerTrainRun, BadDataOptionsAndPathsFailWithNoModelFile) {
  const auto backend = gml::dist::open_backend("none");
  const std::string model = train_work_path("never.h5");
  // Two cameras cannot give two validation cameras and a training one.
  const std::string two = simulate(2);
  try {
    gml::runs::run_merger_training(two, small_run(), model, *backend, nullptr, at::kCPU);
    ADD_FAILURE() << "two cameras were accepted";
  } catch (const gml::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fewer than 3 cameras"), std::string::npos) << e.what();
  }
  gml::runs::MergerTrainRunOptions o = small_run();
  o.nan_policy = "ignore-it";
  o.validation_cameras = {1};
  EXPECT_THROW(gml::runs::run_merger_training(two, o, model, *backend, nullptr, at::kCPU),
               gml::Error);
  EXPECT_FALSE(train_exists(model));
  // A model path in a missing folder fails after training, on rank 0 (the
  // only rank here), with its own error.
  o = small_run();
  o.validation_cameras = {1};
  const std::string unwritable = train_work_path("no/such/dir/model.h5");
  try {
    gml::runs::run_merger_training(two, o, unwritable, *backend, nullptr, at::kCPU);
    ADD_FAILURE() << "the model was written to a missing folder";
  } catch (const gml::Error& e) {
    EXPECT_NE(e.status(), gml::Status::Backend) << e.what();
  }
  EXPECT_FALSE(train_exists(unwritable));
  std::remove(two.c_str());
}
