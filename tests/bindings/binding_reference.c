/* Reference outputs of the C ABI that every language binding must reproduce
   bit for bit.

   usage: binding_reference OUTDIR [DIFFUSION_DIR]

   Trains a tiny flow, posterior and merger model through the C interface,
   runs each family's main calls on deterministic inputs, and writes into
   OUTDIR the model files, every input and output array as a raw
   little-endian C-order file, and manifest.json describing them (with
   DIFFUSION_DIR, an absolute path to a diffusers Stable Diffusion folder,
   also text-to-image images). The inputs have unequal dimensions wherever
   the interface allows, so that a binding that transposes or mixes axes
   cannot match. OUTDIR must exist. manifest.json is written last, under a
   temporary name renamed into place, so a run that fails leaves none. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "galaxyml/galaxyml.h"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

static void die(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fputs("binding_reference: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

/* Every library call goes through here: a failure names the call, the
   status and the library's own message. */
static void check(gml_status status, const char* call) {
  if (status != GML_OK) die("%s: %s: %s", call, gml_status_name(status), gml_last_error());
}

static void* checked_malloc(size_t bytes) {
  void* p = malloc(bytes ? bytes : 1);
  if (!p) die("out of memory (%lu bytes)", (unsigned long)bytes);
  return p;
}

/* ------------------------------------------------------------------------ */
/* Raw arrays and their table in the manifest                               */
/* ------------------------------------------------------------------------ */

#define MAX_ARRAYS 32
#define MAX_RANK 4

typedef struct array_entry {
  char name[64];
  const char* dtype;
  int rank;
  int64_t shape[MAX_RANK];
} array_entry;

static const char* g_outdir = NULL;
static array_entry g_arrays[MAX_ARRAYS];
static int g_n_arrays = 0;

static char* out_path(const char* file) {
  size_t n = strlen(g_outdir) + strlen(file) + 2;
  char* path = (char*)checked_malloc(n);
  sprintf(path, "%s/%s", g_outdir, file);
  return path;
}

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* Writes count elements of elem_size bytes as little-endian, whatever the
   host's byte order, and records the array in the manifest's table. */
static void write_array(const char* name, const char* dtype, size_t elem_size, const void* data,
                        int rank, const int64_t* shape) {
  array_entry* e;
  char file[80];
  char* path;
  FILE* f;
  size_t count = 1, i;
  int d;
  const unsigned char* bytes = (const unsigned char*)data;
  if (g_n_arrays == MAX_ARRAYS || rank > MAX_RANK || strlen(name) >= sizeof e->name)
    die("array table too small for %s", name);
  for (d = 0; d < rank; ++d) count *= (size_t)shape[d];
  sprintf(file, "%s.bin", name);
  path = out_path(file);
  f = fopen(path, "wb");
  if (!f) die("cannot create %s", path);
  if (host_is_little_endian()) {
    if (fwrite(bytes, elem_size, count, f) != count) die("cannot write %s", path);
  } else {
    for (i = 0; i < count; ++i) {
      size_t b;
      for (b = elem_size; b-- > 0;)
        if (fputc(bytes[i * elem_size + b], f) == EOF) die("cannot write %s", path);
    }
  }
  if (fclose(f) != 0) die("cannot write %s", path);
  free(path);
  e = &g_arrays[g_n_arrays++];
  strcpy(e->name, name);
  e->dtype = dtype;
  e->rank = rank;
  for (d = 0; d < rank; ++d) e->shape[d] = shape[d];
}

static void write_f32(const char* name, const float* data, int rank, const int64_t* shape) {
  write_array(name, "float32", sizeof(float), data, rank, shape);
}
static void write_f64(const char* name, const double* data, int rank, const int64_t* shape) {
  write_array(name, "float64", sizeof(double), data, rank, shape);
}
static void write_i32(const char* name, const int32_t* data, int rank, const int64_t* shape) {
  write_array(name, "int32", sizeof(int32_t), data, rank, shape);
}

