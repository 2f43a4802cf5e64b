// The merger runs over image files in C++, below the C ABI: the simulator's
// file read back with its labels, a latent index built from it with an
// untrained model (the run's mechanics do not depend on training), searched
// by latents (each entry is its own nearest neighbour) and clustered.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "runs/merger/image_runs.h"

namespace {

namespace mg = gml::merger;
namespace runs = gml::runs;

std::string images_work_path(const std::string& name) {
  return testing::TempDir() + "gml_runs_merger_images_" + std::to_string(::getpid()) + "_" + name;
}

bool image_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// 2 simulations x 5 classes x 2 cameras of 24 px.
mg::MergerSimConfig small_simulation() {
  mg::MergerSimConfig cfg;
  cfg.mass_ratios = {0.5, 1.0};
  cfg.sims_per_ratio = 1;
  cfg.n_time_classes = 5;
  cfg.n_cameras = 2;
  cfg.image_size = 24;
  cfg.particles_per_disk = 300;
  cfg.t_end_myr = 1500;
  cfg.dt_myr = 3;
  cfg.fov_kpc = 64;
  cfg.seed = 3;
  return cfg;
}

mg::LoadedMerger untrained_model(int64_t latent_dim) {
  mg::MergerConfig cfg;
  cfg.in_channels = 1;
  cfg.image_size = 24;
  cfg.n_classes = 5;
  cfg.latent_dim = latent_dim;
  cfg.vae_hidden = 16;
  cfg.time_max_myr = 1500;
  mg::LoadedMerger m;
  m.net = mg::MergerNet(cfg);
  m.net->eval();
  m.to_device(at::kCPU);
  return m;
}

class MergerImageRuns : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::remove(images().c_str());
    ASSERT_EQ(runs::run_merger_simulation(small_simulation(), images(), nullptr), 2 * 5 * 2);
  }
  static void TearDownTestSuite() { std::remove(images().c_str()); }
  static std::string images() { return images_work_path("sims.fits"); }
};

TEST_F(MergerImageRuns, SimulatorFileReadsBackWithLabels) {
  const runs::MergerImageFile f = runs::read_merger_images(images());
  ASSERT_EQ(f.raw.sizes(), (at::IntArrayRef{20, 1, 24, 24}));
  EXPECT_EQ(f.sim_id.min().item<int32_t>(), 0);
  EXPECT_EQ(f.time_class.max().item<int32_t>(), 4);
}

TEST_F(MergerImageRuns, InvalidSimulationIsRefusedWithoutAFile) {
  mg::MergerSimConfig cfg = small_simulation();
  cfg.image_size = 0;
  const std::string path = images_work_path("refused.fits");
  EXPECT_THROW(runs::run_merger_simulation(cfg, path, nullptr), gml::Error);
  EXPECT_FALSE(image_exists(path));
}

TEST_F(MergerImageRuns, IndexIsBuiltSearchedAndClustered) {
  mg::LoadedMerger model = untrained_model(4);
  const std::string index_path = images_work_path("index.h5");
  std::remove(index_path.c_str());
  runs::LatentIndexRunOptions o;
  o.model_path = "untrained";
  o.model_checksum = "0123abcd";
  ASSERT_EQ(runs::build_latent_index(model, images(), o, index_path, nullptr), 20);
  const mg::LatentIndex index = mg::read_latent_index(index_path, "0123abcd");
  ASSERT_EQ(index.latents.sizes(), (at::IntArrayRef{20, 4}));
  EXPECT_EQ(index.sim_id.max().item<int32_t>(), 1);
  ASSERT_TRUE(index.thumbnails.defined());
  EXPECT_EQ(index.thumbnails.size(2), 24) << "images below the thumbnail side are kept whole";
  EXPECT_EQ(index.sources, (std::vector<std::string>{images()}));

  // Each entry's own latent finds it first, at distance 0 (up to the float32
  // cancellation of |a|^2 - 2ab + |b|^2).
  const std::vector<mg::Neighbour> nb = runs::search_latent_index(
      model, index, at::Tensor(), index.latents.slice(0, 0, 3), 2, false, false, nullptr);
  ASSERT_EQ(nb.size(), 6u);
  for (const mg::Neighbour& n : nb) {
    if (n.rank != 0) continue;
    EXPECT_EQ(n.row, n.query);
    EXPECT_NEAR(n.distance, 0.0, 1e-3);
  }
  // Image queries go through the encoder: the index's own images come back.
  const runs::MergerImageFile f = runs::read_merger_images(images());
  const std::vector<mg::Neighbour> by_image = runs::search_latent_index(
      model, index, f.raw.slice(0, 5, 6), at::Tensor(), 1, false, true, nullptr);
  ASSERT_EQ(by_image.size(), 1u);
  EXPECT_NEAR(by_image[0].distance, 0.0, 1e-3);
  EXPECT_NEAR(by_image[0].ssim, 1.0, 1e-4);

  const mg::SpectralResult clusters = runs::cluster_latent_index(index, 2, 50, 1, at::kCPU);
  EXPECT_EQ(clusters.labels.numel(), 20);
  EXPECT_EQ(clusters.eigenvalues.numel(), 2);
  std::remove(index_path.c_str());
}

TEST_F(MergerImageRuns, ModelWithoutLatentBuildsNoIndex) {
  mg::LoadedMerger model = untrained_model(0);
  const std::string index_path = images_work_path("no_index.h5");
  EXPECT_THROW(
      runs::build_latent_index(model, images(), runs::LatentIndexRunOptions{}, index_path, nullptr),
      gml::Error);
  EXPECT_FALSE(image_exists(index_path));
}

}  // namespace
