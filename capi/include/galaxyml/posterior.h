/*
 * galaxyml/posterior.h — the posterior family (SEDflow): amortized posteriors for whole catalogs.
 *
 * Part of the galaxyml C ABI. galaxyml/galaxyml.h includes it, and it may be
 * included alone: it includes galaxyml/galaxyml.h, whose conventions (status,
 * memory, strings, arrays, options, seeds, devices, threads, handles) hold
 * for every function here.
 */
#ifndef GALAXYML_POSTERIOR_H
#define GALAXYML_POSTERIOR_H

#include "galaxyml/galaxyml.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A posterior model learns q(theta | x) from simulations (theta, x): physical
 * parameters theta of a galaxy given its observation x. Once trained it
 * gives posterior samples for any observation without further simulation.
 * The built-in SED forward model (docs/sed_model.md) has theta = (log10 M*,
 * four Dirichlet stick-breaking fractions, tau_V, dust slope) and x =
 * (ugriz asinh magnitudes, their errors, redshift); hosts plug their own
 * forward model in through gml_simulator_fn. The workflow is
 * gml_posterior_simulate[_sed] -> gml_posterior_train -> gml_model_load ->
 * gml_posterior_sample / _summarize / _run_catalog; docs/posterior.md.
 */

/**
 * A host forward model: x for each theta.
 * Given:    theta  [n, theta_dim] float64, drawn from the box prior;
 *           n >= 1; user  the pointer passed with the callback.
 * Returned: x_out  [n, x_dim] float64.
 * Return 0 on success; anything else stops the generation (the rows of
 * earlier batches stay in the file). Called on the caller's thread only.
 */
typedef int32_t (*gml_simulator_fn)(const double* theta, int64_t n, double* x_out, void* user);

/**
 * A host prior's sampler, for priors the library's own kinds do not cover
 * (docs/posterior.md, "Priors").
 * Given:    first_row  training-set row of the first draw; n >= 1;
 *           theta_dim; seed  the simulation's seed (derive the stream from
 *           seed and first_row, so a resumed run repeats an uninterrupted
 *           one); user  the pointer passed with the callback.
 * Returned: theta_out [n, theta_dim] float64, finite, inside the support
 *           the caller declared.
 * Return 0 on success; anything else stops the generation. Called on the
 * caller's thread only.
 */
typedef int32_t (*gml_prior_sample_fn)(int64_t first_row, int64_t n, int64_t theta_dim,
                                       uint64_t seed, double* theta_out, void* user);

/**
 * A host prior's log density.
 * Given:    theta [n, theta_dim] float64; n >= 1; theta_dim; user.
 * Returned: log_prob_out [n]: -INFINITY (or NaN) outside the prior's
 *           support, any finite value inside.
 * Return 0 on success; anything else stops the call. Called on the
 * caller's thread only.
 */
typedef int32_t (*gml_prior_log_prob_fn)(const double* theta, int64_t n, int64_t theta_dim,
                                         double* log_prob_out, void* user);

typedef struct gml_posterior_simulate_options {
  uint32_t struct_size;             /**< sizeof(gml_posterior_simulate_options) */
  int64_t batch_size;               /**< thetas per simulator call; default 10000 */
  uint64_t seed;                    /**< prior draws (and the built-in model's noise);
                                         0: the context's seed */
  int32_t resume;                   /**< non-zero: append to an existing file made with
                                         the same prior, seed and batch size */
  const char* theta_names;          /**< comma-separated labels, or NULL */
  const char* x_names;              /**< comma-separated labels, or NULL */
  const char* prior;                /**< gml_posterior_simulate: the prior as JSON
                                         (docs/posterior.md, "Priors": uniform, normal,
                                         lognormal, independent, mvn); NULL: the box
                                         of prior_lower and prior_upper */
  gml_prior_sample_fn prior_sample; /**< gml_posterior_simulate: a host prior;
                                         prior_lower/prior_upper are then its
                                         support (NULL: unbounded); NULL: none */
  void* prior_user;                 /**< passed to prior_sample */
} gml_posterior_simulate_options;

/** Fills opts with the defaults. NULL is ignored. */
GML_API void gml_posterior_simulate_options_default(gml_posterior_simulate_options* opts);