/* ------------------------------------------------------------------------ */
/* Deterministic inputs                                                     */
/* ------------------------------------------------------------------------ */

/* PCG-style 64-bit LCG: the simulator's noise must not depend on the C
   library's rand(), which differs between platforms. */
typedef struct lcg {
  uint64_t state;
} lcg;

static double lcg_uniform(lcg* g) {
  g->state = g->state * 6364136223846793005ULL + 1442695040888963407ULL;
  return ((double)(g->state >> 11) + 0.5) / 9007199254740992.0;
}

static double lcg_normal(lcg* g) {
  const double u1 = lcg_uniform(g), u2 = lcg_uniform(g);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ------------------------------------------------------------------------ */
/* Flow: stars of galaxies                                                  */
/* ------------------------------------------------------------------------ */

#define FLOW_TRAIN_GALAXIES 4
#define FLOW_TRAIN_STARS 300
#define FLOW_GALAXIES 2
#define FLOW_STARS_PER_GALAXY 37
#define FLOW_SAMPLE_SEED 101

typedef struct flow_reference {
  int64_t n_galaxies, n_per_galaxy, n_conditions;
  uint64_t seed;
} flow_reference;

static void run_flow(gml_context* ctx, flow_reference* ref) {
  char* stars_path = out_path("flow_training_stars.h5");
  char* model_path = out_path("flow.h5");
  gml_flow_train_options o;
  gml_model* model = NULL;
  int64_t data_dim = 0, cond_dim = 0, g, i, k;
  double* conditions;
  double* star_conditions;
  float* stars;
  double* log_prob;
  int64_t n_stars = FLOW_GALAXIES * FLOW_STARS_PER_GALAXY;
  int64_t shape[2];

  check(gml_flow_simulate(ctx, FLOW_TRAIN_GALAXIES, FLOW_TRAIN_STARS, NULL, 11, stars_path),
        "gml_flow_simulate");
  gml_flow_train_options_default(&o);
  o.steps = 20;
  o.batch_size = 128;
  o.eval_every = 10;
  o.seed = 3;
  o.config_json = "{\"num_blocks\":2,\"hidden_width\":16,\"hidden_layers\":1}";
  check(gml_flow_train(ctx, stars_path, &o, model_path), "gml_flow_train");
  check(gml_model_load(ctx, model_path, "flow", &model), "gml_model_load(flow)");
  check(gml_flow_dims(model, &data_dim, &cond_dim), "gml_flow_dims");

  /* Conditions of real training galaxies, so the model does not extrapolate. */
  conditions = (double*)checked_malloc(sizeof(double) * FLOW_GALAXIES * cond_dim);
  for (g = 0; g < FLOW_GALAXIES; ++g)
    check(gml_flow_read_galaxy(stars_path, g, NULL, 0, NULL, NULL, conditions + g * cond_dim,
                               (size_t)cond_dim),
          "gml_flow_read_galaxy");

  stars = (float*)checked_malloc(sizeof(float) * n_stars * data_dim);
  check(gml_flow_sample(ctx, model, conditions, FLOW_GALAXIES, FLOW_STARS_PER_GALAXY,
                        FLOW_SAMPLE_SEED, stars, (size_t)(n_stars * data_dim), NULL),
        "gml_flow_sample");

  /* One condition row per star, each moved slightly off its galaxy's so that
     a binding pairing stars with the wrong rows gets other densities. */
  star_conditions = (double*)checked_malloc(sizeof(double) * n_stars * cond_dim);
  for (i = 0; i < n_stars; ++i)
    for (k = 0; k < cond_dim; ++k)
      star_conditions[i * cond_dim + k] = conditions[(i / FLOW_STARS_PER_GALAXY) * cond_dim + k] *
                                          (1.0 + 0.001 * (double)((i * 7 + k * 3) % 11 - 5));
  log_prob = (double*)checked_malloc(sizeof(double) * n_stars);
  check(gml_flow_log_prob(ctx, model, stars, n_stars, star_conditions, n_stars, log_prob),
        "gml_flow_log_prob");

  shape[0] = FLOW_GALAXIES;
  shape[1] = cond_dim;
  write_f64("flow_sample_conditions", conditions, 2, shape);
  shape[0] = n_stars;
  shape[1] = data_dim;
  write_f32("flow_sample_stars", stars, 2, shape);
  write_f32("flow_log_prob_stars", stars, 2, shape);
  shape[1] = cond_dim;
  write_f64("flow_log_prob_conditions", star_conditions, 2, shape);
  write_f64("flow_log_prob", log_prob, 1, shape);

  ref->n_galaxies = FLOW_GALAXIES;
  ref->n_per_galaxy = FLOW_STARS_PER_GALAXY;
  ref->n_conditions = n_stars;
  ref->seed = FLOW_SAMPLE_SEED;

  gml_model_free(model);
  if (remove(stars_path) != 0) die("cannot remove %s", stars_path);
  free(conditions);
  free(star_conditions);
  free(stars);
  free(log_prob);
  free(stars_path);
  free(model_path);
}

/* ------------------------------------------------------------------------ */
/* Posterior: parameters given observations                                 */
/* ------------------------------------------------------------------------ */

#define THETA_DIM 3
#define X_DIM 4
#define POSTERIOR_SIMULATIONS 1500
#define SAMPLE_OBS 2
#define SAMPLE_DRAWS 7
#define SUMMARY_OBS 6
#define SUMMARY_DRAWS 64
#define POSTERIOR_SAMPLE_SEED 202
#define POSTERIOR_SUMMARY_SEED 303

static const double kPriorLower[THETA_DIM] = {-1.0, 0.0, -2.0};
static const double kPriorUpper[THETA_DIM] = {1.0, 3.0, 2.0};

/* A linear forward model with its own noise stream, as a host simulator
   written in any language would be. */
static void forward_model(const double* t, double* x, lcg* noise) {
  x[0] = t[0] + t[1] + 0.05 * lcg_normal(noise);
  x[1] = t[0] - t[2] + 0.05 * lcg_normal(noise);
  x[2] = 0.5 * t[1] * t[2] + 0.05 * lcg_normal(noise);
  x[3] = t[2] + 0.2 * t[0] + 0.05 * lcg_normal(noise);
}

static int32_t host_simulator(const double* theta, int64_t n, double* x_out, void* user) {
  int64_t i;
  for (i = 0; i < n; ++i) forward_model(theta + i * THETA_DIM, x_out + i * X_DIM, (lcg*)user);
  return 0;
}

/* Observations of parameters spread through the prior box. */
static void posterior_observations(int64_t n_obs, uint64_t noise_seed, double* x) {
  lcg noise;
  int64_t i, k;
  noise.state = noise_seed;
  for (i = 0; i < n_obs; ++i) {
    double t[THETA_DIM];
    for (k = 0; k < THETA_DIM; ++k) {
      const double f = (double)((i * (k + 2) + k) % (n_obs + 1) + 1) / (double)(n_obs + 2);
      t[k] = kPriorLower[k] + f * (kPriorUpper[k] - kPriorLower[k]);
    }
    forward_model(t, x + i * X_DIM, &noise);
  }
}

typedef struct posterior_reference {
  uint64_t sample_seed, summary_seed;
} posterior_reference;

static void run_posterior(gml_context* ctx, posterior_reference* ref) {
  char* sims_path = out_path("posterior_simulations.h5");
  char* model_path = out_path("posterior.h5");
  gml_posterior_simulate_options so;
  gml_posterior_train_options to;
  gml_model* model = NULL;
  lcg noise;
  int64_t theta_dim = 0, x_dim = 0;
  double x_sample[SAMPLE_OBS * X_DIM];
  double theta[SAMPLE_OBS * SAMPLE_DRAWS * THETA_DIM];
  double x_summary[SUMMARY_OBS * X_DIM];
  double summary[SUMMARY_OBS * THETA_DIM * GML_SUMMARY_COLUMNS];
  int64_t shape[3];

  gml_posterior_simulate_options_default(&so);
  so.batch_size = 500;
  so.seed = 7;
  noise.state = 12345;
  check(gml_posterior_simulate(ctx, host_simulator, &noise, THETA_DIM, X_DIM, kPriorLower,
                               kPriorUpper, POSTERIOR_SIMULATIONS, &so, sims_path),
        "gml_posterior_simulate");
  gml_posterior_train_options_default(&to);
  to.num_blocks = 2;
  to.hidden_width = 16;
  to.batch_size = 128;
  to.learning_rate = 2e-3;
  to.max_epochs = 3;
  to.seed = 1;
  check(gml_posterior_train(ctx, sims_path, &to, model_path), "gml_posterior_train");
  check(gml_model_load(ctx, model_path, "posterior", &model), "gml_model_load(posterior)");
  check(gml_posterior_dims(model, &theta_dim, &x_dim), "gml_posterior_dims");
  if (theta_dim != THETA_DIM || x_dim != X_DIM)
    die("posterior model has dims (%lld, %lld), expected (%d, %d)", (long long)theta_dim,
        (long long)x_dim, THETA_DIM, X_DIM);

  posterior_observations(SAMPLE_OBS, 99, x_sample);
  check(gml_posterior_sample(ctx, model, x_sample, SAMPLE_OBS, SAMPLE_DRAWS, POSTERIOR_SAMPLE_SEED,
                             theta, sizeof theta / sizeof theta[0], NULL),
        "gml_posterior_sample");
  posterior_observations(SUMMARY_OBS, 98, x_summary);
  check(gml_posterior_summarize(ctx, model, x_summary, SUMMARY_OBS, SUMMARY_DRAWS,
                                POSTERIOR_SUMMARY_SEED, summary, sizeof summary / sizeof summary[0],
                                NULL),
        "gml_posterior_summarize");

  shape[0] = SAMPLE_OBS;
  shape[1] = X_DIM;
  write_f64("posterior_sample_x", x_sample, 2, shape);
  shape[1] = SAMPLE_DRAWS;
  shape[2] = THETA_DIM;
  write_f64("posterior_sample_theta", theta, 3, shape);
  shape[0] = SUMMARY_OBS;
  shape[1] = X_DIM;
  write_f64("posterior_summarize_x", x_summary, 2, shape);
  shape[1] = THETA_DIM;
  shape[2] = GML_SUMMARY_COLUMNS;
  write_f64("posterior_summary", summary, 3, shape);

  ref->sample_seed = POSTERIOR_SAMPLE_SEED;
  ref->summary_seed = POSTERIOR_SUMMARY_SEED;

  gml_model_free(model);
  if (remove(sims_path) != 0) die("cannot remove %s", sims_path);
  free(sims_path);
  free(model_path);
}

/* ------------------------------------------------------------------------ */
/* Merger: dynamical stage of images                                        */
/* ------------------------------------------------------------------------ */

#define MERGER_IMAGE_SIZE 24
#define MERGER_IMAGES 3

typedef struct merger_reference {
  int64_t n, channels, size, latent_dim;
} merger_reference;

/* Two Gaussian galaxies whose separation and position angle change from
   image to image, on a faint gradient along x only: no image is symmetric
   under transposition, so swapped axes change the outputs. */
static void merger_images(int64_t n, int64_t channels, int64_t size, float* images) {
  int64_t i, c, y, x;
  for (i = 0; i < n; ++i)
    for (c = 0; c < channels; ++c)
      for (y = 0; y < size; ++y)
        for (x = 0; x < size; ++x) {
          const double sep = 2.0 + 2.5 * (double)i, angle = 0.4 + 0.7 * (double)i;
          const double cx = 0.5 * (double)(size - 1), cy = 0.45 * (double)(size - 1);
          const double x1 = cx - 0.5 * sep * cos(angle), y1 = cy - 0.5 * sep * sin(angle);
          const double x2 = cx + 0.5 * sep * cos(angle), y2 = cy + 0.5 * sep * sin(angle);
          const double d1 =
              ((double)x - x1) * ((double)x - x1) + ((double)y - y1) * ((double)y - y1);
          const double d2 =
              ((double)x - x2) * ((double)x - x2) + ((double)y - y2) * ((double)y - y2);
          const double v = exp(-d1 / 8.0) + 0.6 * exp(-d2 / 4.5) + 0.01 * (double)x / (double)size;
          images[((i * channels + c) * size + y) * size + x] = (float)v;
        }
}

static void run_merger(gml_context* ctx, merger_reference* ref) {
  char* sims_path = out_path("merger_simulations.fits");
  char* model_path = out_path("merger.h5");
  const double ratios[2] = {0.5, 1.0};
  const int32_t validation_camera[1] = {3};
  gml_merger_simulate_options so;
  gml_merger_train_options to;
  gml_merger_train_report report;
  gml_model* model = NULL;
  int64_t n_sims = 0, channels = 0, size = 0, n_classes = 0, latent_dim = 0;
  float *images, *probs, *time_myr, *latent = NULL;
  int32_t *classes, *flags;
  int64_t shape[4];
  const int64_t n = MERGER_IMAGES;

  gml_merger_simulate_options_default(&so);
  so.mass_ratios = ratios;
  so.n_mass_ratios = 2;
  so.sims_per_ratio = 1;
  so.n_time_classes = 6;
  so.n_cameras = 4;
  so.image_size = MERGER_IMAGE_SIZE;
  so.particles_per_disk = 300;
  so.t_end_myr = 1500;
  so.dt_myr = 2;
  so.seed = 17;
  so.n_threads = 1;
  check(gml_merger_simulate(ctx, &so, sims_path, &n_sims), "gml_merger_simulate");
  gml_merger_train_options_default(&to);
  to.latent_dim = 8;
  to.batch_size = 8;
  to.max_steps = 3;
  to.max_epochs = 1;
  to.validation_cameras = validation_camera;
  to.n_validation_cameras = 1;
  to.seed = 1;
  report.struct_size = sizeof report;
  check(gml_merger_train(ctx, sims_path, &to, model_path, &report), "gml_merger_train");
  check(gml_model_load(ctx, model_path, "merger", &model), "gml_model_load(merger)");
  check(gml_merger_dims(model, &channels, &size, &n_classes, &latent_dim), "gml_merger_dims");

  images = (float*)checked_malloc(sizeof(float) * n * channels * size * size);
  merger_images(n, channels, size, images);
  probs = (float*)checked_malloc(sizeof(float) * n * n_classes);
  time_myr = (float*)checked_malloc(sizeof(float) * n);
  classes = (int32_t*)checked_malloc(sizeof(int32_t) * n);
  flags = (int32_t*)checked_malloc(sizeof(int32_t) * n);
  if (latent_dim > 0) latent = (float*)checked_malloc(sizeof(float) * n * latent_dim);
  check(gml_merger_classify(ctx, model, images, n, channels, size, size, 0, probs, classes,
                            time_myr, latent, flags),
        "gml_merger_classify");

  shape[0] = n;
  shape[1] = channels;
  shape[2] = size;
  shape[3] = size;
  write_f32("merger_classify_images", images, 4, shape);
  shape[1] = n_classes;
  write_f32("merger_classify_probs", probs, 2, shape);
  write_i32("merger_classify_classes", classes, 1, shape);
  write_f32("merger_classify_time_myr", time_myr, 1, shape);
  write_i32("merger_classify_flags", flags, 1, shape);
  if (latent) {
    shape[1] = latent_dim;
    write_f32("merger_classify_latent", latent, 2, shape);
  }

  ref->n = n;
  ref->channels = channels;
  ref->size = size;
  ref->latent_dim = latent_dim;

  gml_model_free(model);
  if (remove(sims_path) != 0) die("cannot remove %s", sims_path);
  free(images);
  free(probs);
  free(time_myr);
  free(classes);
  free(flags);
  free(latent);
  free(sims_path);
  free(model_path);
}

/* ------------------------------------------------------------------------ */
/* Diffusion: text-to-image                                                 */
/* ------------------------------------------------------------------------ */

#define DIFFUSION_PROMPT "a {barred:1.3} spiral galaxy, face-on"
#define DIFFUSION_SCHEDULER "euler_a"
#define DIFFUSION_N 2
#define DIFFUSION_HEIGHT 16
#define DIFFUSION_WIDTH 24
#define DIFFUSION_STEPS 2
#define DIFFUSION_GUIDANCE 4.5
#define DIFFUSION_SEED 404

static void run_diffusion(gml_context* ctx, const char* diffusers_dir) {
  const char* prompts[1] = {DIFFUSION_PROMPT};
  gml_diffusion_options o;
  gml_model* model = NULL;
  int64_t shape[4];
  float* images;
  size_t count;

  check(gml_model_load(ctx, diffusers_dir, "diffusion", &model), "gml_model_load(diffusion)");
  gml_diffusion_options_default(&o);
  o.negative_prompt = "";
  o.n_per_prompt = DIFFUSION_N;
  o.height = DIFFUSION_HEIGHT;
  o.width = DIFFUSION_WIDTH;
  o.steps = DIFFUSION_STEPS;
  o.scheduler = DIFFUSION_SCHEDULER;
  o.guidance = DIFFUSION_GUIDANCE;
  o.seed = DIFFUSION_SEED;
  check(gml_diffusion_image_shape(model, &o, 1, shape), "gml_diffusion_image_shape");
  count = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
  images = (float*)checked_malloc(sizeof(float) * count);
  check(gml_diffusion_txt2img(ctx, model, prompts, 1, &o, images, count), "gml_diffusion_txt2img");
  write_f32("diffusion_txt2img_images", images, 4, shape);
  gml_model_free(model);
  free(images);
}

/* ------------------------------------------------------------------------ */
/* Manifest                                                                 */
/* ------------------------------------------------------------------------ */

static void json_string(FILE* f, const char* s) {
  fputc('"', f);
  for (; *s; ++s) {
    const unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void write_manifest(const flow_reference* flow, const posterior_reference* posterior,
                           const merger_reference* merger, const char* diffusers_dir) {
  char* tmp_path = out_path("manifest.json.tmp");
  char* path = out_path("manifest.json");
  FILE* f = fopen(tmp_path, "w");
  int i, d;
  if (!f) die("cannot create %s", tmp_path);

  fprintf(f, "{\n  \"library_version\": ");
  json_string(f, gml_version_string());
  /* Diffusion images depend on the intra-op thread count by float rounding;
     a binding must run with this count to match them bit for bit. */
  fprintf(f, ",\n  \"device\": \"cpu\",\n  \"num_threads\": %d,\n  \"arrays\": {\n",
          (int)gml_num_threads());
  for (i = 0; i < g_n_arrays; ++i) {
    const array_entry* e = &g_arrays[i];
    fprintf(f, "    \"%s\": {\"file\": \"%s.bin\", \"dtype\": \"%s\", \"shape\": [", e->name,
            e->name, e->dtype);
    for (d = 0; d < e->rank; ++d) fprintf(f, "%s%lld", d ? ", " : "", (long long)e->shape[d]);
    fprintf(f, "]}%s\n", i + 1 < g_n_arrays ? "," : "");
  }
  fprintf(f, "  },\n");

  fprintf(f,
          "  \"flow\": {\n    \"model\": \"flow.h5\",\n"
          "    \"sample\": {\"conditions\": \"flow_sample_conditions\", \"n_galaxies\": %lld, "
          "\"n_per_galaxy\": %lld, \"seed\": %llu, \"stars\": \"flow_sample_stars\"},\n"
          "    \"log_prob\": {\"stars\": \"flow_log_prob_stars\", \"conditions\": "
          "\"flow_log_prob_conditions\", \"n_conditions\": %lld, \"log_prob\": "
          "\"flow_log_prob\"}\n  },\n",
          (long long)flow->n_galaxies, (long long)flow->n_per_galaxy,
          (unsigned long long)flow->seed, (long long)flow->n_conditions);

  fprintf(f,
          "  \"posterior\": {\n    \"model\": \"posterior.h5\",\n"
          "    \"sample\": {\"x\": \"posterior_sample_x\", \"n_obs\": %d, \"n_samples\": %d, "
          "\"seed\": %llu, \"theta\": \"posterior_sample_theta\"},\n"
          "    \"summarize\": {\"x\": \"posterior_summarize_x\", \"n_obs\": %d, \"n_samples\": %d, "
          "\"seed\": %llu, \"summary\": \"posterior_summary\"}\n  },\n",
          SAMPLE_OBS, SAMPLE_DRAWS, (unsigned long long)posterior->sample_seed, SUMMARY_OBS,
          SUMMARY_DRAWS, (unsigned long long)posterior->summary_seed);

  fprintf(f,
          "  \"merger\": {\n    \"model\": \"merger.h5\",\n"
          "    \"classify\": {\"images\": \"merger_classify_images\", \"n\": %lld, "
          "\"channels\": %lld, \"height\": %lld, \"width\": %lld, \"resize\": 0, "
          "\"probs\": \"merger_classify_probs\", \"classes\": \"merger_classify_classes\", "
          "\"time_myr\": \"merger_classify_time_myr\", \"latent\": %s, "
          "\"flags\": \"merger_classify_flags\"}\n  }",
          (long long)merger->n, (long long)merger->channels, (long long)merger->size,
          (long long)merger->size, merger->latent_dim > 0 ? "\"merger_classify_latent\"" : "null");

  if (diffusers_dir) {
    fprintf(f, ",\n  \"diffusion\": {\n    \"model\": ");
    json_string(f, diffusers_dir);
    fprintf(f, ",\n    \"txt2img\": {\"prompt\": ");
    json_string(f, DIFFUSION_PROMPT);
    fprintf(f,
            ", \"negative_prompt\": \"\", \"n\": %d, \"height\": %d, \"width\": %d, "
            "\"steps\": %d, \"scheduler\": \"%s\", \"guidance\": %.17g, \"seed\": %d, "
            "\"images\": \"diffusion_txt2img_images\"}\n  }",
            DIFFUSION_N, DIFFUSION_HEIGHT, DIFFUSION_WIDTH, DIFFUSION_STEPS, DIFFUSION_SCHEDULER,
            DIFFUSION_GUIDANCE, DIFFUSION_SEED);
  }
  fprintf(f, "\n}\n");
  if (ferror(f) || fclose(f) != 0) die("cannot write %s", tmp_path);
  if (rename(tmp_path, path) != 0) die("cannot rename %s to %s", tmp_path, path);
  free(tmp_path);
  free(path);
}

int main(int argc, char** argv) {
  gml_context_options co;
  gml_context* ctx = NULL;
  flow_reference flow;
  posterior_reference posterior;
  merger_reference merger;
  const char* diffusers_dir = argc == 3 ? argv[2] : NULL;
  char* manifest;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s OUTDIR [DIFFUSION_DIR]\n", argv[0]);
    return 2;
  }
  /* Bindings open the folder from wherever they run. */
  if (diffusers_dir && diffusers_dir[0] != '/')
    die("DIFFUSION_DIR must be an absolute path: %s", diffusers_dir);
  g_outdir = argv[1];

  /* A manifest from an earlier run must not describe this run's files. */
  manifest = out_path("manifest.json");
  remove(manifest);
  free(manifest);

  gml_context_options_default(&co);
  co.device = "cpu";
  check(gml_context_create(&co, &ctx), "gml_context_create");
  run_flow(ctx, &flow);
  run_posterior(ctx, &posterior);
  run_merger(ctx, &merger);
  if (diffusers_dir) run_diffusion(ctx, diffusers_dir);
  gml_context_free(ctx);
  write_manifest(&flow, &posterior, &merger, diffusers_dir);
  return 0;
}
