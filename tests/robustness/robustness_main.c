/*
 * Runs every case of robustness_calls.c: each exported function with valid
 * arguments, then with one argument at a time replaced by NULL, a zero,
 * negative or overflowing size, a handle of another type or family, or NaN.
 *
 * Each case runs in a forked child, so that a crash, an abort or a hang is a
 * failure that names the function and the argument instead of the end of the
 * run; the fixture (a context, one model per family, a WCS, a catalog) is
 * built once, before the first fork, and every child gets its own copy.
 *
 * Usage: robustness_main FIXTURES_DIR DATA_DIR WORK_DIR
 *   FIXTURES_DIR  tests/abi model fixtures (valid_flow.h5)
 *   DATA_DIR      the repository's data/ folder
 *   WORK_DIR      scratch folder; its inputs/ and out/ are replaced
 * Environment: ROBUSTNESS_FILTER=text runs only the functions whose name
 *   contains text; ROBUSTNESS_TIMEOUT=seconds per case (default 20);
 *   ROBUSTNESS_VERBOSE=1 prints the library's log and every case.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "galaxyml/galaxyml.h"
#include "robustness.h"

/* Head room above the child's address space at fork for a case whose value
   is a size no buffer can have: far above what the call needs to refuse it,
   far below what it would ask for if it tried, so that such a call fails to
   allocate instead of exhausting the machine. Other cases run uncapped (a
   CUDA runtime reserves far more address space than it uses). */
#define CHILD_ADDRESS_HEADROOM ((rlim_t)4 << 30)
/* Largest file a case may write: an unbounded size that streams to disk is
   stopped by SIGXFSZ instead of filling it. */
#define CHILD_FILE_LIMIT ((rlim_t)256 << 20)
#define DETAIL_MAX 1024
#define SNAPSHOT_MAX 64

static int verbose = 0;

/* ------------------------------------------------------------------------ */
/* Small utilities                                                          */
/* ------------------------------------------------------------------------ */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Also called in children (fresh handles for a case), which must not run
   the library's static destructors: hence _exit. */
static void die(const char* what, gml_status status) {
  fprintf(stderr, "robustness: fixture setup failed: %s: %s: %s\n", what, gml_status_name(status),
          gml_last_error());
  fflush(stdout);
  fflush(stderr);
  _exit(2);
}

static void check(gml_status status, const char* what) {
  if (status != GML_OK) die(what, status);
}

static void join(char* out, const char* dir, const char* name) {
  int n = snprintf(out, ROBUSTNESS_PATH_MAX, "%s/%s", dir, name);
  if (n < 0 || n >= ROBUSTNESS_PATH_MAX) {
    fprintf(stderr, "robustness: path too long: %s/%s\n", dir, name);
    exit(2);
  }
}

static void* allocate(size_t bytes) {
  void* p = calloc(1, bytes);
  if (p == NULL) {
    fprintf(stderr, "robustness: out of memory\n");
    exit(2);
  }
  return p;
}

/* Removes everything under dir, keeping dir. */
static void empty_directory(const char* dir) {
  DIR* d = opendir(dir);
  struct dirent* e;
  if (d == NULL) return;
  while ((e = readdir(d)) != NULL) {
    char path[ROBUSTNESS_PATH_MAX];
    struct stat st;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    join(path, dir, e->d_name);
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      empty_directory(path);
      rmdir(path);
    } else {
      unlink(path);
    }
  }
  closedir(d);
}

static void make_directory(const char* dir) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "robustness: cannot create %s: %s\n", dir, strerror(errno));
    exit(2);
  }
}

/* ------------------------------------------------------------------------ */
/* Host callbacks and fresh handles used by the generated calls             */
/* ------------------------------------------------------------------------ */

static void quiet_log(int32_t level, const char* message, void* user) {
  (void)user;
  if (verbose) fprintf(stderr, "  [galaxyml log %d] %s\n", (int)level, message);
}

int32_t robustness_progress(const gml_progress* progress, void* user) {
  (void)progress;
  (void)user;
  return 0;
}

int32_t robustness_chunk(int64_t first_row, int64_t n_rows, int64_t n_outputs, const float* values,
                         const int32_t* flags, void* user) {
  (void)first_row;
  (void)n_rows;
  (void)n_outputs;
  (void)values;
  (void)flags;
  (void)user;
  return 0;
}

int32_t robustness_simulator(const double* theta, int64_t n, double* x_out, void* user) {
  (void)user;
  memcpy(x_out, theta, (size_t)n * 2 * sizeof(double));
  return 0;
}

