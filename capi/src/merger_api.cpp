// C entry points of the merger family (DeepGalaxy).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/image_writer.h"
#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/merger/merger_file.h"
#include "core/merger/merger_images.h"
#include "core/merger/merger_inference.h"
#include "core/merger/merger_training.h"
#include "core/merger/search_index.h"
#include "core/merger/search_spectral.h"
#include "core/merger/sim_merger.h"

namespace {

using gml::require;
namespace mg = gml::merger;

// The C flags are the core's ImageFlag bits, copied through unchanged.
static_assert(GML_MERGER_FLAG_NAN_MASKED == mg::kImageNanMasked &&
              GML_MERGER_FLAG_RESIZED == mg::kImageResized &&
              GML_MERGER_FLAG_BLANK == mg::kImageBlank &&
              GML_MERGER_FLAG_TIME_OUTSIDE == mg::kImageTimeOutsideRange);

// The largest thumbnail side kept in an index: enough for SSIM's 11 x 11
// window and for plots, small enough that 100k entries fit in memory.
constexpr int64_t kThumbnailSide = 64;

template <class Options>
Options options_or_default(const Options* opts, void (*fill)(Options*), size_t needed,
                           const char* what) {
  Options o;
  fill(&o);
  if (opts) {
    require(opts->struct_size >= needed,
            std::string("opts->struct_size is too small; call ") + what + "_default()");
    std::memcpy(&o, opts, std::min<size_t>(opts->struct_size, sizeof(Options)));
    o.struct_size = sizeof(Options);
  }
  return o;
}

at::Tensor image_tensor(const float* images, int64_t n, int64_t channels, int64_t height,
                        int64_t width) {
  require(images != nullptr, "images must not be NULL");
  require(n >= 1 && channels >= 1 && height >= 1 && width >= 1,
          "n, channels, height and width must all be >= 1");
  gml::capi::checked_elements({n, channels, height, width}, sizeof(float), "images");
  return at::from_blob(const_cast<float*>(images), {n, channels, height, width}, at::kFloat);
}

mg::MergerNet& net_of(const gml_model& m) {
  return m.merger->net;
}

// Images of a simulator file (with labels) or of a cutout cube (without).
struct ImageFile {
  at::Tensor raw;                 // (N, C, H, W) float32
  at::Tensor sim_id, time_class;  // (N) int32, -1 unknown
};

ImageFile read_image_file(const std::string& path) {
  ImageFile f;
  try {
    mg::MergerImageSet set = mg::read_merger_fits(path);
    f.raw =
        at::from_blob(set.pixels.data(), {set.n, set.channels, set.height, set.width}, at::kFloat)
            .clone();
    f.sim_id = at::from_blob(set.sim_id.data(), {set.n}, at::kInt).clone();
    f.time_class = at::from_blob(set.time_class.data(), {set.n}, at::kInt).clone();
    return f;
  } catch (const gml::Error& e) {
    if (e.status() != gml::Status::Format) throw;
  }
  const gml::adapters::CubeShape shape = gml::adapters::cutout_cube_shape(path);
  require(shape.n >= 1, "'" + path + "' holds no images");
  f.raw = at::empty({shape.n, shape.c, shape.h, shape.w}, at::kFloat);
  gml::adapters::read_cutout_cube(path, f.raw.data_ptr<float>(), shape.size());
  f.sim_id = at::full({shape.n}, -1, at::kInt);
  f.time_class = at::full({shape.n}, -1, at::kInt);
  return f;
}

at::Tensor thumbnails_of(const at::Tensor& prepared) {
  const int64_t side = std::min<int64_t>(prepared.size(2), kThumbnailSide);
  if (side == prepared.size(2) && side == prepared.size(3)) return prepared.contiguous();
  return at::adaptive_avg_pool2d(prepared, {side, side}).contiguous();
}

}  // namespace

using gml::capi::guard;

extern "C" {

GML_API void gml_merger_simulate_options_default(gml_merger_simulate_options* opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof *opts);
  const mg::MergerSimConfig d;
  opts->struct_size = sizeof *opts;
  opts->sims_per_ratio = d.sims_per_ratio;
  opts->n_time_classes = d.n_time_classes;
  opts->n_cameras = d.n_cameras;
  opts->image_size = d.image_size;
  opts->particles_per_disk = d.particles_per_disk;
  opts->fov_kpc = d.fov_kpc;
  opts->psf_fwhm_pix = d.psf_fwhm_pix;
  opts->noise_sigma = d.noise_sigma;
  opts->t_end_myr = d.t_end_myr;
  opts->dt_myr = d.dt_myr;
  opts->profile = "hernquist";
}

