// C entry points of the merger family (DeepGalaxy).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "capi/src/arrays.h"
#include "capi/src/model_call.h"
#include "runs/merger/merger_runs.h"

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

using gml::capi::kUnchecked;
using gml::capi::require_capacity;

void classify_into(gml_context& c, const gml_model& m, const gml_merger_classify_request& rq,
                   const gml_merger_classify_result& rs) {
  auto& merger = gml::capi::loaded_as<mg::LoadedMerger>(m);
  const at::Tensor raw =
      gml::capi::caller_images(rq.images, rq.n, rq.channels, rq.height, rq.width);
  const mg::MergerConfig& cfg = merger.net->config();
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
  mg::MergerPredictions p = mg::predict_merger(merger.net, raw, req, &c.control, "classify");
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
  auto& merger = gml::capi::loaded_as<mg::LoadedMerger>(m);
  const mg::MergerConfig& cfg = merger.net->config();
  require(cfg.latent_dim > 0, "this model has no VAE, so it cannot search an index");
  at::Tensor images, latents;
  if (rq.images) {
    images = gml::capi::caller_images(rq.images, rq.n, rq.channels, rq.height, rq.width);
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
  if (rq.latents) {
    latents =
        at::from_blob(const_cast<float*>(rq.latents), {rq.n, rq.latent_dim}, at::kFloat).clone();
    gml::capi::require_finite_rows(latents, "latents", "query");
  }
  const std::vector<mg::Neighbour> nb = gml::runs::search_latent_index(
      merger, index, images, latents, k, rq.resize != 0, rs.ssim != nullptr, &c.control);
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

using gml::capi::batch_call;
using gml::capi::guard;
using gml::capi::model_call;

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
    const int64_t n = gml::runs::run_merger_simulation(cfg, out_path, &c.control);
    if (n_images) *n_images = n;
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
    const mg::MergerConfig& cfg = gml::capi::loaded_as<mg::LoadedMerger>(m).net->config();
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
  return model_call(
      "gml_merger_classify", ctx, model, "merger", [&](gml_context& c, const gml_model& m) {
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
  return batch_call("gml_merger_classify_batch", ctx, model, "merger", request, result,
                    classify_into);
}

GML_API gml_status gml_merger_encode(gml_context* ctx, const gml_model* model, const float* images,
                                     int64_t n, int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, float* latent, int32_t* flags) {
  return model_call(
      "gml_merger_encode", ctx, model, "merger", [&](gml_context& c, const gml_model& m) {
        require(latent != nullptr, "latent must not be NULL");
        const at::Tensor raw = gml::capi::caller_images(images, n, channels, height, width);
        mg::PredictRequest req;
        req.classes = false;
        req.latent = true;
        req.resize = resize != 0;
        const mg::MergerPredictions p = mg::predict_merger(
            gml::capi::loaded_as<mg::LoadedMerger>(m).net, raw, req, &c.control, "encode");
        gml::capi::copy_out(p.latent, latent);
        if (flags) std::memcpy(flags, p.flags.data(), sizeof(int32_t) * n);
      });
}

GML_API gml_status gml_merger_index_build(gml_context* ctx, const gml_model* model,
                                          const char* images_path, int32_t resize,
                                          const char* index_path, int64_t* n_indexed) {
  return model_call(
      "gml_merger_index_build", ctx, model, "merger", [&](gml_context& c, const gml_model& m) {
        require(images_path != nullptr && *images_path, "images_path must not be NULL or empty");
        require(index_path != nullptr && *index_path, "index_path must not be NULL or empty");
        gml::runs::LatentIndexRunOptions o;
        o.resize = resize != 0;
        o.model_path = m.path;
        o.model_checksum = m.checksum;
        const int64_t n = gml::runs::build_latent_index(gml::capi::loaded_as<mg::LoadedMerger>(m),
                                                        images_path, o, index_path, &c.control);
        if (n_indexed) *n_indexed = n;
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
  return model_call(
      "gml_merger_search", ctx, model, "merger", [&](gml_context& c, const gml_model& m) {
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
        const gml_merger_search_result rs{
            sizeof rs,  rows,   kUnchecked, ids,        kUnchecked, distances, kUnchecked, ssim,
            kUnchecked, sim_id, kUnchecked, time_class, kUnchecked, nullptr,   0};
        search_into(c, m, rq, rs);
      });
}

GML_API gml_status gml_merger_search_batch(gml_context* ctx, const gml_model* model,
                                           const gml_merger_search_request* request,
                                           gml_merger_search_result* result) {
  return batch_call("gml_merger_search_batch", ctx, model, "merger", request, result, search_into);
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
    const mg::SpectralResult r =
        gml::runs::cluster_latent_index(index, n_clusters, n_neighbours, c.seed, c.device);
    gml::capi::copy_out(r.labels, labels);
    gml::capi::copy_out(r.eigenvalues, eigenvalues);
  });
}

}  // extern "C"