gml_context* robustness_new_context(struct robustness_fixture* fx) {
  gml_context* ctx = NULL;
  check(gml_context_create(&fx->context_options, &ctx), "gml_context_create (fresh)");
  return ctx;
}

gml_model* robustness_new_model(struct robustness_fixture* fx) {
  gml_model* model = NULL;
  check(gml_model_load(fx->ctx, fx->flow_model_path, "flow", &model), "gml_model_load (fresh)");
  return model;
}

gml_wcs* robustness_new_wcs(struct robustness_fixture* fx) {
  gml_wcs* wcs = NULL;
  check(gml_wcs_open(fx->image_path, NULL, &wcs), "gml_wcs_open (fresh)");
  return wcs;
}

gml_catalog* robustness_new_catalog(struct robustness_fixture* fx) {
  gml_catalog* cat = NULL;
  check(gml_catalog_open(fx->catalog_path, NULL, &cat), "gml_catalog_open (fresh)");
  return cat;
}

gml_table_writer* robustness_new_writer(struct robustness_fixture* fx, int n_columns) {
  gml_table_writer* w = NULL;
  int i;
  check(gml_table_writer_create(fx->out_fits, NULL, &w), "gml_table_writer_create (fresh)");
  for (i = 0; i < n_columns; ++i) {
    char name[16];
    snprintf(name, sizeof name, "COL%d", i);
    check(gml_table_writer_add_column(w, name, GML_COLUMN_FLOAT32, 1, "mag"),
          "gml_table_writer_add_column (fresh)");
  }
  return w;
}

/* ------------------------------------------------------------------------ */
/* The fixture                                                              */
/* ------------------------------------------------------------------------ */

static void prepare_buffers(struct robustness_fixture* fx) {
  int i;
  for (i = 0; i < ROBUSTNESS_BUFFERS; ++i) {
    fx->f32[i] = allocate(ROBUSTNESS_ELEMENTS * sizeof(float));
    fx->f64[i] = allocate(ROBUSTNESS_ELEMENTS * sizeof(double));
    fx->i32[i] = allocate(ROBUSTNESS_ELEMENTS * sizeof(int32_t));
    fx->i64[i] = allocate(ROBUSTNESS_ELEMENTS * sizeof(int64_t));
    fx->u8[i] = allocate(ROBUSTNESS_ELEMENTS);
    fx->sz[i] = allocate(ROBUSTNESS_ELEMENTS * sizeof(size_t));
  }
  fx->text = allocate(ROBUSTNESS_ELEMENTS);
  fx->nan_f64 = allocate(ROBUSTNESS_ELEMENTS * sizeof(double));
  fx->nan_f32 = allocate(ROBUSTNESS_ELEMENTS * sizeof(float));
  for (i = 0; i < ROBUSTNESS_ELEMENTS; ++i) {
    fx->nan_f64[i] = NAN;
    fx->nan_f32[i] = NAN;
  }
  fx->merger_images = allocate(ROBUSTNESS_MERGER_IMAGES * ROBUSTNESS_MERGER_SIZE *
                               ROBUSTNESS_MERGER_SIZE * sizeof(float));
  fx->writer_data[0] = fx->f32[0];
  fx->writer_null_data[0] = NULL;
}

static void prepare_options(struct robustness_fixture* fx) {
  gml_init_options_default(&fx->init_options);
  fx->init_options.num_threads = 1;
  fx->init_options.log_fn = quiet_log;

  gml_context_options_default(&fx->context_options);
  fx->context_options.device = "cpu";
  fx->context_options.seed = 17;
  fx->context_options.seed_from_init = 0;

  fx->model_info.struct_size = sizeof fx->model_info;

  gml_cutout_options_default(&fx->cutout_options);
  fx->cutout_options.width = 16;
  fx->cutout_options.height = 16;

  gml_table_writer_options_default(&fx->table_writer_options);

  gml_flow_train_options_default(&fx->flow_train_options);
  fx->flow_train_options.steps = 1;
  fx->flow_train_options.batch_size = 16;
  fx->flow_train_options.eval_every = 1;
  fx->flow_train_options.config_json = "{\"num_blocks\":1,\"hidden_width\":8,\"hidden_layers\":1}";

  gml_posterior_simulate_options_default(&fx->posterior_simulate_options);
  fx->posterior_simulate_options.batch_size = 10;
  gml_posterior_import_options_default(&fx->posterior_import_options);
  memset(&fx->posterior_import_report, 0, sizeof fx->posterior_import_report);
  fx->posterior_import_report.struct_size = sizeof fx->posterior_import_report;
  gml_posterior_sample_options_default(&fx->posterior_sample_options);

  gml_posterior_train_options_default(&fx->posterior_train_options);
  fx->posterior_train_options.num_blocks = 1;
  fx->posterior_train_options.hidden_width = 4;
  fx->posterior_train_options.max_epochs = 1;

  gml_posterior_run_options_default(&fx->posterior_run_options);
  fx->posterior_run_options.n_samples = 10;
  fx->posterior_run_options.max_rows = 4;

  gml_merger_simulate_options_default(&fx->merger_simulate_options);
  gml_merger_train_options_default(&fx->merger_train_options);
}