GML_API gml_status gml_merger_simulate(gml_context* ctx, const gml_merger_simulate_options* opts,
                                       const char* out_path, int64_t* n_images) {
  return guard("gml_merger_simulate", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(out_path != nullptr && *out_path, "out_path must not be NULL or empty");
    const auto o =
        options_or_default(opts, gml_merger_simulate_options_default,
                           offsetof(gml_merger_simulate_options, n_threads) + sizeof(int32_t),
                           "gml_merger_simulate_options");
    mg::MergerSimConfig cfg;
    if (o.mass_ratios || o.n_mass_ratios != 0) {
      require(o.mass_ratios != nullptr && o.n_mass_ratios >= 1,
              "opts->mass_ratios and opts->n_mass_ratios must be given together");
      cfg.mass_ratios.assign(o.mass_ratios, o.mass_ratios + o.n_mass_ratios);
    }
    cfg.sims_per_ratio = o.sims_per_ratio;
    cfg.n_time_classes = o.n_time_classes;
    cfg.n_cameras = o.n_cameras;
    cfg.image_size = o.image_size;
    cfg.particles_per_disk = o.particles_per_disk;
    cfg.fov_kpc = o.fov_kpc;
    cfg.psf_fwhm_pix = o.psf_fwhm_pix;
    cfg.noise_sigma = o.noise_sigma;
    cfg.t_end_myr = o.t_end_myr;
    cfg.dt_myr = o.dt_myr;
    cfg.profile = o.profile ? o.profile : "hernquist";
    cfg.seed = o.seed != 0 ? o.seed : c.seed;
    cfg.n_threads = o.n_threads > 0 ? o.n_threads : std::max(1, gml_num_threads());
    mg::validate(cfg);
    gml::Progress progress(&c.control, "simulate", mg::num_images(cfg), "images");
    mg::MergerImageSet set = mg::simulate_mergers(cfg, [&](int64_t done, int64_t) {
      progress.update(done);
      return true;
    });
    progress.finish();
    mg::write_merger_fits(out_path, set, cfg);
    if (n_images) *n_images = set.n;
  });
}

GML_API void gml_merger_train_options_default(gml_merger_train_options* opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof *opts);
  const mg::MergerTrainOptions t;
  const mg::MergerConfig m;
  opts->struct_size = sizeof *opts;
  opts->backbone = "resnet18";
  opts->latent_dim = m.latent_dim;
  opts->regress_time = 1;
  opts->fcae = 1;
  opts->nan_policy = "reject";
  opts->optimizer = "adam";
  opts->lr = t.lr;
  opts->batch_size = t.batch_size;
  opts->micro_batches = t.micro_batches;
  opts->max_epochs = t.max_epochs;
  opts->max_steps = 0;
  opts->patience = t.patience;
  opts->w_class = t.w_class;
  opts->w_time = t.w_time;
  opts->w_fcae = t.w_fcae;
  opts->w_vae = t.w_vae;
  opts->vae_beta = t.vae_beta;
  opts->augment = 1;
  opts->bucket_mb = 25.0;
  opts->lr_schedule = "constant";
}

