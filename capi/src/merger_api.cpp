// C entry points of the merger family (DeepGalaxy).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "adapters/image_writer.h"
#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/merger/merger_file.h"
#include "core/merger/merger_images.h"
#include "core/merger/merger_inference.h"
#include "core/merger/merger_training.h"
#include "core/merger/search/index.h"
#include "core/merger/search/spectral.h"
#include "core/merger/sim/simulator.h"
#include "runs/merger/train_run.h"

namespace {

using gml::require;
namespace mg = gml::merger;

// The C flags are the core's ImageFlag bits, copied through unchanged.
constexpr int flag_bit(int bit) {
  return bit;
}
static_assert(flag_bit(GML_MERGER_FLAG_NAN_MASKED) == flag_bit(mg::kImageNanMasked) &&
              flag_bit(GML_MERGER_FLAG_RESIZED) == flag_bit(mg::kImageResized) &&
              flag_bit(GML_MERGER_FLAG_BLANK) == flag_bit(mg::kImageBlank) &&
              flag_bit(GML_MERGER_FLAG_TIME_OUTSIDE) == flag_bit(mg::kImageTimeOutsideRange) &&
              flag_bit(GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) ==
                  flag_bit(mg::kImageOutOfDistribution));

// The largest thumbnail side kept in an index: enough for SSIM's 11 x 11
// window and for plots, small enough that 100k entries fit in memory.
constexpr int64_t kThumbnailSide = 64;

at::Tensor image_tensor(const float* images, int64_t n, int64_t channels, int64_t height,
                        int64_t width) {
  require(images != nullptr, "images must not be NULL");
  require(n >= 1 && channels >= 1 && height >= 1 && width >= 1,
          "n, channels, height and width must all be >= 1");
  gml::capi::checked_elements({n, channels, height, width}, sizeof(float), "images");
  return at::from_blob(const_cast<float*>(images), {n, channels, height, width}, at::kFloat);
}

mg::MergerNet& net_of(const gml_model& m) {
  return gml::capi::loaded_as<gml::merger::LoadedMerger>(m).net;
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

using gml::capi::kUnchecked;
using gml::capi::require_capacity;

void classify_into(gml_context& c, const gml_model& m, const gml_merger_classify_request& rq,
                   const gml_merger_classify_result& rs) {
  at::Tensor raw = image_tensor(rq.images, rq.n, rq.channels, rq.height, rq.width);
  const mg::MergerConfig& cfg = net_of(m)->config();
  require(!rs.latent || cfg.latent_dim > 0, "latent must be NULL: this model has no VAE");
  const int64_t n = rq.n;
  require_capacity(rs.probs, rs.probs_capacity, n * cfg.n_classes, "probs");
  require_capacity(rs.classes, rs.classes_capacity, n, "classes");
  require_capacity(rs.time_myr, rs.time_myr_capacity, n, "time_myr");
  require_capacity(rs.latent, rs.latent_capacity, n * cfg.latent_dim, "latent");
  require_capacity(rs.flags, rs.flags_capacity, n, "flags");
  mg::PredictRequest req;
  req.classes = true;
  req.latent = rs.latent != nullptr;
  req.resize = rq.resize != 0;
  mg::MergerPredictions p = mg::predict_merger(net_of(m), raw, req, &c.control, "classify");
  // Outputs only now: an error above leaves them untouched.
  if (rs.probs) std::memcpy(rs.probs, p.probs.data_ptr<float>(), sizeof(float) * p.probs.numel());
  if (rs.classes) {
    at::Tensor cls = p.classes.to(at::kInt);
    std::memcpy(rs.classes, cls.data_ptr<int32_t>(), sizeof(int32_t) * n);
  }
  if (rs.time_myr) std::memcpy(rs.time_myr, p.time_myr.data_ptr<float>(), sizeof(float) * n);
  if (rs.latent) {
    std::memcpy(rs.latent, p.latent.data_ptr<float>(), sizeof(float) * p.latent.numel());
  }
  if (rs.flags) std::memcpy(rs.flags, p.flags.data(), sizeof(int32_t) * n);
}

void search_into(gml_context& c, const gml_model& m, const gml_merger_search_request& rq,
                 const gml_merger_search_result& rs) {
  require(rq.index_path != nullptr && *rq.index_path, "index_path must not be NULL or empty");
  require((rq.images != nullptr) != (rq.latents != nullptr),
          "give the queries as images or as latents: exactly one of the two");
  require(rq.n >= 1, "n must be >= 1");
  const mg::MergerConfig& cfg = net_of(m)->config();
  require(cfg.latent_dim > 0, "this model has no VAE, so it cannot search an index");
  at::Tensor raw;
  if (rq.images) {
    raw = image_tensor(rq.images, rq.n, rq.channels, rq.height, rq.width);
  } else {
    require(rs.ssim == nullptr, "ssim needs image queries: the thumbnails compare images");
    require(rq.latent_dim == cfg.latent_dim, "latent_dim is " + std::to_string(rq.latent_dim) +
                                                 "; the model's latent has " +
                                                 std::to_string(cfg.latent_dim) + " dimensions");
    gml::capi::checked_elements({rq.n, rq.latent_dim}, sizeof(float), "latents");
  }
  const mg::LatentIndex index = mg::read_latent_index(rq.index_path, m.checksum);
  const int64_t k = rq.k;
  require(k >= 1 && k <= index.latents.size(0),
          "k must be in [1, " + std::to_string(index.latents.size(0)) + "]");
  const int64_t cells = rq.n * k;
  require_capacity(rs.rows, rs.rows_capacity, cells, "rows");
  require_capacity(rs.ids, rs.ids_capacity, cells, "ids");
  require_capacity(rs.distances, rs.distances_capacity, cells, "distances");
  require_capacity(rs.ssim, rs.ssim_capacity, cells, "ssim");
  require_capacity(rs.sim_id, rs.sim_id_capacity, cells, "sim_id");
  require_capacity(rs.time_class, rs.time_class_capacity, cells, "time_class");
  require_capacity(rs.flags, rs.flags_capacity, rq.n, "flags");
  at::Tensor latent, query_images;
  if (rq.images) {
    mg::PredictRequest req;
    req.classes = false;
    req.latent = true;
    req.resize = rq.resize != 0;
    latent = mg::predict_merger(net_of(m), raw, req, &c.control, "search").latent;
    // SSIM against the thumbnails only when the caller asks for it: it costs
    // a second pass over the images and k comparisons per query.
    if (rs.ssim && index.thumbnails.defined()) {
      query_images = mg::prepare_images(raw, cfg, req.resize, nullptr);
    }
  } else {
    latent =
        at::from_blob(const_cast<float*>(rq.latents), {rq.n, rq.latent_dim}, at::kFloat).clone();
    const at::Tensor bad = at::isfinite(latent).logical_not().any(1);
    if (bad.any().item<bool>()) {
      gml::fail(gml::Status::InvalidArgument,
                "latents has NaN or Inf (first at query " +
                    std::to_string(at::nonzero(bad)[0][0].item<int64_t>()) + ")");
    }
  }
  const std::vector<mg::Neighbour> nb = mg::query_index(index, latent, query_images, k);
  for (size_t i = 0; i < nb.size(); ++i) {
    if (rs.rows) rs.rows[i] = nb[i].row;
    if (rs.ids) rs.ids[i] = nb[i].id;
    if (rs.distances) rs.distances[i] = nb[i].distance;
    if (rs.ssim) rs.ssim[i] = static_cast<float>(nb[i].ssim);
    if (rs.sim_id) rs.sim_id[i] = nb[i].sim_id;
    if (rs.time_class) rs.time_class[i] = nb[i].time_class;
    if (rs.flags && nb[i].rank == 0) rs.flags[nb[i].query] = nb[i].flags;
  }
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
    const auto o = gml::capi::read_options(opts, gml_merger_simulate_options_default);
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
    cfg.seed = gml::capi::seed_for(c, o.seed);
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
    gml::capi::check_result_struct(report, "report");
    const auto o = gml::capi::read_options(opts, gml_merger_train_options_default);
    require(o.bucket_mb > 0 && std::isfinite(o.bucket_mb), "opts->bucket_mb must be positive");
    const std::string schedule = o.lr_schedule ? o.lr_schedule : "constant";
    require(schedule == "constant" || schedule == "cosine",
            "opts->lr_schedule must be \"constant\" or \"cosine\", got \"" + schedule + "\"");
    require(o.n_validation_cameras >= 0 && (o.n_validation_cameras == 0 || o.validation_cameras),
            "opts->validation_cameras must hold n_validation_cameras entries");

    gml::runs::MergerTrainRunOptions ro;
    ro.backbone = o.backbone ? o.backbone : "resnet18";
    ro.latent_dim = o.latent_dim;
    ro.regress_time = o.regress_time != 0;
    ro.fcae = o.fcae != 0;
    ro.nan_policy = o.nan_policy ? o.nan_policy : "reject";
    mg::MergerTrainOptions& to = ro.train;
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
    to.seed = gml::capi::seed_for(c, o.seed);
    to.bucket_bytes = static_cast<size_t>(o.bucket_mb * 1024.0 * 1024.0);
    if (o.n_validation_cameras > 0) {
      ro.validation_cameras.assign(o.validation_cameras,
                                   o.validation_cameras + o.n_validation_cameras);
    }
    ro.command = o.command ? o.command : "";
    const gml::runs::MergerTrainRun run =
        gml::runs::run_merger_training(data_path, ro, model_path, *c.backend, &c.control, c.device);
    const mg::MergerTrainReport& r = run.report;

    if (report) {
      gml_merger_train_report out{};
      out.struct_size = sizeof out;
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
      out.wait_seconds = r.wait_seconds;
      gml::capi::write_result(report, out);
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
    const gml_model& m = gml::capi::require_model(c, model, "merger");
    const gml_merger_classify_request rq{sizeof rq, images, n, channels, height, width, resize};
    const gml_merger_classify_result rs{sizeof rs,  probs,    kUnchecked, classes,
                                        kUnchecked, time_myr, kUnchecked, latent,
                                        kUnchecked, flags,    kUnchecked};
    classify_into(c, m, rq, rs);
  });
}

GML_API gml_status gml_merger_classify_batch(gml_context* ctx, const gml_model* model,
                                             const gml_merger_classify_request* request,
                                             gml_merger_classify_result* result) {
  return guard("gml_merger_classify_batch", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "merger");
    classify_into(c, m, gml::capi::read_request(request, "request"),
                  gml::capi::read_request(result, "result"));
  });
}