/* The merger simulator's smallest useful run: one orbit, few particles. */
static void small_merger_simulation(gml_merger_simulate_options* so, const double* ratios,
                                    int32_t n_ratios, int32_t n_classes, int32_t n_cameras) {
  gml_merger_simulate_options_default(so);
  so->mass_ratios = ratios;
  so->n_mass_ratios = n_ratios;
  so->sims_per_ratio = 1;
  so->n_time_classes = n_classes;
  so->n_cameras = n_cameras;
  so->image_size = ROBUSTNESS_MERGER_SIZE;
  so->particles_per_disk = 200;
  so->t_end_myr = 600;
  so->dt_myr = 4;
  so->n_threads = 1;
}

static const double merger_ratios[2] = {0.5, 1.0};
static const int32_t merger_validation_camera[1] = {3};

static void prepare_flow(struct robustness_fixture* fx, const char* inputs) {
  float* stars = fx->f32[0];
  int64_t n_stars = 0, data_dim = 0;
  join(fx->stars_path, inputs, "stars.h5");
  join(fx->flow_model_path, inputs, "flow.h5");
  check(gml_flow_simulate(fx->ctx, 3, 200, NULL, 5, fx->stars_path), "gml_flow_simulate");
  check(gml_flow_train(fx->ctx, fx->stars_path, &fx->flow_train_options, fx->flow_model_path),
        "gml_flow_train");
  check(gml_model_load(fx->ctx, fx->flow_model_path, "flow", &fx->flow), "gml_model_load flow");
  check(gml_flow_read_galaxy(fx->stars_path, 0, stars, ROBUSTNESS_ELEMENTS, &n_stars, &data_dim,
                             fx->flow_conditions, 4),
        "gml_flow_read_galaxy 0");
  if (n_stars < 2 || data_dim != 10) die("star table shape", GML_ERR_INTERNAL);
  memcpy(fx->flow_stars, stars, sizeof fx->flow_stars);
  check(gml_flow_read_galaxy(fx->stars_path, 1, NULL, 0, NULL, NULL, fx->flow_conditions + 4, 4),
        "gml_flow_read_galaxy 1");
}

static void prepare_posterior(struct robustness_fixture* fx, const char* inputs) {
  gml_posterior_simulate_options so = fx->posterior_simulate_options;
  int i;
  join(fx->training_set_path, inputs, "training_set.h5");
  join(fx->posterior_model_path, inputs, "posterior.h5");
  fx->prior_lower[0] = fx->prior_lower[1] = 0.0;
  fx->prior_upper[0] = fx->prior_upper[1] = 1.0;
  so.batch_size = 20;
  check(gml_posterior_simulate(fx->ctx, robustness_simulator, NULL, 2, 2, fx->prior_lower,
                               fx->prior_upper, 60, &so, fx->training_set_path),
        "gml_posterior_simulate");
  check(gml_posterior_train(fx->ctx, fx->training_set_path, &fx->posterior_train_options,
                            fx->posterior_model_path),
        "gml_posterior_train");
  check(gml_model_load(fx->ctx, fx->posterior_model_path, "posterior", &fx->posterior),
        "gml_model_load posterior");
  for (i = 0; i < 4; ++i) {
    fx->posterior_x[i] = 0.2 + 0.15 * i;
    fx->posterior_theta[i] = 0.7 - 0.1 * i;
  }

  memset(&fx->posterior_diagnose_request, 0, sizeof fx->posterior_diagnose_request);
  fx->posterior_diagnose_request.struct_size = sizeof fx->posterior_diagnose_request;
  fx->posterior_diagnose_request.simulations_path = fx->training_set_path;
  fx->posterior_diagnose_request.first_row = 1;
  fx->posterior_diagnose_request.n_sims = 10;
  fx->posterior_diagnose_request.n_samples = 10;
  fx->posterior_diagnose_request.levels = 4;
  memset(&fx->posterior_diagnose_result, 0, sizeof fx->posterior_diagnose_result);
  fx->posterior_diagnose_result.struct_size = sizeof fx->posterior_diagnose_result;
  fx->posterior_diagnose_result.ranks = fx->i64[0];
  fx->posterior_diagnose_result.ranks_capacity = ROBUSTNESS_ELEMENTS;
  fx->posterior_diagnose_result.sbc_pvalue = fx->f64[0];
  fx->posterior_diagnose_result.sbc_pvalue_capacity = ROBUSTNESS_ELEMENTS;
  fx->posterior_diagnose_result.coverage = fx->f64[1];
  fx->posterior_diagnose_result.coverage_capacity = ROBUSTNESS_ELEMENTS;
  fx->posterior_diagnose_result.tarp_ecp = fx->f64[2];
  fx->posterior_diagnose_result.tarp_ecp_capacity = ROBUSTNESS_ELEMENTS;
  fx->posterior_diagnose_result.tarp_summary = fx->f64[3];
  fx->posterior_diagnose_result.tarp_summary_capacity = ROBUSTNESS_ELEMENTS;
}