/**
 * Generates a training set with a host simulator: theta from the prior, x
 * from `fn`, written to an HDF5 file (/theta, /x; layout in
 * docs/posterior.md) batch by batch, flushed after each, so an interrupted
 * run can resume. The prior is the box [prior_lower, prior_upper], or
 * opts->prior, or the host's opts->prior_sample; it is stored in the file
 * and in the models trained on it.
 * Given:    ctx (progress in simulations, cancel); fn, user; theta_dim,
 *           x_dim >= 1; prior_lower, prior_upper [theta_dim] float64,
 *           finite, lower < upper (NULL with opts->prior; a host prior's
 *           support, +-INFINITY or NULL where unbounded, with
 *           opts->prior_sample); n >= 1 rows in total; opts (NULL:
 *           defaults); path  output file.
 * Errors:   GML_ERR_INVALID_ARGUMENT (also a prior that is malformed or of
 *           another dimension: the message lists every problem), GML_ERR_IO,
 *           GML_ERR_FORMAT (resuming a file that is not a training set),
 *           GML_ERR_CALLBACK (fn or prior_sample returned non-zero, a
 *           non-finite x, a theta outside the declared support: the message
 *           names the batch; the file keeps every row before it),
 *           GML_ERR_CANCELLED.
 */
GML_API gml_status gml_posterior_simulate(gml_context* ctx, gml_simulator_fn fn, void* user,
                                          int64_t theta_dim, int64_t x_dim,
                                          const double* prior_lower, const double* prior_upper,
                                          int64_t n, const gml_posterior_simulate_options* opts,
                                          const char* path);

/**
 * As gml_posterior_simulate() with the built-in SED forward model: kcorrect
 * templates, Calzetti/Noll dust, SDSS ugriz filters, flat LambdaCDM, noise
 * fitted to the SDSS catalog (docs/sed_model.md).
 * Given:    data_dir  folder holding sed/ and sdss/ (the repository's data/);
 *           NULL: the GML_DATA_DIR environment variable, else the data/
 *           folder of the source tree this library was built from.
 * Errors:   as gml_posterior_simulate(), plus GML_ERR_FITS for unreadable
 *           template or catalog files; GML_ERR_INVALID_ARGUMENT for
 *           opts->prior or opts->prior_sample (the prior is the model's).
 */
GML_API gml_status gml_posterior_simulate_sed(gml_context* ctx, const char* data_dir, int64_t n,
                                              const gml_posterior_simulate_options* opts,
                                              const char* path);

/**
 * Shape of a training set file, e.g. to check an interrupted generation.
 * Given:    path.
 * Returned: theta_dim, x_dim, rows (complete rows); each may be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT.
 */
GML_API gml_status gml_posterior_training_set_info(const char* path, int64_t* theta_dim,
                                                   int64_t* x_dim, int64_t* rows);

typedef struct gml_posterior_train_options {
  uint32_t struct_size;        /**< sizeof(gml_posterior_train_options) */
  const char* estimator;       /**< "maf" (default); "nsf": sbi's neural
                                    spline flow (rational-quadratic spline
                                    couplings with residual conditioners and
                                    an LU-linear layer after each);
                                    "autoregressive_nsf": the splines in MADE
                                    blocks (what "nsf" trained before the
                                    couplings; such model files load as
                                    they were written) */
  int64_t num_blocks;          /**< MADE blocks (or NSF couplings); 0
                                    (default): by the training set, see below */
  int64_t hidden_width;        /**< 0 (default): by the training set */
  int64_t made_blocks;         /**< hidden blocks per MADE (residual blocks
                                    per NSF conditioner); default 2 */
  const char* activation;      /**< "tanh" or "relu"; NULL (default): relu
                                    for "nsf", tanh otherwise (as sbi) */
  int64_t num_bins;            /**< NSF bins; 0 (default): by the training set */
  int64_t batch_size;          /**< 0 (default): by the training set */
  double learning_rate;        /**< Adam; default 5e-4 */
  int64_t max_epochs;          /**< default 1000 */
  int64_t patience;            /**< early stopping; default 20 epochs */
  double validation_fraction;  /**< default 0.1 */
  const char* checkpoint_path; /**< NULL: none; else written every epoch */
  int32_t resume;              /**< non-zero: continue from checkpoint_path */
  uint64_t seed;               /**< initialisation, split and batches;
                                    0: the context's seed */
  int64_t max_rows;            /**< use at most this many rows; 0: all */
  int64_t lr_plateau;          /**< multiply the rate by lr_factor after this many
                                    epochs without improvement; 0 (default, as
                                    SEDflow): constant rate */
  double lr_factor;            /**< default 0.5 */
  /* Appended after the first publication. */
  int64_t calibration_sims;    /**< after training, SBC and TARP on up to this
                                    many validation simulations (never used in
                                    a gradient step), recorded in the model
                                    (see gml_posterior_train()); default 1000;
                                    0: none */
  int64_t calibration_samples; /**< draws per calibration simulation, >= 2;
                                    default 500 */
  int32_t bounded_theta;       /**< 1: where the prior bounds a parameter,
                                    the flow models it mapped to an
                                    unbounded space (logit of a two-sided
                                    bound, log of a one-sided one), so every
                                    draw lies inside the prior; an error
                                    when the prior bounds nothing; 0: theta
                                    as it is (draws may leak out of the
                                    prior; see truncation); -1 (default): 1
                                    for the SED model's training sets, 0
                                    for any other simulator (as sbi) */
} gml_posterior_train_options;

