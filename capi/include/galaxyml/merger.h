/*
 * galaxyml/merger.h — the merger family (DeepGalaxy): merger stage, latent search, clustering.
 *
 * Part of the galaxyml C ABI. galaxyml/galaxyml.h includes it, and it may be
 * included alone: it includes galaxyml/galaxyml.h, whose conventions (status,
 * memory, strings, arrays, options, seeds, devices, threads, handles) hold
 * for every function here.
 */
#ifndef GALAXYML_MERGER_H
#define GALAXYML_MERGER_H

#include "galaxyml/galaxyml.h"

#ifdef __cplusplus
extern "C" {
#endif
/*
 * A merger model (family "merger") maps an image (n_bands x S x S) to the
 * dynamical stage of a galaxy merger: probabilities of n_classes time classes
 * ("far apart" .. "fully virialised"), a predicted time in Myr, and a latent
 * vector (the VAE mean) for similarity search. Models are trained on the
 * built-in restricted N-body merger simulator (docs/merger_simulator.md) or
 * on any file of the same layout. Images go through the same per-image
 * normalisation in training and inference (docs/merger.md), so simulated
 * surface densities and survey fluxes of any zero point are both accepted.
 */

/** Bits of the per-image flags of gml_merger_classify() and friends. */
enum {
  GML_MERGER_FLAG_NAN_MASKED = 1, /**< NaN pixels set to 0 (NaN policy "mask") */
  GML_MERGER_FLAG_RESIZED = 2,    /**< resampled to the model's size on request */
  GML_MERGER_FLAG_BLANK = 4,      /**< no finite or no varying pixel: outputs meaningless */
  /** The regressed time lies outside the simulated span [0, time_max]: the
      image is unlike the training images (the value is returned unclipped).
      Only models with the linear time head of earlier versions can give
      such times; current models bound the time to the span. */
  GML_MERGER_FLAG_TIME_OUTSIDE = 8,
  /** From a search (gml_merger_search_batch() flags): the image's nearest
      index entry is more than 2 times the index's own neighbour spacing
      away (the 95th percentile of its entries' distances to their nearest
      other entry, stored in the index when it is built): the model has
      seen nothing like the image, so its class and time mean little. */
  GML_MERGER_FLAG_OUT_OF_DISTRIBUTION = 16
};

typedef struct gml_merger_simulate_options {
  uint32_t struct_size; /**< sizeof(gml_merger_simulate_options) */
  /** Mass ratios q = M2 / M1; NULL (default) = 1/4, 1/3, 1/2, 1, 3/2.
      Borrowed during the call. */
  const double* mass_ratios;
  int32_t n_mass_ratios;      /**< entries of mass_ratios; 0 with NULL */
  int32_t sims_per_ratio;     /**< random orbits per ratio; default 4 */
  int32_t n_time_classes;     /**< snapshots = classes; default 71 */
  int32_t n_cameras;          /**< 1..14 viewing directions; default 14 */
  int32_t image_size;         /**< pixels per side; default 64 */
  int32_t particles_per_disk; /**< test particles per disk; default 4000 */
  double fov_kpc;             /**< field of view; default 128 */
  double psf_fwhm_pix;        /**< Gaussian PSF FWHM; default 1.5 */
  double noise_sigma;         /**< noise after the stretch; default 0.02 */
  double t_end_myr;           /**< time of the last snapshot; default 3000 */
  double dt_myr;              /**< largest leapfrog step; default 1 */
  /** "hernquist" (default) or "plummer". Borrowed during the call. */
  const char* profile;
  /** Seed; 0 (default) takes the context's seed. */
  uint64_t seed;
  /** Worker threads, 0..GML_MAX_THREADS; 0 (default) = the process's
      thread count. */
  int32_t n_threads;
} gml_merger_simulate_options;

/** Fills opts with the defaults above. NULL is ignored. */
GML_API void gml_merger_simulate_options_default(gml_merger_simulate_options* opts);

/**
 * Runs the merger simulator and writes its images and labels: a FITS file
 * with the float32 cube (numpy shape (N, 1, S, S)) in the primary HDU and a
 * 'LABELS' table (SIM_ID, TIME_CLASS, TIME [Myr], CAMERA, MASS_RATIO, orbit
 * parameters), one row per image. The file appears atomically.
 * Given:    ctx       progress ("simulate", simulations) and cancellation.
 *           opts      NULL for defaults.
 *           out_path  FITS file to create (replaced if it exists).
 * Returned: n_images  images written (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT  ctx or out_path NULL; a bad option
 *                                     (the message names it).
 *           GML_ERR_FITS / GML_ERR_IO the file cannot be written.
 *           GML_ERR_CANCELLED         cancelled; no file is left.
 */
GML_API gml_status gml_merger_simulate(gml_context* ctx, const gml_merger_simulate_options* opts,
                                       const char* out_path, int64_t* n_images);

typedef struct gml_merger_train_options {
  uint32_t struct_size; /**< sizeof(gml_merger_train_options) */
  /** Encoder: "resnet18" (default), "resnet34", "resnet50",
      "efficientnet_b0" .. "efficientnet_b4". Borrowed. */
  const char* backbone;
  int64_t latent_dim;   /**< VAE latent size; default 16; 0 = no VAE */
  int32_t regress_time; /**< non-zero (default): a head regresses the time */
  int32_t fcae;         /**< non-zero (default): train the FCAE decoder */
  /** "reject" (default: NaN pixels are an error) or "mask". Borrowed. */
  const char* nan_policy;
  /** "adam" (default) or "adadelta". Borrowed. */
  const char* optimizer;
  double lr;                             /**< default 1e-3 (use about 1.0 with adadelta) */
  int64_t batch_size;                    /**< images per rank and micro-batch; default 32 */
  int64_t micro_batches;                 /**< micro-batches per rank per step; default 1 */
  int64_t max_epochs;                    /**< default 20 */
  int64_t max_steps;                     /**< 0 (default): no limit */
  int64_t patience;                      /**< early stopping, epochs; default 5 */
  double w_class, w_time, w_fcae, w_vae; /**< loss weights; default 1 each */
  double vae_beta;                       /**< KL weight; default 1 */
  int32_t augment;                       /**< non-zero (default): random flips and quarter turns */
  /** Cameras whose images form the validation set: NULL (default) = the last
      two cameras of the file. Borrowed. */
  const int32_t* validation_cameras;
  int32_t n_validation_cameras;
  /** Checkpoint written (by rank 0) after every epoch; NULL = none. */
  const char* checkpoint_path;
  int32_t resume;   /**< non-zero: continue from checkpoint_path if present */
  uint64_t seed;    /**< 0 (default): the context's seed */
  double bucket_mb; /**< fused allreduce bucket size, MiB; default 25 */
  /** Recorded in the model file's provenance (e.g. the command line); may
      be NULL. */
  const char* command;
  /** "constant" (default) or "cosine": the rate at step s of the S planned
      steps (max_steps, else max_epochs x steps per epoch) is
      lr (1 + cos(pi s / S)) / 2; a resumed run continues the curve.
      Borrowed. Callers built before this field get "constant". */
  const char* lr_schedule;
} gml_merger_train_options;

/** Fills opts with the defaults above. NULL is ignored. */
GML_API void gml_merger_train_options_default(gml_merger_train_options* opts);

/** Figures of a training run. */
typedef struct gml_merger_train_report {
  uint32_t struct_size; /**< set by the caller to sizeof(gml_merger_train_report) */
  int64_t epochs, steps, best_epoch;
  int64_t train_images, validation_images;
  int32_t world_size;         /**< ranks that trained together */
  int32_t stopped_early;      /**< non-zero when patience ran out */
  double validation_loss;     /**< of the kept (best) weights */
  double validation_accuracy; /**< exact class */
  double validation_within3;  /**< class within 3 of the truth */
  double validation_time_mae_myr;
  double images_per_s;      /**< all ranks together */
  double step_seconds;      /**< mean wall time of a step */
  double allreduce_seconds; /**< of which inside allreduce, per step */
  int64_t allreduce_calls;  /**< in all */
  int64_t buckets_per_step; /**< allreduce calls per step */
  /** Per step, of step_seconds: waiting for the slowest rank before the
      reduction starts (load imbalance; not part of allreduce_seconds).
      Written only when struct_size covers it. */
  double wait_seconds;
} gml_merger_train_report;

/**
 * Trains a merger model on a simulator file (gml_merger_simulate()'s layout)
 * and writes it. With a context whose backend is "mpi" (mpirun -np N), every
 * rank must make the same call: training is data-parallel (rank 0's initial
 * weights broadcast, each rank a share of every global batch, gradients
 * averaged in fused buckets) and only rank 0 writes files. A rank that fails
 * makes every rank return GML_ERR_BACKEND.
 * Given:    ctx          device, seed, backend, progress ("train", images).
 *           data_path    FITS file of images and LABELS.
 *           opts         NULL for defaults.
 *           model_path   model file to write (rank 0).
 * Returned: report       figures of the run (may be NULL); its struct_size
 *                        must be set.
 * Errors:   GML_ERR_INVALID_ARGUMENT  NULL ctx/paths, bad options, more
 *                                     ranks than training images.
 *           GML_ERR_FITS / GML_ERR_FORMAT  the data file is unreadable or not
 *                                     a merger image file.
 *           GML_ERR_IO                the model cannot be written.
 *           GML_ERR_BACKEND           another rank failed.
 *           GML_ERR_CANCELLED         cancelled; the last checkpoint stays.
 */
GML_API gml_status gml_merger_train(gml_context* ctx, const char* data_path,
                                    const gml_merger_train_options* opts, const char* model_path,
                                    gml_merger_train_report* report);

/**
 * Shape of a merger model's inputs and outputs.
 * Returned: in_channels, image_size, n_classes, latent_dim (each may be
 *           NULL). latent_dim is 0 for a model without VAE.
 * Errors:   GML_ERR_INVALID_ARGUMENT  model NULL; GML_ERR_FAMILY  not a
 *           merger model.
 */
GML_API gml_status gml_merger_dims(const gml_model* model, int64_t* in_channels,
                                   int64_t* image_size, int64_t* n_classes, int64_t* latent_dim);

/**
 * Classifies images given in a caller buffer, in batches, under inference
 * mode on the model's device.
 * Given:    ctx; model (family "merger").
 *           images    [n, channels, height, width] float32; channels must be
 *                     the model's; height and width the model's unless
 *                     resize is non-zero (then resampled; flagged).
 *           n >= 1.
 * Returned: probs     [n, n_classes] class probabilities (may be NULL).
 *           classes   [n] most probable class (may be NULL).
 *           time_myr  [n] predicted time (may be NULL).
 *           latent    [n, latent_dim] VAE mean (may be NULL; must be NULL
 *                     for a model without VAE).
 *           flags     [n] GML_MERGER_FLAG_* bits (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT  NULL ctx/model/images, n < 1, wrong
 *                                     band count, wrong size without resize,
 *                                     NaN pixels under the "reject" policy
 *                                     (the message names the image).
 *           GML_ERR_FAMILY            not a merger model.
 *           GML_ERR_CANCELLED         cancelled; outputs partly written.
 */
GML_API gml_status gml_merger_classify(gml_context* ctx, const gml_model* model,
                                       const float* images, int64_t n, int64_t channels,
                                       int64_t height, int64_t width, int32_t resize, float* probs,
                                       int32_t* classes, float* time_myr, float* latent,
                                       int32_t* flags);

/**
 * Encodes images to the search latent (the VAE mean) only; cheaper than
 * gml_merger_classify(). Arguments and errors as there; the model must
 * have a VAE (latent_dim > 0), else GML_ERR_INVALID_ARGUMENT.
 * Returned: latent [n, latent_dim]; flags [n] (may be NULL).
 */
GML_API gml_status gml_merger_encode(gml_context* ctx, const gml_model* model, const float* images,
                                     int64_t n, int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, float* latent, int32_t* flags);

/**
 * Builds a latent index: every image of images_path encoded by model, with
 * a thumbnail (for SSIM and neighbour plots), its labels when the file is a
 * simulator file (SIM_ID, TIME_CLASS) and the model's checksum. Images come
 * from a simulator file or a cutout cube (gml_cutouts_write() with
 * GML_CUTOUT_LAYOUT_CUBE).
 * Given:    ctx (progress "index", images); model; images_path; resize as
 *           in gml_merger_classify(); index_path (written atomically).
 * Returned: n_indexed  images in the index (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_FAMILY, GML_ERR_FITS,
 *           GML_ERR_FORMAT, GML_ERR_IO, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_merger_index_build(gml_context* ctx, const gml_model* model,
                                          const char* images_path, int32_t resize,
                                          const char* index_path, int64_t* n_indexed);

/**
 * Size of an index file.
 * Returned: n_entries, latent_dim (each may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL path), GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FAMILY (not an index), GML_ERR_CHECKSUM.
 */
GML_API gml_status gml_merger_index_info(const char* index_path, int64_t* n_entries,
                                         int64_t* latent_dim);

/**
 * The k nearest index entries (exact L2 in the latent, nearest first) of
 * each query image, with the SSIM between the query and each neighbour's
 * thumbnail.
 * Given:    ctx; model (must be the model that built the index);
 *           index_path; images, n, channels, height, width, resize as in
 *           gml_merger_classify(); k in [1, entries].
 * Returned: rows       [n, k] index rows (may be NULL).
 *           ids        [n, k] entry ids (may be NULL).
 *           distances  [n, k] latent distances (may be NULL).
 *           ssim       [n, k] (may be NULL).
 *           sim_id, time_class [n, k] labels of the entries, -1 when
 *                      unknown (each may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT  as gml_merger_classify(); k out of
 *                                     range; an index built with a
 *                                     different model (the message gives
 *                                     both checksums).
 *           GML_ERR_FAMILY            model not a merger model, or the file
 *                                     not an index.
 *           GML_ERR_IO, GML_ERR_FORMAT, GML_ERR_CHECKSUM  index file.
 */
GML_API gml_status gml_merger_search(gml_context* ctx, const gml_model* model,
                                     const char* index_path, const float* images, int64_t n,
                                     int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, int64_t k, int64_t* rows, int64_t* ids,
                                     float* distances, float* ssim, int32_t* sim_id,
                                     int32_t* time_class);

/**
 * Spectral clustering of an index's latents: kNN graph with self-tuning
 * Gaussian weights, normalised Laplacian, its n_clusters smallest
 * eigenvectors, k-means (docs/merger.md).
 * Given:    ctx (seed of k-means); index_path; n_clusters >= 2;
 *           n_neighbours >= 1 (graph degree, e.g. 10; a value beyond
 *           entries - 1 connects every entry to all others); capacity =
 *           entries of labels.
 * Returned: labels [entries] cluster of each index entry, 0-based.
 *           eigenvalues [n_clusters] smallest Laplacian eigenvalues (may be
 *           NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_CAPACITY (capacity <
 *           entries), GML_ERR_IO, GML_ERR_FORMAT, GML_ERR_FAMILY.
 */
GML_API gml_status gml_merger_cluster(gml_context* ctx, const char* index_path, int64_t n_clusters,
                                      int64_t n_neighbours, int64_t* labels, size_t capacity,
                                      double* eigenvalues);

/* Request/result forms. A request says what to compute, a result where to
   put it, each array with its capacity in elements, checked before any work
   (GML_ERR_CAPACITY). Zero-initialise both and set struct_size = sizeof:
   fields added later are appended, and their zero means the earlier
   behaviour. The positional functions above are kept and call these. */

/** Images in a caller buffer, as gml_merger_classify() takes them. */
typedef struct gml_merger_classify_request {
  uint32_t struct_size; /**< sizeof(gml_merger_classify_request) */
  const float* images;  /**< [n, channels, height, width] float32 */
  int64_t n;            /**< images, >= 1 */
  int64_t channels;     /**< the model's band count */
  int64_t height;       /**< the model's size unless resize */
  int64_t width;
  int32_t resize; /**< non-zero: resample to the model's size (flagged) */
} gml_merger_classify_request;

/** Where gml_merger_classify_batch() writes; any array may be NULL. */
typedef struct gml_merger_classify_result {
  uint32_t struct_size; /**< sizeof(gml_merger_classify_result) */
  float* probs;         /**< [n, n_classes] class probabilities */
  size_t probs_capacity;
  int32_t* classes; /**< [n] most probable class */
  size_t classes_capacity;
  float* time_myr; /**< [n] predicted time */
  size_t time_myr_capacity;
  float* latent; /**< [n, latent_dim] VAE mean; NULL for a model without VAE */
  size_t latent_capacity;
  int32_t* flags; /**< [n] GML_MERGER_FLAG_* bits */
  size_t flags_capacity;
} gml_merger_classify_result;

/**
 * gml_merger_classify() with explicit capacities.
 * Given:    ctx; model (family "merger"); request.
 * Returned: result's arrays (those not NULL).
 * Errors:   as gml_merger_classify(); GML_ERR_CAPACITY when an array's
 *           capacity is below its shape (nothing is computed or written).
 */
GML_API gml_status gml_merger_classify_batch(gml_context* ctx, const gml_model* model,
                                             const gml_merger_classify_request* request,
                                             gml_merger_classify_result* result);

/** A nearest-neighbour query of an index, by images or by latents. */
typedef struct gml_merger_search_request {
  uint32_t struct_size;   /**< sizeof(gml_merger_search_request) */
  const char* index_path; /**< built by gml_merger_index_build() with this model */
  /** Queries as images (as gml_merger_classify_request), or NULL when
      latents are given. */
  const float* images;
  int64_t n; /**< queries, >= 1 */
  int64_t channels;
  int64_t height;
  int64_t width;
  int32_t resize;
  /** Queries as latents [n, latent_dim] float32 (e.g. from
      gml_merger_classify_batch(), so that images are encoded once), or
      NULL when images are given. Exactly one of images and latents. */
  const float* latents;
  int64_t latent_dim; /**< with latents: the model's latent_dim */
  int64_t k;          /**< neighbours per query, in [1, entries] */
} gml_merger_search_request;

/** Where gml_merger_search_batch() writes, each [n, k] but flags [n]; any
    may be NULL. */
typedef struct gml_merger_search_result {
  uint32_t struct_size; /**< sizeof(gml_merger_search_result) */
  int64_t* rows;        /**< index rows */
  size_t rows_capacity;
  int64_t* ids; /**< entry ids */
  size_t ids_capacity;
  float* distances; /**< latent L2 distances, nearest first */
  size_t distances_capacity;
  /** SSIM between query and neighbour thumbnails; only for image queries
      (must be NULL with latents). */
  float* ssim;
  size_t ssim_capacity;
  int32_t* sim_id; /**< labels of the entries, -1 when unknown */
  size_t sim_id_capacity;
  int32_t* time_class;
  size_t time_class_capacity;
  /** [n] per query: GML_MERGER_FLAG_OUT_OF_DISTRIBUTION or 0 (appended
      after the first publication: a shorter struct has no flags). */
  int32_t* flags;
  size_t flags_capacity;
} gml_merger_search_result;

/**
 * gml_merger_search() with explicit capacities, and queries by latent.
 * Given:    ctx; model (the model that built the index); request.
 * Returned: result's arrays (those not NULL).
 * Errors:   as gml_merger_search(); GML_ERR_INVALID_ARGUMENT when both or
 *           neither of images and latents are given, latent_dim is not the
 *           model's, a latent is not finite, or ssim is asked for latent
 *           queries; GML_ERR_CAPACITY when an array's capacity is below
 *           n * k (flags: n).
 */
GML_API gml_status gml_merger_search_batch(gml_context* ctx, const gml_model* model,
                                           const gml_merger_search_request* request,
                                           gml_merger_search_result* result);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GALAXYML_MERGER_H */