static void prepare_merger(struct robustness_fixture* fx, const char* inputs) {
  gml_merger_simulate_options so;
  gml_merger_train_options to;
  int64_t n = 0, shape[4];
  float* cube = fx->f32[0];
  const size_t image = ROBUSTNESS_MERGER_SIZE * ROBUSTNESS_MERGER_SIZE;
  join(fx->merger_images_path, inputs, "merger_images.fits");
  join(fx->merger_model_path, inputs, "merger.h5");
  join(fx->index_path, inputs, "index.h5");

  /* 2 ratios x 6 classes x 4 cameras; camera 3 validates. */
  small_merger_simulation(&so, merger_ratios, 2, 6, 4);
  check(gml_merger_simulate(fx->ctx, &so, fx->merger_images_path, &n), "gml_merger_simulate");
  gml_merger_train_options_default(&to);
  to.latent_dim = 8;
  to.batch_size = 8;
  to.max_steps = 1;
  to.max_epochs = 1;
  to.validation_cameras = merger_validation_camera;
  to.n_validation_cameras = 1;
  fx->merger_train_options = to;
  fx->merger_train_report.struct_size = sizeof fx->merger_train_report;
  check(gml_merger_train(fx->ctx, fx->merger_images_path, &to, fx->merger_model_path, NULL),
        "gml_merger_train");
  check(gml_model_load(fx->ctx, fx->merger_model_path, "merger", &fx->merger),
        "gml_model_load merger");
  check(
      gml_merger_index_build(fx->ctx, fx->merger, fx->merger_images_path, 0, fx->index_path, NULL),
      "gml_merger_index_build");

  check(gml_cutouts_read_shape(fx->merger_images_path, shape), "gml_cutouts_read_shape");
  if (shape[0] * shape[1] * shape[2] * shape[3] > ROBUSTNESS_ELEMENTS ||
      shape[0] < ROBUSTNESS_MERGER_IMAGES || shape[1] != 1 || shape[2] != ROBUSTNESS_MERGER_SIZE ||
      shape[3] != ROBUSTNESS_MERGER_SIZE)
    die("merger image cube shape", GML_ERR_INTERNAL);
  check(gml_cutouts_read(fx->merger_images_path, cube, ROBUSTNESS_ELEMENTS), "gml_cutouts_read");
  /* Images 0 and 9 differ in time and camera. */
  memcpy(fx->merger_images, cube, image * sizeof(float));
  memcpy(fx->merger_images + image, cube + 9 * image, image * sizeof(float));

  /* The simulator's smallest run for gml_merger_simulate's baseline. */
  small_merger_simulation(&fx->merger_simulate_options, merger_ratios + 1, 1, 2, 1);
  fx->merger_simulate_options.image_size = 16;
  fx->merger_simulate_options.particles_per_disk = 50;
  fx->merger_simulate_options.t_end_myr = 100;
  fx->merger_simulate_options.dt_myr = 10;

  memset(&fx->merger_classify_request, 0, sizeof fx->merger_classify_request);
  fx->merger_classify_request.struct_size = sizeof fx->merger_classify_request;
  fx->merger_classify_request.images = fx->merger_images;
  fx->merger_classify_request.n = ROBUSTNESS_MERGER_IMAGES;
  fx->merger_classify_request.channels = 1;
  fx->merger_classify_request.height = ROBUSTNESS_MERGER_SIZE;
  fx->merger_classify_request.width = ROBUSTNESS_MERGER_SIZE;
  memset(&fx->merger_classify_result, 0, sizeof fx->merger_classify_result);
  fx->merger_classify_result.struct_size = sizeof fx->merger_classify_result;
  fx->merger_classify_result.probs = fx->f32[0];
  fx->merger_classify_result.probs_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_classify_result.classes = fx->i32[0];
  fx->merger_classify_result.classes_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_classify_result.time_myr = fx->f32[1];
  fx->merger_classify_result.time_myr_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_classify_result.latent = fx->f32[2];
  fx->merger_classify_result.latent_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_classify_result.flags = fx->i32[1];
  fx->merger_classify_result.flags_capacity = ROBUSTNESS_ELEMENTS;

  memset(&fx->merger_search_request, 0, sizeof fx->merger_search_request);
  fx->merger_search_request.struct_size = sizeof fx->merger_search_request;
  fx->merger_search_request.index_path = fx->index_path;
  fx->merger_search_request.images = fx->merger_images;
  fx->merger_search_request.n = ROBUSTNESS_MERGER_IMAGES;
  fx->merger_search_request.channels = 1;
  fx->merger_search_request.height = ROBUSTNESS_MERGER_SIZE;
  fx->merger_search_request.width = ROBUSTNESS_MERGER_SIZE;
  fx->merger_search_request.k = 3;
  memset(&fx->merger_search_result, 0, sizeof fx->merger_search_result);
  fx->merger_search_result.struct_size = sizeof fx->merger_search_result;
  fx->merger_search_result.rows = fx->i64[0];
  fx->merger_search_result.rows_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_search_result.ids = fx->i64[1];
  fx->merger_search_result.ids_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_search_result.distances = fx->f32[0];
  fx->merger_search_result.distances_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_search_result.ssim = fx->f32[1];
  fx->merger_search_result.ssim_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_search_result.sim_id = fx->i32[0];
  fx->merger_search_result.sim_id_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_search_result.time_class = fx->i32[1];
  fx->merger_search_result.time_class_capacity = ROBUSTNESS_ELEMENTS;
  fx->merger_search_result.flags = fx->i32[2];
  fx->merger_search_result.flags_capacity = ROBUSTNESS_ELEMENTS;
}