/**
 * Fills opts with the defaults. NULL is ignored. The fields left at 0 are
 * chosen from the training set when training starts: for a set of the
 * built-in SED model (observation "sed_ugriz") SEDflow's network, 15 blocks
 * of 2 x 500, batch 50; for any other simulator sbi's NPE defaults, 5 blocks
 * of 2 x 50, 10 NSF bins, batch 200. The batch is at most a quarter of the
 * training rows when chosen. The choice is logged (GML_LOG_INFO) and stored
 * in the model.
 */
GML_API void gml_posterior_train_options_default(gml_posterior_train_options* opts);

/**
 * Trains a posterior estimator on a training set and writes the model file
 * (atomically). The prior, labels and observation kind come from the
 * training set; training rows whose theta lies outside the prior's support
 * are counted and reported (GML_LOG_WARN), as they mean the simulations
 * were not drawn from that prior.
 * The trained model is then calibrated on up to opts->calibration_sims of
 * its validation simulations (at least 100 are needed): SBC per parameter
 * and TARP, as gml_posterior_diagnose(). The record goes into the model
 * (gml_posterior_describe(): provenance.calibration) and into the header of
 * every catalog the model produces (gml_posterior_run_catalog()). It passes
 * when every KS p-value is above 0.01; the verdict is logged in one line,
 * GML_LOG_WARN when it fails.
 * Given:    ctx (progress with loss, epoch and validation loss; cancel);
 *           training_set_path; opts (NULL: defaults); model_path.
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_CANCELLED (the last checkpoint stays usable).
 */
GML_API gml_status gml_posterior_train(gml_context* ctx, const char* training_set_path,
                                       const gml_posterior_train_options* opts,
                                       const char* model_path);

/**
 * Dimensions of a posterior model.
 * Returned: theta_dim, x_dim (either may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT (model NULL), GML_ERR_FAMILY.
 */
GML_API gml_status gml_posterior_dims(const gml_model* model, int64_t* theta_dim, int64_t* x_dim);

/**
 * Labels, prior, training range of x and the architecture as JSON:
 * {"theta": [...], "x": [...], "prior_lower": [...], "prior_upper": [...],
 *  "prior": {...}, "x_train_min": [...], "x_train_max": [...],
 *  "observation": "...", "provenance": {...}, "config": {...}}.
 * "provenance" names the training set, its rows and rows_outside_prior
 * (training theta outside the prior's support). "prior" is the prior in the
 * form of docs/posterior.md ("Priors"), null without one; prior_lower and
 * prior_upper are its support (null entries: unbounded), empty without a
 * prior. Strings-out convention.
 */
GML_API gml_status gml_posterior_describe(const gml_model* model, char* buf, size_t capacity,
                                          size_t* length);

