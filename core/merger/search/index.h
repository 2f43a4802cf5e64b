// Latent index files: the encoded training set that similarity search and
// clustering run against. DeepGalaxy's search is only meaningful with the
// encoder that made the latents, so an index records the checksum of that
// model file and refuses to load for any other model.
//
// Stored as a galaxyml model file (core/common/model_file.h) of family
// "merger_index", readable by h5py:
//   config (JSON)       {"index_version": 2, "model_checksum", "backbone",
//                        "count": N, "latent_dim": D,
//                        "thumbnail_shape": [C, h, w] or [], "data_range",
//                        "nn_distance_scale"}   (version 1: no scale; it is
//                        computed from the latents when such a file is read)
//   /extra/latents      (N, D) float32
//   /extra/ids          (N) int64
//   /extra/sim_id       (N) int32, -1 = unknown
//   /extra/time_class   (N) int32, -1 = unknown
//   /extra/thumbnails   (N, C, h, w) float32 (absent when the index has none)
//   /extra/sources      uint8: the UTF-8 source names, each ended by a NUL
// The file's own checksum covers all of these, so damage is caught on read.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace gml::merger {

inline constexpr const char* kLatentIndexFamily = "merger_index";
inline constexpr int32_t kLatentIndexVersion = 2;

// How far apart the index's own images lie: the 95th percentile, over its
// entries, of the latent distance to the nearest other entry. A query whose
// nearest entry is more than kOutOfDistributionFactor times this far is
// unlike every image the index holds (flag kImageOutOfDistribution).
inline constexpr double kNnDistanceQuantile = 0.95;
inline constexpr double kOutOfDistributionFactor = 2.0;

struct LatentIndex {
  std::string model_checksum;  // ModelFile::checksum of the model whose encoder made the latents
  std::string backbone;        // encoder name, e.g. "resnet50"
  at::Tensor latents;          // (N, D) float32
  at::Tensor ids;              // (N) int64, caller's identifiers
  at::Tensor sim_id;           // (N) int32, -1 = unknown; undefined on write = all unknown
  at::Tensor time_class;       // (N) int32, -1 = unknown; undefined on write = all unknown
  at::Tensor thumbnails;       // (N, C, h, w) float32 small images for SSIM and plots, or undefined
  double data_range = 1.0;     // dynamic range of the thumbnails' pixel values, for SSIM
  std::vector<std::string> sources;  // names of the inputs (files, catalogs); not interpreted
  // Nearest-neighbour distance scale (kNnDistanceQuantile). NaN = none:
  // write_latent_index computes it from the latents, query_index flags
  // nothing; it stays NaN for an index of one entry.
  double nn_distance_scale = std::numeric_limits<double>::quiet_NaN();
};

// The kNnDistanceQuantile quantile of each row's distance to its nearest
// other row of latents (N, D); NaN when N < 2. Runs on latents' device.
double nn_distance_scale(const at::Tensor& latents);

// Writes `index` atomically to `path`. provenance: JSON text (data, command).
// Tensors are converted to the stored dtypes and moved to the CPU.
// Throws Error(InvalidArgument) for an empty model_checksum, N = 0, shapes
// that disagree with N and D, non-finite latents, a source name holding a NUL;
// Error(Io) when the file cannot be written.
void write_latent_index(const std::string& path, const LatentIndex& index,
                        const std::string& provenance = "{}");

// Reads an index (tensors on the CPU). expected_model_checksum empty accepts
// an index of any model.
// Throws what read_model_file throws (Io missing/unreadable, Format not HDF5
// or truncated, Family when the file is not a "merger_index" (e.g. a model
// file), Version, Checksum when damaged); Error(Format) when the config or
// arrays are missing or inconsistent; and Error(InvalidArgument) when the
// index was built with a different model: the file is sound but does not go
// with the model the caller has, and the message says "built with a different
// model" and gives both checksums.
LatentIndex read_latent_index(const std::string& path, const std::string& expected_model_checksum);

struct Neighbour {
  int64_t query = 0;        // row of query_latents
  int64_t rank = 0;         // 0 = nearest
  int64_t row = 0;          // row in the index
  int64_t id = 0;           // index.ids[row]
  float distance = 0;       // L2 distance in the latent
  double ssim = 0;          // SSIM(query image, thumbnail); NaN when no query image was given
  int32_t sim_id = -1;      // index.sim_id[row]
  int32_t time_class = -1;  // index.time_class[row]
  // On each query's nearest neighbour (rank 0): kImageOutOfDistribution when
  // distance > kOutOfDistributionFactor * index.nn_distance_scale; else 0.
  int32_t flags = 0;
};

// The k nearest index rows (L2 in the latent, ties to the lower row) of each
// query, Q * k entries, query-major, nearest first. Runs on query_latents'
// device. query_images (Q, C, H, W) or undefined: with images, SSIM is
// computed against each neighbour's thumbnail with index.data_range; a query
// image of another size than the thumbnails is first resized to (h, w) by
// area interpolation (adaptive average pooling; for upsampling, pixel
// replication), so SSIM is then measured at thumbnail resolution.
// Throws Error(InvalidArgument) for query_latents not (Q, D) with the index's
// D, k outside [1, N], images whose count or channels disagree, images given
// to an index without thumbnails, NaN latents; and what ssim() throws
// (thumbnails smaller than the 11 x 11 window).
std::vector<Neighbour> query_index(const LatentIndex& index, const at::Tensor& query_latents,
                                   const at::Tensor& query_images, int64_t k);

}  // namespace gml::merger