static void prepare_images(struct robustness_fixture* fx, const char* data_dir) {
  size_t length = 0;
  join(fx->image_path, data_dir, "wcs/1904-66_TAN.fits");
  join(fx->catalog_path, data_dir, "sdss/gst_tests_small.fits");
  fx->image_paths[0] = fx->image_path;
  fx->image_paths[1] = NULL;
  fx->null_image_paths[0] = NULL;
  check(gml_wcs_open(fx->image_path, NULL, &fx->wcs), "gml_wcs_open");
  check(gml_wcs_header(fx->wcs, NULL, 0, &length), "gml_wcs_header length");
  fx->wcs_header = allocate(length);
  check(gml_wcs_header(fx->wcs, fx->wcs_header, length, &length), "gml_wcs_header");
  fx->wcs_header_length = strlen(fx->wcs_header);
  /* Two positions well inside the 192 x 192 image. */
  fx->pixel_x[0] = 95.5;
  fx->pixel_y[0] = 80.0;
  fx->pixel_x[1] = 40.0;
  fx->pixel_y[1] = 150.25;
  check(gml_wcs_pix2sky(fx->wcs, fx->pixel_x, fx->pixel_y, 2, 0, fx->sky_ra, fx->sky_dec, NULL),
        "gml_wcs_pix2sky");
  check(gml_catalog_open(fx->catalog_path, NULL, &fx->catalog), "gml_catalog_open");
}

/* The tiny random Stable Diffusion pipeline of the golden tests, loaded
   from its diffusers folder; calls make one 16 x 16 image in two steps. */
static void prepare_diffusion(struct robustness_fixture* fx, const char* diffusion_dir) {
  size_t i;
  snprintf(fx->diffusion_dir, sizeof fx->diffusion_dir, "%s", diffusion_dir);
  check(gml_model_load(fx->ctx, fx->diffusion_dir, "diffusion", &fx->diffusion),
        "gml_model_load diffusion");
  gml_diffusion_options_default(&fx->diffusion_options);
  fx->diffusion_options.steps = 2;
  fx->diffusion_options.height = ROBUSTNESS_DIFFUSION_SIZE;
  fx->diffusion_options.width = ROBUSTNESS_DIFFUSION_SIZE;
  fx->diffusion_options.strength = 0.5;
  gml_diffusion_procedural_options_default(&fx->diffusion_procedural_options);
  fx->diffusion_procedural_options.size = 16;
  fx->diffusion_prompts[0] = "a {barred:1.2} spiral galaxy";
  for (i = 0; i < sizeof fx->diffusion_reference / sizeof(float); ++i)
    fx->diffusion_reference[i] = (float)(i % 17) / 16.0f;
}

