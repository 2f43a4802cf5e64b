// The labelled merger image set (DeepGalaxy-style): every simulation of
// every mass ratio, seen at n_time_classes snapshots from n_cameras
// directions, as float32 images with one label row per image.
//
// Image order: index = (sim_id * n_time_classes + time_class) * n_cameras +
// camera, sim_id = ratio_index * sims_per_ratio + simulation. The pixels of
// a set are identical for a given config whatever n_threads is.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/merger/sim/config.h"

namespace gml::merger {

struct MergerImageSet {
  int64_t n = 0;         ///< number of images
  int64_t channels = 1;  ///< always 1
  int64_t height = 0;
  int64_t width = 0;
  std::vector<float> pixels;  ///< (n, channels, height, width), C order; row 0 = image bottom

  // One entry per image.
  std::vector<int32_t> sim_id;        ///< simulation (0 .. num_simulations - 1)
  std::vector<int32_t> time_class;    ///< snapshot index k: 0 = start .. n_time_classes - 1
  std::vector<int32_t> camera;        ///< camera index (camera.h)
  std::vector<float> time_myr;        ///< snapshot time
  std::vector<float> mass_ratio;      ///< q = M2 / M1
  std::vector<float> pericentre_kpc;  ///< drawn orbit pericentre (no-friction orbit)
  std::vector<float> eccentricity;    ///< drawn orbit eccentricity
  std::vector<float> separation_kpc;  ///< distance between the two centres at this snapshot
  std::vector<float> merge_time_myr;  ///< when the centres merged; NaN if not by t_end

  /// Pointer to image i (height * width floats).
  const float* image(int64_t i) const { return pixels.data() + i * channels * height * width; }
  /// Throws Error(InvalidArgument) if the vector sizes disagree with n and
  /// the shape.
  void check_consistent() const;
};

/// Progress: (images done, images total); return false to cancel.
using SimProgress = std::function<bool(int64_t done, int64_t total)>;

/// Runs every simulation of `config` (validated first: Error(InvalidArgument))
/// on n_threads worker threads and renders its snapshots. `progress`, if
/// set, is called from the calling thread only, a few times a second and
/// once at the end with done == total; when it returns false the workers
/// stop and the call throws Error(Cancelled). An exception thrown by
/// `progress` stops the workers and propagates.
MergerImageSet simulate_mergers(const MergerSimConfig& config, const SimProgress& progress = {});

}  // namespace gml::merger