GML_API gml_status gml_merger_train(gml_context* ctx, const char* data_path,
                                    const gml_merger_train_options* opts, const char* model_path,
                                    gml_merger_train_report* report) {
  return guard("gml_merger_train", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(data_path != nullptr && *data_path, "data_path must not be NULL or empty");
    require(model_path != nullptr && *model_path, "model_path must not be NULL or empty");
    // Reports of callers built before a field was added stop short of it.
    constexpr size_t kReportMin =
        offsetof(gml_merger_train_report, buckets_per_step) + sizeof(int64_t);
    require(!report || report->struct_size >= kReportMin,
            "report->struct_size must be set to sizeof(gml_merger_train_report)");
    const auto o = options_or_default(opts, gml_merger_train_options_default,
                                      offsetof(gml_merger_train_options, command) + sizeof(char*),
                                      "gml_merger_train_options");
    require(o.bucket_mb > 0 && std::isfinite(o.bucket_mb), "opts->bucket_mb must be positive");
    const std::string schedule = o.lr_schedule ? o.lr_schedule : "constant";
    require(schedule == "constant" || schedule == "cosine",
            "opts->lr_schedule must be \"constant\" or \"cosine\", got \"" + schedule + "\"");
    require(o.n_validation_cameras >= 0 && (o.n_validation_cameras == 0 || o.validation_cameras),
            "opts->validation_cameras must hold n_validation_cameras entries");

    const mg::MergerImageSet set = mg::read_merger_fits(data_path);
    mg::MergerConfig cfg;
    cfg.backbone = o.backbone ? o.backbone : "resnet18";
    cfg.in_channels = set.channels;
    require(set.height == set.width, "merger training needs square images");
    cfg.image_size = set.height;
    cfg.n_classes = *std::max_element(set.time_class.begin(), set.time_class.end()) + 1;
    cfg.time_max_myr = *std::max_element(set.time_myr.begin(), set.time_myr.end());
    cfg.regress_time = o.regress_time != 0 && cfg.time_max_myr > 0;
    cfg.fcae = o.fcae != 0;
    cfg.latent_dim = o.latent_dim;
    cfg.nan_policy = mg::nan_policy_from_name(o.nan_policy ? o.nan_policy : "reject");
    cfg.validate();

    mg::MergerTrainOptions to;
    to.optimizer = o.optimizer ? o.optimizer : "adam";
    to.lr = o.lr;
    to.lr_schedule = schedule;
    to.batch_size = o.batch_size;
    to.micro_batches = o.micro_batches;
    to.max_epochs = o.max_epochs;
    to.max_steps = o.max_steps;
    to.patience = o.patience;
    to.w_class = o.w_class;
    to.w_time = o.w_time;
    to.w_fcae = o.w_fcae;
    to.w_vae = o.w_vae;
    to.vae_beta = o.vae_beta;
    to.augment = o.augment != 0;
    to.checkpoint_path = o.checkpoint_path ? o.checkpoint_path : "";
    to.resume = o.resume != 0;
    to.seed = o.seed != 0 ? o.seed : c.seed;
    to.bucket_bytes = static_cast<size_t>(o.bucket_mb * 1024.0 * 1024.0);

    std::vector<int64_t> cameras;
    if (o.n_validation_cameras > 0) {
      cameras.assign(o.validation_cameras, o.validation_cameras + o.n_validation_cameras);
    } else {
      std::set<int32_t> seen(set.camera.begin(), set.camera.end());
      require(seen.size() >= 3,
              "the data file has fewer than 3 cameras; name the validation "
              "cameras explicitly");
      auto it = seen.rbegin();
      cameras = {*it, *std::next(it)};
    }
    const mg::MergerSamples all = mg::samples_from_image_set(set, cfg);
    auto [train, val] = mg::split_by_camera(all, cameras);

    at::manual_seed(to.seed);  // initial weights; rank 0's are broadcast
    mg::MergerNet net(cfg);
    gml::dist::Backend& backend = *c.backend;
    const mg::MergerTrainReport r =
        mg::train_merger(net, train, val, to, backend, &c.control, c.device);

    std::string failure;
    if (backend.rank() == 0) {
      try {
        net->to(at::kCPU);
        nlohmann::json prov{{"data", data_path},
                            {"images", set.n},
                            {"validation_cameras", cameras},
                            {"world_size", backend.size()},
                            {"command", o.command ? o.command : ""}};
        mg::save_merger(model_path, net, prov.dump(), &r);
      } catch (const std::exception& e) {
        failure = e.what();
      }
    }
    double failed = failure.empty() ? 0.0 : 1.0;
    if (backend.size() > 1) backend.allreduce_sum(&failed, 1);
    if (!failure.empty()) gml::fail(gml::Status::Io, failure);
    if (failed > 0) gml::fail(gml::Status::Backend, "rank 0 could not write the model file");

    if (report) {
      gml_merger_train_report& out = *report;
      out.epochs = r.epochs;
      out.steps = r.steps;
      out.best_epoch = r.best_epoch;
      out.train_images = r.train_images;
      out.validation_images = r.validation_images;
      out.world_size = static_cast<int32_t>(r.world_size);
      out.stopped_early = r.stopped_early ? 1 : 0;
      out.validation_loss = r.best_validation.loss;
      out.validation_accuracy = r.best_validation.accuracy;
      out.validation_within3 = r.best_validation.within3;
      out.validation_time_mae_myr = r.best_validation.time_mae_myr;
      out.images_per_s = r.images_per_s;
      out.step_seconds = r.step_seconds;
      out.allreduce_seconds = r.allreduce_seconds;
      out.allreduce_calls = r.allreduce_calls;
      out.buckets_per_step = r.buckets_per_step;
      if (out.struct_size >= offsetof(gml_merger_train_report, wait_seconds) + sizeof(double))
        out.wait_seconds = r.wait_seconds;
    }
  });
}