static void prepare_fixture(struct robustness_fixture* fx, const char* fixtures_dir,
                            const char* data_dir, const char* work_dir, const char* diffusion_dir) {
  char inputs[ROBUSTNESS_PATH_MAX];
  double t0 = now_s();
  memset(fx, 0, sizeof *fx);
  join(inputs, work_dir, "inputs");
  join(fx->out_dir, work_dir, "out");
  make_directory(work_dir);
  make_directory(inputs);
  make_directory(fx->out_dir);
  empty_directory(inputs);
  empty_directory(fx->out_dir);
  join(fx->out_h5, fx->out_dir, "result.h5");
  join(fx->out_fits, fx->out_dir, "result.fits");
  join(fx->out_model, fx->out_dir, "model.h5");
  join(fx->model_file, fixtures_dir, "valid_flow.h5");
  snprintf(fx->data_dir, sizeof fx->data_dir, "%s", data_dir);

  prepare_buffers(fx);
  prepare_options(fx);
  /* One thread: children are forked from this process, and a pool of
     worker threads does not survive a fork. */
  check(gml_init(&fx->init_options), "gml_init");
  check(gml_context_create(&fx->context_options, &fx->ctx), "gml_context_create");
  prepare_images(fx, data_dir);
  prepare_flow(fx, inputs);
  prepare_posterior(fx, inputs);
  prepare_merger(fx, inputs);
  prepare_diffusion(fx, diffusion_dir);
  empty_directory(fx->out_dir);
  printf("robustness: fixture ready in %.1f s\n", now_s() - t0);
}

/* ------------------------------------------------------------------------ */
/* One case, in a child                                                     */
/* ------------------------------------------------------------------------ */

/* Names in out_dir right before the call, so that a file the call leaves is
   told apart from one its setup made (a table writer's partial file). */
static char snapshot[SNAPSHOT_MAX][256];
static int n_snapshot = 0;

static int list_directory(const char* dir, char names[][256], int max) {
  DIR* d = opendir(dir);
  struct dirent* e;
  int n = 0;
  if (d == NULL) return 0;
  while ((e = readdir(d)) != NULL && n < max) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(names[n++], 256, "%s", e->d_name);
  }
  closedir(d);
  return n;
}

void robustness_before_call(struct robustness_fixture* fx) {
  n_snapshot = list_directory(fx->out_dir, snapshot, SNAPSHOT_MAX);
  gml_clear_error();
}

/* The first file in out_dir that was not there before the call, or NULL. */
static const char* new_file(const struct robustness_fixture* fx) {
  static char after[SNAPSHOT_MAX][256];
  int n = list_directory(fx->out_dir, after, SNAPSHOT_MAX);
  int i, j;
  for (i = 0; i < n; ++i) {
    int seen = 0;
    for (j = 0; j < n_snapshot && !seen; ++j) seen = strcmp(after[i], snapshot[j]) == 0;
    if (!seen) return after[i];
  }
  return NULL;
}

/* Whether every fixture handle still works: a handle of another type passed
   to a function (a gml_wcs freed as a context) must not have been touched. */
static const char* fixture_damage(struct robustness_fixture* fx) {
  char family[32];
  size_t length = 0;
  double scale = 0.0;
  int64_t rows = 0;
  struct {
    gml_model* model;
    const char* family;
  } models[3];
  int i;
  models[0].model = fx->flow;
  models[0].family = "flow";
  models[1].model = fx->posterior;
  models[1].family = "posterior";
  models[2].model = fx->merger;
  models[2].family = "merger";
  if (gml_context_device(fx->ctx, family, sizeof family, &length) != GML_OK)
    return "the fixture's context no longer works";
  for (i = 0; i < 3; ++i) {
    if (gml_model_family(models[i].model, family, sizeof family, &length) != GML_OK ||
        strcmp(family, models[i].family) != 0)
      return "a fixture model no longer works";
  }
  if (gml_wcs_pixel_scale(fx->wcs, &scale) != GML_OK || !(scale > 0.0))
    return "the fixture's WCS no longer works";
  if (gml_catalog_num_rows(fx->catalog, &rows) != GML_OK || rows != 10000)
    return "the fixture's catalog no longer works";
  return NULL;
}