/**
 * Posterior samples for a batch of observations.
 * Given:    ctx; model ("posterior"); x [n_obs, x_dim] float64, finite;
 *           n_obs >= 1; n_samples >= 1; seed (0: the context's):
 *           observation i's draws depend only on (seed, i);
 *           capacity  doubles available in theta.
 * Returned: theta  [n_obs, n_samples, theta_dim] float64, all draws;
 *           n_outside [n_obs] (may be NULL): draws outside the prior box.
 *           They are returned, not dropped: callers decide.
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, sizes, NaN/Inf in x),
 *           GML_ERR_CAPACITY, GML_ERR_FAMILY, GML_ERR_CANCELLED.
 * Memory:   draws are written straight into theta in blocks of about
 *           16,384; memory beyond the caller's buffer does not grow with
 *           n_obs or n_samples, and a cancel is seen between blocks, also
 *           within one observation. An observation's draws past 2^20 come
 *           from further streams (seed, i, chunk). As for gml_flow_sample(),
 *           on an error after drawing began the start of theta may already
 *           hold draws (n_outside is untouched).
 */
GML_API gml_status gml_posterior_sample(gml_context* ctx, const gml_model* model, const double* x,
                                        int64_t n_obs, int64_t n_samples, uint64_t seed,
                                        double* theta, size_t capacity, int64_t* n_outside);

/**
 * log q(theta | x).
 * Given:    theta [n, theta_dim] float64; n >= 0; x [n_x, x_dim] float64
 *           with n_x 1 (one observation for all) or n.
 * Returned: log_prob [n] float64; -inf for theta on or beyond a bound of
 *           a model trained with bounded_theta (its density is zero there).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, n_x, NaN/Inf), GML_ERR_FAMILY,
 *           GML_ERR_CANCELLED.
 */
GML_API gml_status gml_posterior_log_prob(gml_context* ctx, const gml_model* model,
                                          const double* theta, int64_t n, const double* x,
                                          int64_t n_x, double* log_prob);

/** Columns of a posterior summary, per observation and parameter. */
enum {
  GML_SUMMARY_MEDIAN = 0,
  GML_SUMMARY_P16 = 1,
  GML_SUMMARY_P84 = 2,
  GML_SUMMARY_MEAN = 3,
  GML_SUMMARY_STD = 4,
  GML_SUMMARY_COLUMNS = 5
};

/**
 * Posterior summaries without returning the samples: median, 16th and 84th
 * percentiles, mean and standard deviation of n_samples draws inside the
 * prior's support (gml_posterior_draw() with its default options: draws
 * outside are replaced, so every summary uses exactly n_samples draws,
 * except where the acceptance fell below 1e-3, which is logged as a
 * GML_LOG_WARN naming how many observations; use gml_posterior_draw()
 * to learn which).
 * Given:    as gml_posterior_sample(); capacity  doubles in summary.
 * Returned: summary [n_obs, theta_dim, GML_SUMMARY_COLUMNS] float64 (NaN
 *           where no draw falls inside the prior); n_outside [n_obs]
 *           (may be NULL): draws rejected outside the prior's support.
 * Errors:   as gml_posterior_sample().
 */
GML_API gml_status gml_posterior_summarize(gml_context* ctx, const gml_model* model,
                                           const double* x, int64_t n_obs, int64_t n_samples,
                                           uint64_t seed, double* summary, size_t capacity,
                                           int64_t* n_outside);

/** Row flags of a posterior catalog run (GML_POSTERIOR_FLAG_* bits). */
enum {
  /** A mapped value is null or non-finite (e.g. a missing flux); not sampled. */
  GML_POSTERIOR_FLAG_MISSING = 1,
  /** A zero or negative inverse variance; not sampled. */
  GML_POSTERIOR_FLAG_BAD_IVAR = 2,
  /** Redshift outside the training prior; not sampled. */
  GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR = 4,
  /** x outside the support of the training simulations (outside their
      range, or for SED models farther from every simulation than 99% of
      simulations are from their nearest neighbour, docs/sed_model.md):
      sampled, but the posterior is an extrapolation. */
  GML_POSTERIOR_FLAG_OUTSIDE_TRAINING = 8,
  /** Truncation to the prior accepted fewer than min_acceptance of the
      proposals: the summaries use the N_DRAWS draws that were accepted. */
  GML_POSTERIOR_FLAG_LOW_ACCEPTANCE = 16
};