GML_API gml_status gml_merger_dims(const gml_model* model, int64_t* in_channels,
                                   int64_t* image_size, int64_t* n_classes, int64_t* latent_dim) {
  return guard("gml_merger_dims", [&] {
    const gml_model& m = gml::capi::require_model(model, "merger");
    const mg::MergerConfig& cfg = net_of(m)->config();
    if (in_channels) *in_channels = cfg.in_channels;
    if (image_size) *image_size = cfg.image_size;
    if (n_classes) *n_classes = cfg.n_classes;
    if (latent_dim) *latent_dim = cfg.latent_dim;
  });
}

GML_API gml_status gml_merger_classify(gml_context* ctx, const gml_model* model,
                                       const float* images, int64_t n, int64_t channels,
                                       int64_t height, int64_t width, int32_t resize, float* probs,
                                       int32_t* classes, float* time_myr, float* latent,
                                       int32_t* flags) {
  return guard("gml_merger_classify", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(model, "merger");
    at::Tensor raw = image_tensor(images, n, channels, height, width);
    const mg::MergerConfig& cfg = net_of(m)->config();
    require(!latent || cfg.latent_dim > 0, "latent must be NULL: this model has no VAE");
    mg::PredictRequest req;
    req.classes = true;
    req.latent = latent != nullptr;
    req.resize = resize != 0;
    mg::MergerPredictions p = mg::predict_merger(net_of(m), raw, req, &c.control, "classify");
    // Outputs only now: an error above leaves them untouched.
    if (probs) std::memcpy(probs, p.probs.data_ptr<float>(), sizeof(float) * p.probs.numel());
    if (classes) {
      at::Tensor cls = p.classes.to(at::kInt);
      std::memcpy(classes, cls.data_ptr<int32_t>(), sizeof(int32_t) * n);
    }
    if (time_myr) std::memcpy(time_myr, p.time_myr.data_ptr<float>(), sizeof(float) * n);
    if (latent) std::memcpy(latent, p.latent.data_ptr<float>(), sizeof(float) * p.latent.numel());
    if (flags) std::memcpy(flags, p.flags.data(), sizeof(int32_t) * n);
  });
}

GML_API gml_status gml_merger_encode(gml_context* ctx, const gml_model* model, const float* images,
                                     int64_t n, int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, float* latent, int32_t* flags) {
  return guard("gml_merger_encode", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(model, "merger");
    require(latent != nullptr, "latent must not be NULL");
    at::Tensor raw = image_tensor(images, n, channels, height, width);
    mg::PredictRequest req;
    req.classes = false;
    req.latent = true;
    req.resize = resize != 0;
    mg::MergerPredictions p = mg::predict_merger(net_of(m), raw, req, &c.control, "encode");
    std::memcpy(latent, p.latent.data_ptr<float>(), sizeof(float) * p.latent.numel());
    if (flags) std::memcpy(flags, p.flags.data(), sizeof(int32_t) * n);
  });
}

GML_API gml_status gml_merger_index_build(gml_context* ctx, const gml_model* model,
                                          const char* images_path, int32_t resize,
                                          const char* index_path, int64_t* n_indexed) {
  return guard("gml_merger_index_build", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(model, "merger");
    require(images_path != nullptr && *images_path, "images_path must not be NULL or empty");
    require(index_path != nullptr && *index_path, "index_path must not be NULL or empty");
    const mg::MergerConfig& cfg = net_of(m)->config();
    require(cfg.latent_dim > 0, "this model has no VAE, so it cannot build a latent index");
    ImageFile f = read_image_file(images_path);
    mg::PredictRequest req;
    req.classes = false;
    req.latent = true;
    req.resize = resize != 0;
    mg::MergerPredictions p = mg::predict_merger(net_of(m), f.raw, req, &c.control, "index");
    mg::LatentIndex index;
    index.model_checksum = m.checksum;
    index.backbone = cfg.backbone;
    index.latents = p.latent;
    index.ids = at::arange(f.raw.size(0), at::kLong);
    index.sim_id = f.sim_id;
    index.time_class = f.time_class;
    index.thumbnails = thumbnails_of(mg::prepare_images(f.raw, cfg, req.resize, nullptr));
    index.data_range = 1.0;  // prepare_images() maps median..q99.5 to 0..1
    index.sources = {images_path};
    mg::write_latent_index(index_path, index,
                           nlohmann::json{{"images", images_path}, {"model", m.path}}.dump());
    if (n_indexed) *n_indexed = f.raw.size(0);
  });
}

