/*
 * galaxyml/flow.h — the flow family (GalacticFlow): conditional normalizing flows of stars.
 *
 * Part of the galaxyml C ABI. galaxyml/galaxyml.h includes it, and it may be
 * included alone: it includes galaxyml/galaxyml.h, whose conventions (status,
 * memory, strings, arrays, options, seeds, devices, threads, handles) hold
 * for every function here.
 */
#ifndef GALAXYML_FLOW_H
#define GALAXYML_FLOW_H

#include "galaxyml/galaxyml.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A flow model learns p(stars | galaxy): the distribution of per-star data
 * (default 10 columns: x, y, z [kpc], vx, vy, vz [km/s], Z [mass fraction],
 * [Fe/H], [O/Fe] [dex], age [Gyr]) given galaxy conditions (default 4:
 * log10 M* [Msun], tau50, tau10 [Gyr], mean Z). It samples stars of any galaxy
 * and evaluates exact densities in the user's units.
 *
 * Star tables (training input, sample output) are HDF5 or FITS files; see
 * docs/flow.md for the layout. gml_flow_simulate() writes one from the
 * built-in synthetic galaxy generator.
 */

/**
 * Dimensions of a flow model.
 * Returned: data_dim (columns per star), condition_dim (conditions per
 *           galaxy); either may be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT (model NULL), GML_ERR_FAMILY.
 */
GML_API gml_status gml_flow_dims(const gml_model* model, int64_t* data_dim, int64_t* condition_dim);

/**
 * Column names and training range of a flow model as JSON:
 * {"data": [...], "conditions": [...], "condition_min": [...],
 *  "condition_max": [...]}. Strings-out convention.
 */
GML_API gml_status gml_flow_describe(const gml_model* model, char* buf, size_t capacity,
                                     size_t* length);

/**
 * Draws stars of one or more galaxies.
 * Given:    ctx (device, progress, cancel); model (family "flow");
 *           conditions  [n_galaxies, condition_dim] float64;
 *           n_galaxies >= 1; n_per_galaxy >= 0 stars per galaxy;
 *           seed  0: the context's seed; the same seed gives the same
 *                 stars on every device;
 *           capacity  elements available in stars.
 * Returned: stars  [n_galaxies * n_per_galaxy, data_dim] float32, galaxy
 *                  by galaxy, in the user's units;
 *           outside  [n_galaxies] (may be NULL): how far each galaxy's
 *                  conditions lie outside the training range, in units of
 *                  that range (0 inside). Values > 0 are also logged as a
 *                  warning: the model extrapolates there.
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, n < 0, non-finite conditions),
 *           GML_ERR_CAPACITY, GML_ERR_FAMILY, GML_ERR_CANCELLED.
 * Memory:   work is done in chunks of 65,536 stars written straight into
 *           stars; peak memory beyond the caller's buffer does not grow
 *           with n. The exception to the Status convention that follows:
 *           when the call fails or is cancelled after sampling began, the
 *           start of stars may already hold draws (outside is untouched).
 */
GML_API gml_status gml_flow_sample(gml_context* ctx, const gml_model* model,
                                   const double* conditions, int64_t n_galaxies,
                                   int64_t n_per_galaxy, uint64_t seed, float* stars,
                                   size_t capacity, double* outside);

/**
 * As gml_flow_sample(), streamed to a file instead of a buffer, for sample
 * sizes beyond memory. The format follows the extension, in any letter
 * case: .h5/.hdf5/.he5 (chunked, compressed datasets) or .fits/.fit/.fts
 * (binary table with TUNIT and provenance keywords); any other extension is
 * GML_ERR_INVALID_ARGUMENT. Written atomically: on any error no file is left.
 * Given:    path  output file.
 * Errors:   as gml_flow_sample(), plus GML_ERR_IO, GML_ERR_FITS.
 */
GML_API gml_status gml_flow_sample_to_file(gml_context* ctx, const gml_model* model,
                                           const double* conditions, int64_t n_galaxies,
                                           int64_t n_per_galaxy, uint64_t seed, const char* path);