typedef struct gml_posterior_run_options {
  uint32_t struct_size;     /**< sizeof(gml_posterior_run_options) */
  int64_t n_samples;        /**< draws per galaxy; default 10000 (SEDflow) */
  uint64_t seed;            /**< row i's random numbers depend only on
                                 (seed, i); chunk_rows decides which rows
                                 share a network batch, which moves the
                                 draws' last bits; 0: the context's seed */
  const char* hdu;          /**< catalog HDU name or number; NULL: first table */
  const char* samples_path; /**< NULL: none; else every draw to HDF5
                                 (/samples [rows, n_samples, theta_dim] float32) */
  int64_t chunk_rows;       /**< galaxies per work unit; 0: about 10^6 draws */
  int64_t first_row;        /**< first catalog row (0-based); default 0 */
  int64_t max_rows;         /**< rows to process; 0: to the end */
  int32_t truncate;         /**< draws outside the prior's support are
                                 replaced (gml_posterior_draw()): -1
                                 (default) where the prior has a bound, 1
                                 always, 0 never (then the summaries use the
                                 draws that fall inside) */
  double min_acceptance;    /**< below this acceptance a row is flagged
                                 GML_POSTERIOR_FLAG_LOW_ACCEPTANCE; default
                                 1e-3 */
} gml_posterior_run_options;

/** Fills opts with the defaults. NULL is ignored. */
GML_API void gml_posterior_run_options_default(gml_posterior_run_options* opts);

/**
 * Posteriors for every row of a FITS catalog, written as a FITS table with
 * one row per input row, in input order: ROW, FLAGS (GML_POSTERIOR_FLAG_*),
 * N_OUTSIDE (draws outside the prior: rejected ones with truncation; -1
 * where not sampled), N_DRAWS (draws the summaries use: n_samples unless
 * flagged; 0 where not sampled), X (the model input), and <name>_MEDIAN,
 * _P16, _P84, _MEAN, _STD per parameter.
 * Bad rows are flagged, never dropped; the run continues.
 * With a context whose backend is "mpi" (launched by mpirun), work units
 * are dealt round-robin to the ranks and rank 0 writes the one output;
 * it is identical to a single-process run with the same seed.
 * Given:    ctx; model ("posterior"); catalog_path; mapping  catalog
 *           mapping (gml_catalog_read syntax): for observation "sed_ugriz"
 *           11 outputs (5 fluxes [nanomaggies], 5 inverse variances, z) or
 *           16 (plus 5 Galactic extinctions [mag]); otherwise x_dim outputs;
 *           opts (NULL: defaults); out_path  FITS table (atomic write).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, mapping arity), GML_ERR_IO,
 *           GML_ERR_FITS, GML_ERR_NOT_FOUND (column), GML_ERR_FAMILY,
 *           GML_ERR_BACKEND (a rank failed: every rank returns it),
 *           GML_ERR_CANCELLED. On error no output file is left.
 */
GML_API gml_status gml_posterior_run_catalog(gml_context* ctx, const gml_model* model,
                                             const char* catalog_path, const char* mapping,
                                             const gml_posterior_run_options* opts,
                                             const char* out_path);

/**
 * Calibration diagnostics of a posterior model on held-out simulations
 * (rows [first_row, first_row + n_sims) of a training-set file the model
 * was not trained on): n_samples draws per simulation give
 *  - simulation-based calibration (Talts et al. 2018): the rank of each true
 *    parameter among its draws, and per parameter the KS p-value that the
 *    ranks are uniform;
 *  - expected coverage: for `levels` credibility levels k / (levels + 1),
 *    the fraction of true parameters inside the central interval of each
 *    marginal, and (last column) inside the highest-density region;
 *  - TARP (Lemos et al. 2023): expected coverage probability against
 *    credibility over `levels` + 1 points, its area-to-curve summary and a
 *    KS p-value, with reference points drawn in the prior box.
 * Given:    ctx; model; simulations_path; first_row >= 0; n_sims >= 2;
 *           n_samples >= 2; levels >= 1; seed (0: the context's).
 * Returned: ranks       [n_sims, theta_dim] int64 (may be NULL);
 *           sbc_pvalue  [theta_dim];
 *           coverage    [levels, theta_dim + 1] (may be NULL);
 *           tarp_ecp    [levels + 1] (may be NULL);
 *           tarp_summary [2]: ATC and KS p-value (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT (also too few rows in the file, or
 *           dimensions that differ from the model's), GML_ERR_IO,
 *           GML_ERR_FORMAT, GML_ERR_FAMILY, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_posterior_diagnose(gml_context* ctx, const gml_model* model,
                                          const char* simulations_path, int64_t first_row,
                                          int64_t n_sims, int64_t n_samples, int64_t levels,
                                          uint64_t seed, int64_t* ranks, double* sbc_pvalue,
                                          double* coverage, double* tarp_ecp, double* tarp_summary);

/** What gml_posterior_diagnose_batch() computes. Zero-initialise and set
    struct_size = sizeof; fields added later are appended, and their zero
    means the earlier behaviour. */