static const char* expectation_text(const struct robustness_case* c) {
  static char text[96];
  switch (c->expect) {
    case ROBUSTNESS_EXPECT_OK: return "GML_OK";
    case ROBUSTNESS_EXPECT_STATUS:
      snprintf(text, sizeof text, "%s", gml_status_name(c->expected_status));
      return text;
    case ROBUSTNESS_EXPECT_REJECT: return "GML_ERR_INVALID_ARGUMENT or GML_ERR_CAPACITY";
    case ROBUSTNESS_EXPECT_FAIL: return "an error";
    default: return "any status";
  }
}

/* Checks one outcome; returns 0 when it passes, else writes why. */
static int judge(struct robustness_fixture* fx, const struct robustness_case* c, gml_status status,
                 char* detail) {
  const char* message;
  const char* left;
  const char* damage;
  if (c->expect == ROBUSTNESS_EXPECT_RETURN) {
    if (status == ROBUSTNESS_NULL_RESULT) {
      snprintf(detail, DETAIL_MAX, "returned NULL where the header promises a string");
      return 1;
    }
    damage = fixture_damage(fx);
    if (damage != NULL) {
      snprintf(detail, DETAIL_MAX, "returned, but %s", damage);
      return 1;
    }
    return 0;
  }
  message = gml_last_error();
  if (message == NULL) {
    snprintf(detail, DETAIL_MAX, "%s, and gml_last_error() returned NULL", gml_status_name(status));
    return 1;
  }
  if (status < GML_OK || status > GML_ERR_CALLBACK) {
    snprintf(detail, DETAIL_MAX, "returned %d, which is no status of the header: %s", (int)status,
             message);
    return 1;
  }
  if (status == GML_ERR_INTERNAL) {
    snprintf(detail, DETAIL_MAX, "GML_ERR_INTERNAL (expected %s): %s", expectation_text(c),
             message);
    return 1;
  }
  if (status != GML_OK && message[0] == '\0') {
    snprintf(detail, DETAIL_MAX, "%s with an empty message", gml_status_name(status));
    return 1;
  }
  if ((c->flags & ROBUSTNESS_OVERFLOW) && status == GML_ERR_OUT_OF_MEMORY) {
    snprintf(detail, DETAIL_MAX,
             "GML_ERR_OUT_OF_MEMORY: tried to allocate for a size no buffer can have: %s", message);
    return 1;
  }
  {
    int ok = 1;
    switch (c->expect) {
      case ROBUSTNESS_EXPECT_OK: ok = status == GML_OK; break;
      case ROBUSTNESS_EXPECT_STATUS: ok = status == c->expected_status; break;
      case ROBUSTNESS_EXPECT_REJECT:
        ok = status == GML_ERR_INVALID_ARGUMENT || status == GML_ERR_CAPACITY;
        break;
      case ROBUSTNESS_EXPECT_FAIL: ok = status != GML_OK; break;
      default: break;
    }
    if (!ok) {
      snprintf(detail, DETAIL_MAX, "%s (expected %s)%s%s", gml_status_name(status),
               expectation_text(c), message[0] ? ": " : "", message);
      return 1;
    }
  }
  if (status != GML_OK && (left = new_file(fx)) != NULL) {
    snprintf(detail, DETAIL_MAX, "%s, and left '%s' in the scratch directory: %s",
             gml_status_name(status), left, message);
    return 1;
  }
  damage = fixture_damage(fx);
  if (damage != NULL) {
    snprintf(detail, DETAIL_MAX, "%s, and %s", gml_status_name(status), damage);
    return 1;
  }
  if (verbose)
    snprintf(detail, DETAIL_MAX, "%s%s%s", gml_status_name(status), message[0] ? ": " : "",
             message);
  return 0;
}

static void limit(int resource, rlim_t value) {
  struct rlimit r;
  r.rlim_cur = value;
  r.rlim_max = value;
  setrlimit(resource, &r);
}

/* Caps the child's address space at its size now plus a head room. */
static void limit_address_space(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f == NULL) return;
  if (fscanf(f, "%lu", &pages) == 1 && pages > 0)
    limit(RLIMIT_AS, (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + CHILD_ADDRESS_HEADROOM);
  fclose(f);
}

static void run_child(struct robustness_fixture* fx, const struct robustness_case* c, int out,
                      unsigned timeout) {
  char detail[DETAIL_MAX] = "";
  gml_status status;
  int failed;
  size_t length;
  limit(RLIMIT_CORE, 0);
  limit(RLIMIT_FSIZE, CHILD_FILE_LIMIT);
  if (c->flags & ROBUSTNESS_OVERFLOW) limit_address_space();
  signal(SIGALRM, SIG_DFL);
  alarm(timeout);
  if (c->flags & ROBUSTNESS_CANCEL_FIRST) gml_cancel(fx->ctx);
  status = c->call(fx, c->mutation);
  failed = judge(fx, c, status, detail);
  length = strlen(detail);
  if (length > 0 && write(out, detail, length) < 0) failed = 1;
  _exit(failed ? 1 : 0);
}