/**
 * Log density log p(star | galaxy) in the user's units (every normalising
 * transform's Jacobian included).
 * Given:    stars  [n, data_dim] float32; n >= 0;
 *           conditions  [n_conditions, condition_dim] float64, with
 *           n_conditions 1 (one galaxy for all stars) or n (one per star).
 * Returned: log_prob  [n] float64; -inf where a star lies outside the
 *           model's support (e.g. a non-positive value in a log10 column).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, wrong n_conditions, NaN or Inf
 *           in stars or conditions: the message names the first bad row),
 *           GML_ERR_FAMILY, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_flow_log_prob(gml_context* ctx, const gml_model* model, const float* stars,
                                     int64_t n, const double* conditions, int64_t n_conditions,
                                     double* log_prob);

typedef struct gml_flow_train_options {
  uint32_t struct_size;        /**< sizeof(gml_flow_train_options) */
  int64_t steps;               /**< optimiser steps; default 20000 */
  int64_t batch_size;          /**< default 1024 */
  double learning_rate;        /**< initial; default 9e-5 (decays 0.998 per
                                    10 steps, per 120 below 3e-6) */
  int64_t validation_galaxies; /**< held out whole; 0: 10% */
  int64_t eval_every;          /**< steps between validations; default 250 */
  const char* checkpoint_path; /**< NULL: none */
  int64_t checkpoint_every;    /**< default 1000 */
  int32_t resume;              /**< non-zero: continue from checkpoint_path */
  /** JSON object overriding architecture fields (num_blocks, num_bins,
      tail_bound, hidden_width, hidden_layers, log_columns, ...); NULL for
      the GalacticFlow defaults. */
  const char* config_json;
  uint64_t seed;                /**< initialisation, split and batches;
                                     0: the context's seed */
  int64_t max_stars_per_galaxy; /**< subsample big galaxies; 0: all */
} gml_flow_train_options;

/** Fills opts with the GalacticFlow defaults. NULL is ignored. */
GML_API void gml_flow_train_options_default(gml_flow_train_options* opts);

/**
 * Trains a flow on a star table and writes the model file.
 * Given:    ctx (device, progress with loss/learning rate/stars per second,
 *           cancel); stars_path  star table (docs/flow.md); opts (NULL:
 *           defaults); model_path  output model file (written atomically).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FITS, GML_ERR_CANCELLED (the last checkpoint, if any,
 *           stays usable for resume).
 */
GML_API gml_status gml_flow_train(gml_context* ctx, const char* stars_path,
                                  const gml_flow_train_options* opts, const char* model_path);

/**
 * Reads the stars and conditions of one galaxy of a star table.
 * Given:    path  star table; galaxy_id  its galaxy id;
 *           capacity  floats available in stars;
 *           conditions_capacity  doubles available in conditions.
 * Returned: n_stars, data_dim (always, when not NULL);
 *           stars  [n_stars, data_dim] float32 (pass NULL with capacity 0
 *                  to query the sizes first);
 *           conditions  [condition_dim] float64 (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FITS, GML_ERR_NOT_FOUND (no such galaxy),
 *           GML_ERR_CAPACITY.
 */
GML_API gml_status gml_flow_read_galaxy(const char* path, int64_t galaxy_id, float* stars,
                                        size_t capacity, int64_t* n_stars, int64_t* data_dim,
                                        double* conditions, size_t conditions_capacity);

/**
 * GalacticFlow's evaluation: generates n_samples stars for the conditions of
 * galaxy `galaxy_id` of a star table, and measures the maximum mean
 * discrepancy (linear-time MMD^2, multi-scale Gaussian kernel, in the
 * model's z-scored units) between them and the stars of every galaxy of the
 * table. A good model gives its smallest MMD at delta_log_mass = 0, growing
 * with |delta_log_mass|.
 * Given:    ctx; model ("flow"); stars_path; galaxy_id; n_samples >= 2;
 *           seed (0: the context's); capacity  entries available in each
 *           output array.
 * Returned: n_galaxies  galaxies in the table (always, when not NULL);
 *           galaxy_ids, delta_log_mass (first condition minus the
 *           reference's), mmd: [n_galaxies] each. Pass NULL with capacity 0
 *           to query n_galaxies.
 * Errors:   as gml_flow_read_galaxy(), plus GML_ERR_FAMILY,
 *           GML_ERR_CANCELLED.
 */
GML_API gml_status gml_flow_evaluate(gml_context* ctx, const gml_model* model,
                                     const char* stars_path, int64_t galaxy_id, int64_t n_samples,
                                     uint64_t seed, int64_t* galaxy_ids, double* delta_log_mass,
                                     double* mmd, size_t capacity, int64_t* n_galaxies);

/**
 * Writes a star table of synthetic galaxies from the built-in generator
 * (exponential disk + Plummer bulge with rotation and dispersion,
 * age-metallicity and [O/Fe]-[Fe/H] relations; docs/flow_generator.md).
 * Given:    ctx (progress, cancel); seed (0: the context's); n_galaxies >= 1;
 *           n_stars >= 1 per galaxy; conditions [n_galaxies, 4] float64 or
 *           NULL to draw plausible random galaxies; path (.h5 or .fits).
 * Errors:   GML_ERR_INVALID_ARGUMENT (also conditions outside the
 *           generator's domain, or a path whose extension is neither
 *           FITS nor HDF5, as gml_flow_sample_to_file()), GML_ERR_IO,
 *           GML_ERR_FITS, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_flow_simulate(gml_context* ctx, int64_t n_galaxies, int64_t n_stars,
                                     const double* conditions, uint64_t seed, const char* path);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GALAXYML_FLOW_H */
