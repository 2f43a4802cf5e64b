// Merger runs over image files and latent indexes: the simulator into a
// labelled image file, the images of such a file (or of any cutout cube), a
// latent index built from them, searched and clustered. The C ABI's
// gml_merger_simulate(), _index_build(), _search() and _cluster() are these
// runs behind argument checks.
#pragma once

#include <ATen/core/Tensor.h>

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/merger/merger_file.h"
#include "core/merger/search/index.h"
#include "core/merger/search/spectral.h"
#include "core/merger/sim/simulator.h"

namespace gml {
class RunControl;
}

namespace gml::runs {

// The images of a simulator file, with their labels, or of a cutout cube,
// whose labels are unknown (-1).
struct MergerImageFile {
  at::Tensor raw;                 // (N, C, H, W) float32
  at::Tensor sim_id, time_class;  // (N) int32, -1 unknown
};
// Throws the FITS errors of the file, InvalidArgument for a cube of no images.
MergerImageFile read_merger_images(const std::string& path);

// Simulates `config`'s images (checked first: InvalidArgument) and writes
// them with their labels to `out_path`; returns the number of images.
int64_t run_merger_simulation(const merger::MergerSimConfig& config, const std::string& out_path,
                              RunControl* control);

struct LatentIndexRunOptions {
  bool resize = false;         // resample images of another size (flagged)
  std::string model_path;      // recorded as provenance
  std::string model_checksum;  // the index is tied to this model
};

// Encodes every image of `images_path` (read_merger_images()) and writes
// their latents, labels and thumbnails as a latent index at `index_path`.
// Returns the number of entries. Throws InvalidArgument for a model without
// VAE, what predict_merger() and write_latent_index() throw.
int64_t build_latent_index(merger::LoadedMerger& model, const std::string& images_path,
                           const LatentIndexRunOptions& options, const std::string& index_path,
                           RunControl* control);

// The k nearest entries of `index` to each query, given as images (N, C, H,
// W), encoded by the model, or as latents (N, D); the other is undefined.
// `with_ssim` also compares image queries with the index's thumbnails: a
// second pass over the images and k comparisons per query.
std::vector<merger::Neighbour> search_latent_index(
    merger::LoadedMerger& model, const merger::LatentIndex& index, const at::Tensor& images,
    const at::Tensor& latents, int64_t k, bool resize, bool with_ssim, RunControl* control);

// Spectral clustering of an index's latents on `device`; n_neighbours is
// capped by the index's size.
merger::SpectralResult cluster_latent_index(const merger::LatentIndex& index, int64_t n_clusters,
                                            int64_t n_neighbours, uint64_t seed,
                                            const c10::Device& device);

}  // namespace gml::runs