typedef struct gml_posterior_diagnose_request {
  uint32_t struct_size;         /**< sizeof(gml_posterior_diagnose_request) */
  const char* simulations_path; /**< held-out simulations (a training-set file) */
  int64_t first_row;            /**< >= 0 */
  int64_t n_sims;               /**< >= 2 */
  int64_t n_samples;            /**< draws per simulation, >= 2 */
  int64_t levels;               /**< credibility levels, >= 1 */
  uint64_t seed;                /**< 0: the context's */
  /* Appended after the first publication. */
  int32_t truncate; /**< 0: the flow's raw draws; 1: draws truncated to the
                         prior's support, as a catalog run summarises them
                         (simulations left with fewer than n_samples draws
                         inside are left out: rank -1, logged); -1: 1 where
                         the prior has a bound */
} gml_posterior_diagnose_request;

/** Where gml_posterior_diagnose_batch() writes; capacities in elements. */
typedef struct gml_posterior_diagnose_result {
  uint32_t struct_size; /**< sizeof(gml_posterior_diagnose_result) */
  int64_t* ranks;       /**< [n_sims, theta_dim], or NULL */
  size_t ranks_capacity;
  double* sbc_pvalue; /**< [theta_dim], required */
  size_t sbc_pvalue_capacity;
  double* coverage; /**< [levels, theta_dim + 1], or NULL */
  size_t coverage_capacity;
  double* tarp_ecp; /**< [levels + 1], or NULL */
  size_t tarp_ecp_capacity;
  double* tarp_summary; /**< [2]: ATC and KS p-value, or NULL */
  size_t tarp_summary_capacity;
} gml_posterior_diagnose_result;

/**
 * gml_posterior_diagnose() with explicit capacities.
 * Errors:   as gml_posterior_diagnose(); GML_ERR_CAPACITY when an array's
 *           capacity is below its shape (checked before any draw).
 */
GML_API gml_status gml_posterior_diagnose_batch(gml_context* ctx, const gml_model* model,
                                                const gml_posterior_diagnose_request* request,
                                                gml_posterior_diagnose_result* result);

/**
 * As gml_posterior_sample(), streamed to a file instead of a buffer, for
 * sample sizes beyond memory: the same draws (observation i from the
 * stream (seed, i)). The format follows the extension, in any letter case:
 *   .h5/.hdf5/.he5  datasets "samples" [n_obs, n_samples, theta_dim] and
 *                   "x" [n_obs, x_dim], float32 (as a catalog run's
 *                   samples file), the root attribute "theta_names" (JSON);
 *   .fits/.fit/.fts a binary table with one row per draw: OBS (0-based
 *                   observation index), one float64 column per parameter
 *                   named as the model's parameters, INSIDE (1 inside the
 *                   prior box, else 0), with provenance keywords;
 *   .npy            float64 [n_obs, n_samples, theta_dim] (numpy.load).
 * Written atomically: on any error no file is left at path.
 * Given:    as gml_posterior_sample(); path  output file.
 * Errors:   as gml_posterior_sample(); GML_ERR_INVALID_ARGUMENT also for
 *           another extension; GML_ERR_IO, GML_ERR_FITS.
 * Memory:   one observation's draws (n_samples x theta_dim doubles) at a
 *           time, whatever n_obs.
 */
