#include "runs/merger/image_runs.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapters/image_writer.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/merger/merger_images.h"
#include "core/merger/merger_inference.h"
#include "core/merger/search/index.h"

namespace gml::runs {

namespace mg = merger;

namespace {

// The largest thumbnail side kept in an index: enough for SSIM's 11 x 11
// window and for plots, small enough that 100k entries fit in memory.
constexpr int64_t kThumbnailSide = 64;

at::Tensor thumbnails_of(const at::Tensor& prepared) {
  const int64_t side = std::min<int64_t>(prepared.size(2), kThumbnailSide);
  if (side == prepared.size(2) && side == prepared.size(3)) return prepared.contiguous();
  return at::adaptive_avg_pool2d(prepared, {side, side}).contiguous();
}

}  // namespace

MergerImageFile read_merger_images(const std::string& path) {
  MergerImageFile f;
  try {
    mg::MergerImageSet set = mg::read_merger_fits(path);
    f.raw =
        at::from_blob(set.pixels.data(), {set.n, set.channels, set.height, set.width}, at::kFloat)
            .clone();
    f.sim_id = at::from_blob(set.sim_id.data(), {set.n}, at::kInt).clone();
    f.time_class = at::from_blob(set.time_class.data(), {set.n}, at::kInt).clone();
    return f;
  } catch (const Error& e) {
    // Not a simulator file: read it as a plain cutout cube below.
    if (e.status() != Status::Format) throw;
  }
  const adapters::CubeShape shape = adapters::cutout_cube_shape(path);
  require(shape.n >= 1, "'" + path + "' holds no images");
  f.raw = at::empty({shape.n, shape.c, shape.h, shape.w}, at::kFloat);
  adapters::read_cutout_cube(path, f.raw.data_ptr<float>(), shape.size());
  f.sim_id = at::full({shape.n}, -1, at::kInt);
  f.time_class = at::full({shape.n}, -1, at::kInt);
  return f;
}

int64_t run_merger_simulation(const mg::MergerSimConfig& config, const std::string& out_path,
                              RunControl* control) {
  mg::validate(config);
  Progress progress(control, "simulate", mg::num_images(config), "images");
  mg::MergerImageSet set = mg::simulate_mergers(config, [&](int64_t done, int64_t) {
    progress.update(done);
    return true;
  });
  progress.finish();
  mg::write_merger_fits(out_path, set, config);
  return set.n;
}

int64_t build_latent_index(mg::LoadedMerger& model, const std::string& images_path,
                           const LatentIndexRunOptions& options, const std::string& index_path,
                           RunControl* control) {
  const mg::MergerConfig& cfg = model.net->config();
  require(cfg.latent_dim > 0, "this model has no VAE, so it cannot build a latent index");
  const MergerImageFile f = read_merger_images(images_path);
  mg::PredictRequest req;
  req.classes = false;
  req.latent = true;
  req.resize = options.resize;
  mg::MergerPredictions p = mg::predict_merger(model.net, f.raw, req, control, "index");
  mg::LatentIndex index;
  index.model_checksum = options.model_checksum;
  index.backbone = cfg.backbone;
  index.latents = p.latent;
  index.ids = at::arange(f.raw.size(0), at::kLong);
  index.sim_id = f.sim_id;
  index.time_class = f.time_class;
  index.thumbnails = thumbnails_of(mg::prepare_images(f.raw, cfg, req.resize, nullptr));
  index.data_range = 1.0;  // prepare_images() maps median..q99.5 to 0..1
  index.sources = {images_path};
  mg::write_latent_index(
      index_path, index,
      nlohmann::json{{"images", images_path}, {"model", options.model_path}}.dump());
  return f.raw.size(0);
}

std::vector<mg::Neighbour> search_latent_index(mg::LoadedMerger& model,
                                               const mg::LatentIndex& index,
                                               const at::Tensor& images, const at::Tensor& latents,
                                               int64_t k, bool resize, bool with_ssim,
                                               RunControl* control) {
  if (!images.defined()) return mg::query_index(index, latents, at::Tensor(), k);
  mg::PredictRequest req;
  req.classes = false;
  req.latent = true;
  req.resize = resize;
  const at::Tensor latent = mg::predict_merger(model.net, images, req, control, "search").latent;
  at::Tensor query_images;
  if (with_ssim && index.thumbnails.defined()) {
    query_images = mg::prepare_images(images, model.net->config(), resize, nullptr);
  }
  return mg::query_index(index, latent, query_images, k);
}

mg::SpectralResult cluster_latent_index(const mg::LatentIndex& index, int64_t n_clusters,
                                        int64_t n_neighbours, uint64_t seed,
                                        const c10::Device& device) {
  mg::SpectralOptions so;
  so.n_clusters = n_clusters;
  so.n_neighbors = std::min<int64_t>(n_neighbours, index.latents.size(0) - 1);
  so.scale_neighbor = std::min<int64_t>(so.scale_neighbor, so.n_neighbors);
  so.seed = seed;
  return mg::spectral_clustering(index.latents.to(device), so);
}

}  // namespace gml::runs