GML_API gml_status gml_merger_index_info(const char* index_path, int64_t* n_entries,
                                         int64_t* latent_dim) {
  return guard("gml_merger_index_info", [&] {
    require(index_path != nullptr && *index_path, "index_path must not be NULL or empty");
    const mg::LatentIndex index = mg::read_latent_index(index_path, "");
    if (n_entries) *n_entries = index.latents.size(0);
    if (latent_dim) *latent_dim = index.latents.size(1);
  });
}

GML_API gml_status gml_merger_search(gml_context* ctx, const gml_model* model,
                                     const char* index_path, const float* images, int64_t n,
                                     int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, int64_t k, int64_t* rows, int64_t* ids,
                                     float* distances, float* ssim, int32_t* sim_id,
                                     int32_t* time_class) {
  return guard("gml_merger_search", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(model, "merger");
    require(index_path != nullptr && *index_path, "index_path must not be NULL or empty");
    at::Tensor raw = image_tensor(images, n, channels, height, width);
    const mg::MergerConfig& cfg = net_of(m)->config();
    require(cfg.latent_dim > 0, "this model has no VAE, so it cannot search an index");
    const mg::LatentIndex index = mg::read_latent_index(index_path, m.checksum);
    require(k >= 1 && k <= index.latents.size(0),
            "k must be in [1, " + std::to_string(index.latents.size(0)) + "]");
    mg::PredictRequest req;
    req.classes = false;
    req.latent = true;
    req.resize = resize != 0;
    mg::MergerPredictions p = mg::predict_merger(net_of(m), raw, req, &c.control, "search");
    // SSIM against the thumbnails only when the caller asks for it: it costs
    // a second pass over the images and k comparisons per query.
    at::Tensor query_images = ssim && index.thumbnails.defined()
                                  ? mg::prepare_images(raw, cfg, req.resize, nullptr)
                                  : at::Tensor();
    const std::vector<mg::Neighbour> nb = mg::query_index(index, p.latent, query_images, k);
    for (size_t i = 0; i < nb.size(); ++i) {
      if (rows) rows[i] = nb[i].row;
      if (ids) ids[i] = nb[i].id;
      if (distances) distances[i] = nb[i].distance;
      if (ssim) ssim[i] = static_cast<float>(nb[i].ssim);
      if (sim_id) sim_id[i] = nb[i].sim_id;
      if (time_class) time_class[i] = nb[i].time_class;
    }
  });
}

GML_API gml_status gml_merger_cluster(gml_context* ctx, const char* index_path, int64_t n_clusters,
                                      int64_t n_neighbours, int64_t* labels, size_t capacity,
                                      double* eigenvalues) {
  return guard("gml_merger_cluster", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(index_path != nullptr && *index_path, "index_path must not be NULL or empty");
    require(labels != nullptr, "labels must not be NULL");
    require(n_clusters >= 2, "n_clusters must be >= 2");
    require(n_neighbours >= 1, "n_neighbours must be >= 1");
    const mg::LatentIndex index = mg::read_latent_index(index_path, "");
    const int64_t n = index.latents.size(0);
    if (capacity < static_cast<size_t>(n))
      gml::fail(gml::Status::Capacity, "labels holds " + std::to_string(capacity) +
                                           " entries but the index has " + std::to_string(n));
    mg::SpectralOptions so;
    so.n_clusters = n_clusters;
    so.n_neighbors = std::min<int64_t>(n_neighbours, n - 1);
    so.scale_neighbor = std::min<int64_t>(so.scale_neighbor, so.n_neighbors);
    so.seed = c.seed;
    const mg::SpectralResult r = mg::spectral_clustering(index.latents.to(c.device), so);
    at::Tensor l = r.labels.to(at::kCPU, at::kLong).contiguous();
    std::memcpy(labels, l.data_ptr<int64_t>(), sizeof(int64_t) * static_cast<size_t>(n));
    if (eigenvalues) {
      at::Tensor e = r.eigenvalues.to(at::kCPU, at::kDouble).contiguous();
      std::memcpy(eigenvalues, e.data_ptr<double>(), sizeof(double) * e.numel());
    }
  });
}

}  // extern "C"