GML_API gml_status gml_posterior_sample_to_file(gml_context* ctx, const gml_model* model,
                                                const double* x, int64_t n_obs, int64_t n_samples,
                                                uint64_t seed, const char* path);

/*
 * Simulations brought in from elsewhere: a host's arrays
 * (gml_posterior_training_set_write) or the files people keep them in
 * (gml_posterior_import), written as a training set that
 * gml_posterior_train reads. docs/posterior.md, "Bring your own
 * simulations".
 */
typedef struct gml_posterior_import_options {
  uint32_t struct_size;      /**< sizeof(gml_posterior_import_options) */
  const char* theta;         /**< gml_posterior_import: the HDF5 dataset or .npz
                                  key of theta (default "theta"); FITS and CSV:
                                  column names, comma-separated */
  const char* x;             /**< the same for x (default "x"); FITS and CSV:
                                  "*" takes every numeric column theta does not */
  const char* hdu;           /**< FITS: extension name, or number (0: primary);
                                  NULL: the first table */
  int64_t prior_dim;         /**< values in prior_lower and prior_upper: 0 (default,
                                  no prior box) or theta_dim */
  const double* prior_lower; /**< [prior_dim] the box prior's lower bounds, or NULL */
  const double* prior_upper; /**< [prior_dim] upper bounds, or NULL */
  const char* theta_names;   /**< comma-separated labels; NULL: the column names
                                  (FITS, CSV) or none */
  const char* x_names;       /**< the same for x */
  int32_t reject_nonfinite;  /**< 0 (default): rows with NaN or infinity in theta
                                  or x are dropped and counted; non-zero: they
                                  are an error naming the first */
  const char* prior;         /**< the prior the simulations were drawn from, as
                                  JSON (docs/posterior.md, "Priors"); NULL: the
                                  box above, or none. Not both. */
} gml_posterior_import_options;

/** Fills opts with the defaults. NULL is ignored. */
GML_API void gml_posterior_import_options_default(gml_posterior_import_options* opts);

/** What an import wrote. The caller sets struct_size. */
typedef struct gml_posterior_import_report {
  uint32_t struct_size;       /**< sizeof(gml_posterior_import_report) */
  int64_t theta_dim;          /**< columns of theta */
  int64_t x_dim;              /**< columns of x */
  int64_t rows_read;          /**< rows in the source */
  int64_t rows_written;       /**< rows in the training set */
  int64_t rows_nonfinite;     /**< rows dropped for NaN or infinity */
  int64_t rows_outside_prior; /**< written rows whose theta is outside the prior's
                                   support: kept, but a sign that it is not the
                                   prior the simulations were drawn from */
} gml_posterior_import_report;

/**
 * Writes a host's simulations as a training set, atomically (no file at path
 * unless it succeeds).
 * Given:    ctx; theta [n, theta_dim], x [n, x_dim] float64, row-major;
 *           n >= 1; theta_dim in [1, 1024]; x_dim in [1, 16384]; opts
 *           (NULL: defaults; theta, x and hdu are not used); path.
 * Returned: report (NULL: not wanted).
 * Errors:   GML_ERR_INVALID_ARGUMENT (a prior of another dimension, bounds
 *           not lower < upper, labels that do not count the columns,
 *           non-finite rows with reject_nonfinite, or every row non-finite;
 *           the message lists every problem), GML_ERR_IO.
 */
GML_API gml_status gml_posterior_training_set_write(gml_context* ctx, const double* theta,
                                                    const double* x, int64_t n, int64_t theta_dim,
                                                    int64_t x_dim,
                                                    const gml_posterior_import_options* opts,
                                                    const char* path,
                                                    gml_posterior_import_report* report);