/* Runs a case in a child; returns 0 when it passes, else fills detail. */
static int run_case(struct robustness_fixture* fx, const struct robustness_case* c,
                    unsigned timeout, char* detail) {
  int fds[2];
  pid_t pid;
  int wstatus = 0;
  ssize_t got = 0, n;
  detail[0] = '\0';
  if (pipe(fds) != 0) {
    snprintf(detail, DETAIL_MAX, "pipe: %s", strerror(errno));
    return 1;
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    snprintf(detail, DETAIL_MAX, "fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return 1;
  }
  if (pid == 0) {
    close(fds[0]);
    run_child(fx, c, fds[1], timeout);
  }
  close(fds[1]);
  while (got < DETAIL_MAX - 1 && (n = read(fds[0], detail + got, DETAIL_MAX - 1 - got)) > 0)
    got += n;
  detail[got] = '\0';
  close(fds[0]);
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  empty_directory(fx->out_dir);
  if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    if (sig == SIGALRM)
      snprintf(detail, DETAIL_MAX, "no return within %u s (hang or unbounded work)", timeout);
    else if (sig == SIGXFSZ)
      snprintf(detail, DETAIL_MAX, "wrote a file beyond %lu MiB (unbounded output)",
               (unsigned long)(CHILD_FILE_LIMIT >> 20));
    else
      snprintf(detail, DETAIL_MAX, "killed by signal %d (%s)", sig, strsignal(sig));
    return 1;
  }
  if (!WIFEXITED(wstatus)) {
    snprintf(detail, DETAIL_MAX, "ended abnormally (wait status %d)", wstatus);
    return 1;
  }
  if (WEXITSTATUS(wstatus) == 0) return 0;
  if (got == 0)
    snprintf(detail, DETAIL_MAX,
             "the process exited with status %d (exit() in the library, or the case's own "
             "setup failed: see stderr)",
             WEXITSTATUS(wstatus));
  return 1;
}

static void describe(const struct robustness_case* c, char* out, size_t size) {
  if (c->parameter == NULL)
    snprintf(out, size, "%s(valid arguments)", c->function);
  else
    snprintf(out, size, "%s(%s = %s)", c->function, c->parameter, c->value);
}

int main(int argc, char** argv) {
  static struct robustness_fixture fx;
  const char* filter = getenv("ROBUSTNESS_FILTER");
  const char* timeout_text = getenv("ROBUSTNESS_TIMEOUT");
  unsigned timeout = 20;
  size_t i, n_run = 0, n_failed = 0, n_known = 0;
  double t0 = now_s();
  if (argc != 5) {
    fprintf(stderr, "usage: %s FIXTURES_DIR DATA_DIR WORK_DIR DIFFUSION_DIR\n", argv[0]);
    return 2;
  }
  verbose = getenv("ROBUSTNESS_VERBOSE") != NULL;
  if (timeout_text != NULL && atoi(timeout_text) > 0) timeout = (unsigned)atoi(timeout_text);
  setvbuf(stdout, NULL, _IOLBF, 0);
  prepare_fixture(&fx, argv[1], argv[2], argv[3], argv[4]);

  for (i = 0; i < robustness_n_cases; ++i) {
    const struct robustness_case* c = &robustness_cases[i];
    char name[256], detail[DETAIL_MAX];
    double t_case = now_s();
    int failed;
    if (filter != NULL && strstr(c->function, filter) == NULL) continue;
    describe(c, name, sizeof name);
    failed = run_case(&fx, c, c->timeout_s > 0 ? (unsigned)c->timeout_s : timeout, detail);
    ++n_run;
    if (c->expected_finding != NULL) {
      if (failed) {
        ++n_known;
        printf("KNOWN %s: %s\n", name, detail);
      } else {
        ++n_failed;
        printf("FAIL  %s: passes now; remove its expected_finding from the generator\n", name);
      }
    } else if (failed) {
      ++n_failed;
      printf("FAIL  %s: %s\n", name, detail);
    } else if (verbose) {
      printf("ok    %s: %s (%.2f s)\n", name, detail, now_s() - t_case);
    }
  }
  printf("robustness: %lu cases run, %lu failed, %lu known findings, %.1f s\n",
         (unsigned long)n_run, (unsigned long)n_failed, (unsigned long)n_known, now_s() - t0);
  return n_failed == 0 ? 0 : 1;
}