GML_API gml_status gml_merger_encode(gml_context* ctx, const gml_model* model, const float* images,
                                     int64_t n, int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, float* latent, int32_t* flags) {
  return guard("gml_merger_encode", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "merger");
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
    const gml_model& m = gml::capi::require_model(c, model, "merger");
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
    const gml_model& m = gml::capi::require_model(c, model, "merger");
    require(images != nullptr, "images must not be NULL");
    gml_merger_search_request rq{};
    rq.struct_size = sizeof rq;
    rq.index_path = index_path;
    rq.images = images;
    rq.n = n;
    rq.channels = channels;
    rq.height = height;
    rq.width = width;
    rq.resize = resize;
    rq.k = k;
    const gml_merger_search_result rs{sizeof rs,  rows,       kUnchecked, ids,        kUnchecked,
                                      distances,  kUnchecked, ssim,       kUnchecked, sim_id,
                                      kUnchecked, time_class, kUnchecked, nullptr,    0};
    search_into(c, m, rq, rs);
  });
}

GML_API gml_status gml_merger_search_batch(gml_context* ctx, const gml_model* model,
                                           const gml_merger_search_request* request,
                                           gml_merger_search_result* result) {
  return guard("gml_merger_search_batch", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "merger");
    search_into(c, m, gml::capi::read_request(request, "request"),
                gml::capi::read_request(result, "result"));
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
