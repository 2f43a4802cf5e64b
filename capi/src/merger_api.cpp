// C entry points of the merger family (DeepGalaxy).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "capi/src/arrays.h"
#include "capi/src/model_call.h"
#include "capi/src/options.h"
#include "runs/merger/merger_runs.h"

namespace {

using gml::require;
namespace mg = gml::merger;

// The C flags are the core's ImageFlag bits, copied through unchanged.
static_assert(gml::capi::values_agree({GML_MERGER_FLAG_NAN_MASKED, GML_MERGER_FLAG_RESIZED,
                                       GML_MERGER_FLAG_BLANK, GML_MERGER_FLAG_TIME_OUTSIDE,
                                       GML_MERGER_FLAG_OUT_OF_DISTRIBUTION},
                                      {mg::kImageNanMasked, mg::kImageResized, mg::kImageBlank,
                                       mg::kImageTimeOutsideRange, mg::kImageOutOfDistribution}));

// gml_merger_simulate_options fields that are MergerSimConfig fields.
// clang-format off
#define GML_MERGER_SIM_FIELDS(X) \
  X(sims_per_ratio, sims_per_ratio) X(n_time_classes, n_time_classes) \
  X(n_cameras, n_cameras) X(image_size, image_size) X(particles_per_disk, particles_per_disk) \
  X(fov_kpc, fov_kpc) X(psf_fwhm_pix, psf_fwhm_pix) X(noise_sigma, noise_sigma) \
  X(t_end_myr, t_end_myr) X(dt_myr, dt_myr)
// clang-format on
constexpr auto kMergerSimFields = GML_FIELD_LINKS(GML_MERGER_SIM_FIELDS);
// gml_merger_train_options fields that are MergerTrainOptions fields.
// clang-format off
#define GML_MERGER_TRAIN_FIELDS(X) \
  X(lr, lr) X(batch_size, batch_size) X(micro_batches, micro_batches) \
  X(max_epochs, max_epochs) X(max_steps, max_steps) X(patience, patience) \
  X(w_class, w_class) X(w_time, w_time) X(w_fcae, w_fcae) X(w_vae, w_vae) \
  X(vae_beta, vae_beta) X(augment, augment) X(resume, resume)
// clang-format on
constexpr auto kMergerTrainFields = GML_FIELD_LINKS(GML_MERGER_TRAIN_FIELDS);
// gml_merger_train_report fields from MergerTrainReport.
// clang-format off
#define GML_MERGER_TRAIN_REPORT_FIELDS(X) \
  X(epochs, epochs) X(steps, steps) X(best_epoch, best_epoch) \
  X(train_images, train_images) X(validation_images, validation_images) \
  X(world_size, world_size) X(stopped_early, stopped_early) \
  X(validation_loss, best_validation.loss) X(validation_accuracy, best_validation.accuracy) \
  X(validation_within3, best_validation.within3) \
  X(validation_time_mae_myr, best_validation.time_mae_myr) X(images_per_s, images_per_s) \
  X(step_seconds, step_seconds) X(allreduce_seconds, allreduce_seconds) \
  X(allreduce_calls, allreduce_calls) X(buckets_per_step, buckets_per_step) \
  X(wait_seconds, wait_seconds)
// clang-format on
constexpr auto kMergerTrainReportFields = GML_FIELD_LINKS(GML_MERGER_TRAIN_REPORT_FIELDS);

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
  const mg::LatentIndex index = mg::read_latent_index(rq.index_path, m.checksum());
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
  if (!gml::capi::start_defaults(opts)) return;
  gml::capi::publish_fields(kMergerSimFields, *opts, mg::MergerSimConfig{});
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
    gml::capi::receive_fields(kMergerSimFields, o, cfg);
    cfg.profile = o.profile ? o.profile : "hernquist";
    cfg.seed = gml::capi::seed_for(c, o.seed);
    cfg.n_threads = o.n_threads > 0 ? o.n_threads : std::max(1, gml_num_threads());
    const int64_t n = gml::runs::run_merger_simulation(cfg, out_path, &c.control);
    if (n_images) *n_images = n;
  });
}

GML_API void gml_merger_train_options_default(gml_merger_train_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  gml::capi::publish_fields(kMergerTrainFields, *opts, mg::MergerTrainOptions{});
  opts->backbone = "resnet18";
  opts->latent_dim = mg::MergerConfig{}.latent_dim;
  opts->regress_time = 1;
  opts->fcae = 1;
  opts->nan_policy = "reject";
  opts->optimizer = "adam";
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
    gml::capi::receive_fields(kMergerTrainFields, o, to);
    to.lr_schedule = schedule;
    to.checkpoint_path = o.checkpoint_path ? o.checkpoint_path : "";
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
      gml::capi::publish_fields(kMergerTrainReportFields, out, r);
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
        o.model_checksum = m.checksum();
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
