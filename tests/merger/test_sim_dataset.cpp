// simulate_mergers end to end on small configs: shape and label layout,
// determinism across thread counts and seeds, progress and cancellation,
// and the merger itself showing in the labels.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/common/error.h"
#include "core/merger/sim/simulator.h"

namespace {

using gml::merger::MergerImageSet;
using gml::merger::MergerSimConfig;

MergerSimConfig small_config() {
  MergerSimConfig c;
  c.mass_ratios = {0.5, 1.0};
  c.sims_per_ratio = 2;
  c.n_time_classes = 6;
  c.n_cameras = 3;
  c.image_size = 32;
  c.particles_per_disk = 400;
  c.t_end_myr = 600.0;
  c.dt_myr = 2.0;
  c.n_threads = 1;
  return c;
}

TEST(MergerDataset, ShapeAndLabelLayout) {
  const MergerSimConfig c = small_config();
  const MergerImageSet s = gml::merger::simulate_mergers(c);
  ASSERT_EQ(s.n, 4 * 6 * 3);
  EXPECT_EQ(s.channels, 1);
  EXPECT_EQ(s.height, 32);
  EXPECT_EQ(s.width, 32);
  ASSERT_EQ(s.pixels.size(), static_cast<size_t>(s.n * 32 * 32));
  EXPECT_NO_THROW(s.check_consistent());
  for (int64_t i = 0; i < s.n; ++i) {
    const int64_t sim = i / 18, k = (i / 3) % 6, cam = i % 3;
    ASSERT_EQ(s.sim_id[i], sim);
    ASSERT_EQ(s.time_class[i], k);
    ASSERT_EQ(s.camera[i], cam);
    EXPECT_FLOAT_EQ(s.time_myr[i], static_cast<float>(120.0 * k));
    EXPECT_FLOAT_EQ(s.mass_ratio[i], sim < 2 ? 0.5f : 1.0f);
    EXPECT_GE(s.pericentre_kpc[i], c.pericentre_min_kpc);
    EXPECT_LE(s.pericentre_kpc[i], c.pericentre_max_kpc);
    EXPECT_GE(s.eccentricity[i], c.eccentricity_min);
    EXPECT_LE(s.eccentricity[i], c.eccentricity_max);
    EXPECT_GT(s.separation_kpc[i], 0.0f);
  }
  EXPECT_FLOAT_EQ(s.separation_kpc[0], static_cast<float>(c.initial_separation_kpc));
  for (float p : s.pixels) ASSERT_TRUE(std::isfinite(p));
}

TEST(MergerDataset, NoiselessImagesSpanZeroToOne) {
  MergerSimConfig c = small_config();
  c.noise_sigma = 0.0;
  c.sims_per_ratio = 1;
  const MergerImageSet s = gml::merger::simulate_mergers(c);
  const int64_t hw = s.height * s.width;
  for (int64_t i = 0; i < s.n; ++i) {
    float lo = 1e9f, hi = -1e9f;
    for (int64_t p = 0; p < hw; ++p) {
      lo = std::min(lo, s.image(i)[p]);
      hi = std::max(hi, s.image(i)[p]);
    }
    EXPECT_EQ(lo, 0.0f) << "image " << i;  // sky far from the galaxies
    EXPECT_NEAR(hi, 1.0f, 1e-6) << "image " << i;
  }
}

TEST(MergerDataset, SameSeedSamePixelsWhateverTheThreads) {
  MergerSimConfig c = small_config();
  c.n_threads = 1;
  const MergerImageSet a = gml::merger::simulate_mergers(c);
  c.n_threads = 2;
  const MergerImageSet b = gml::merger::simulate_mergers(c);
  c.n_threads = 3;
  const MergerImageSet b3 = gml::merger::simulate_mergers(c);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.pixels, b3.pixels);
  EXPECT_EQ(a.separation_kpc, b.separation_kpc);
  EXPECT_EQ(a.pericentre_kpc, b.pericentre_kpc);
  c.seed = 2;
  const MergerImageSet d = gml::merger::simulate_mergers(c);
  EXPECT_NE(a.pixels, d.pixels);
  EXPECT_NE(a.pericentre_kpc, d.pericentre_kpc);
}

TEST(MergerDataset, ProgressRunsOnCallerThreadAndEndsAtTotal) {
  MergerSimConfig c = small_config();
  c.n_threads = 2;
  const auto caller = std::this_thread::get_id();
  std::vector<std::pair<int64_t, int64_t>> calls;
  bool other_thread = false;
  gml::merger::simulate_mergers(c, [&](int64_t done, int64_t total) {
    if (std::this_thread::get_id() != caller) other_thread = true;
    calls.emplace_back(done, total);
    return true;
  });
  EXPECT_FALSE(other_thread);
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().first, 72);
  EXPECT_EQ(calls.back().second, 72);
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_GE(calls[i].first, calls[i - 1].first);
}

TEST(MergerDataset, ProgressReturningFalseCancels) {
  MergerSimConfig c = small_config();
  c.n_threads = 2;
  try {
    gml::merger::simulate_mergers(c, [](int64_t, int64_t) { return false; });
    FAIL() << "not cancelled";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Cancelled) << e.what();
  }
  // An exception from the callback propagates after the workers stop.
  EXPECT_THROW(gml::merger::simulate_mergers(
                   c, [](int64_t, int64_t) -> bool { throw std::runtime_error("host"); }),
               std::runtime_error);
}

TEST(MergerDataset, DefaultPhysicsMergesAndTheLabelsShowIt) {
  // The default physics, times and orbits, with few particles and pixels.
  MergerSimConfig c;
  c.particles_per_disk = 100;
  c.image_size = 16;
  c.n_cameras = 1;
  c.n_time_classes = 11;
  c.n_threads = 2;
  const MergerImageSet s = gml::merger::simulate_mergers(c);
  for (int64_t sim = 0; sim < 20; ++sim) {
    const int64_t first = sim * 11, last = first + 10;
    EXPECT_TRUE(std::isfinite(s.merge_time_myr[first])) << "simulation " << sim;
    EXPECT_LT(s.merge_time_myr[first], c.t_end_myr);
    // Starts at the initial separation, or at the apocentre if that is closer.
    EXPECT_LE(s.separation_kpc[first], c.initial_separation_kpc + 1e-4);
    EXPECT_GT(s.separation_kpc[first], s.pericentre_kpc[first]);
    EXPECT_LT(s.separation_kpc[last], c.merge_radius_kpc);
  }
}

}  // namespace