/**
 * Imports simulations from files as a training set, atomically. The format
 * follows each file's extension, in any letter case:
 *   .h5/.hdf5/.he5/.hdf  datasets opts->theta and opts->x, [n] or [n, columns],
 *                        any integer or float type;
 *   .fits/.fit/.fts(.gz) table columns by name; a vector column gives its
 *                        elements in order;
 *   .npy                 one array per file: theta_path holds theta,
 *                        x_path x;
 *   .npz                 arrays opts->theta and opts->x (numpy.savez and
 *                        numpy.savez_compressed);
 *   .csv/.txt/.tsv/.dat  a header line naming the columns (it may start with
 *                        '#'), then rows separated by commas or, without
 *                        commas, blanks; an empty field or "nan" is NaN.
 * Given:    ctx; theta_path; x_path (NULL: x is in theta_path); opts (NULL:
 *           defaults); path  training set to write.
 * Returned: report (NULL: not wanted).
 * Errors:   GML_ERR_FORMAT for a source that cannot be read as simulations:
 *           the message lists every problem found (missing datasets or
 *           columns with the ones available, row counts that differ,
 *           malformed lines, ...); GML_ERR_FITS; otherwise as
 *           gml_posterior_training_set_write().
 */
GML_API gml_status gml_posterior_import(gml_context* ctx, const char* theta_path,
                                        const char* x_path,
                                        const gml_posterior_import_options* opts, const char* path,
                                        gml_posterior_import_report* report);

/*
 * Draws truncated to the prior (sbi's rejection sampling): a flow trained on
 * simulations puts some mass outside a bounded prior, where no simulation
 * came from. Each observation's first n_samples proposals are
 * gml_posterior_sample()'s draws; those outside the prior's support are
 * rejected and replaced from further streams (seed, i, round), so the
 * draws still depend only on (seed, i). docs/posterior.md, "Truncation".
 */
typedef struct gml_posterior_sample_options {
  uint32_t struct_size;                 /**< sizeof(gml_posterior_sample_options) */
  int32_t truncate;                     /**< -1 (default): where the model's prior has a
                                             bound (uniform, log-normal, a bounded host
                                             support); 1: always (also rejects non-finite
                                             draws); 0: never, as gml_posterior_sample() */
  double min_acceptance;                /**< proposals per observation stop at
                                             n_samples / min_acceptance; an observation
                                             below that acceptance keeps fewer draws.
                                             Default 1e-3 */
  gml_prior_log_prob_fn prior_log_prob; /**< a host prior's density: draws
                                             where it is not finite are
                                             rejected instead of those outside
                                             the model's prior; NULL: none */
  void* prior_user;                     /**< passed to prior_log_prob */
} gml_posterior_sample_options;

/** Fills opts with the defaults. NULL is ignored. */
GML_API void gml_posterior_sample_options_default(gml_posterior_sample_options* opts);

/**
 * Posterior samples truncated to the prior's support.
 * Given:    as gml_posterior_sample(); opts (NULL: defaults).
 * Returned: theta  [n_obs, n_samples, theta_dim] float64: observation i's
 *           n_accepted[i] draws first, NaN after them;
 *           n_accepted [n_obs] (may be NULL): n_samples, or fewer where the
 *           acceptance fell below opts->min_acceptance;
 *           n_proposed [n_obs] (may be NULL): draws made, accepted or not
 *           (their ratio is the acceptance rate).
 *           An observation left short is also logged (GML_LOG_WARN, with
 *           the count of such observations), as sbi warns.
 * Errors:   as gml_posterior_sample(); GML_ERR_INVALID_ARGUMENT also for
 *           min_acceptance outside (0, 1]; GML_ERR_CALLBACK when
 *           prior_log_prob returns non-zero.
 * Memory:   as gml_posterior_sample().
 */
GML_API gml_status gml_posterior_draw(gml_context* ctx, const gml_model* model, const double* x,
                                      int64_t n_obs, int64_t n_samples, uint64_t seed,
                                      const gml_posterior_sample_options* opts, double* theta,
                                      size_t capacity, int64_t* n_accepted, int64_t* n_proposed);

/**
 * gml_posterior_draw() streamed to a file, in the formats of
 * gml_posterior_sample_to_file() (an observation left short has NaN rows
 * after its accepted draws; in FITS their INSIDE is 0).
 * Given:    as gml_posterior_draw(); path  output file.
 * Errors:   as gml_posterior_sample_to_file() and gml_posterior_draw().
 */
GML_API gml_status gml_posterior_draw_to_file(gml_context* ctx, const gml_model* model,
                                              const double* x, int64_t n_obs, int64_t n_samples,
                                              uint64_t seed,
                                              const gml_posterior_sample_options* opts,
                                              const char* path);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GALAXYML_POSTERIOR_H */
