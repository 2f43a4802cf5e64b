/*
 * Shared declarations of the C-ABI robustness harness: the fixture that the
 * generated calls (robustness_calls.c) draw their valid arguments from, and
 * the table of cases they export to the runner (robustness_main.c).
 */
#ifndef GALAXYML_TESTS_ROBUSTNESS_H
#define GALAXYML_TESTS_ROBUSTNESS_H

#include <stddef.h>
#include <stdint.h>

#include "galaxyml/galaxyml.h"

/* Elements of every scratch output buffer, of the text buffer and of the
   NaN-filled inputs: more than any baseline call needs (a 192 x 192 image
   read back is the largest), so that only a mutated argument can make a call
   run out of room. */
#define ROBUSTNESS_ELEMENTS 65536
/* Pixels per side of the images the diffusion calls make. */
#define ROBUSTNESS_DIFFUSION_SIZE 16
/* Output buffers per element type: no baseline call has more outputs of one
   type than this, so outputs never alias each other. */
#define ROBUSTNESS_BUFFERS 6
#define ROBUSTNESS_PATH_MAX 1024

/* The merger fixture's images: [ROBUSTNESS_MERGER_IMAGES, 1, S, S]. */
#define ROBUSTNESS_MERGER_SIZE 32
#define ROBUSTNESS_MERGER_IMAGES 2

/* What a case asserts about the status it gets, on top of what every case
   asserts (it returns, within the time limit, a status the header defines,
   never GML_ERR_INTERNAL, a message with every failure, no file left in the
   scratch directory by a failure, and every fixture handle still alive). */
enum robustness_expect {
  /* GML_OK: a baseline, or a NULL the header documents as allowed. */
  ROBUSTNESS_EXPECT_OK,
  /* Exactly expected_status (e.g. GML_ERR_INVALID_ARGUMENT for a required
     pointer that is NULL, GML_ERR_FAMILY for a model of another family). */
  ROBUSTNESS_EXPECT_STATUS,
  /* GML_ERR_INVALID_ARGUMENT or GML_ERR_CAPACITY: a size no buffer can
     have, refused before any work or allocation. */
  ROBUSTNESS_EXPECT_REJECT,
  /* Any status but GML_OK (e.g. an empty path). */
  ROBUSTNESS_EXPECT_FAIL,
  /* Any status: the value may be valid (a count of zero, a huge capacity). */
  ROBUSTNESS_EXPECT_CLEAN,
  /* A function without a status (frees, *_options_default): it returns. */
  ROBUSTNESS_EXPECT_RETURN
};

/* Case flags. */
enum {
  /* The context is cancelled before the call: the argument selects work
     far beyond a test's budget (NULL options of a training run mean the
     default 20000 steps), and the call must still check it and stop
     cleanly at its first check point. */
  ROBUSTNESS_CANCEL_FIRST = 1,
  /* The value is a size that no buffer can have: GML_ERR_OUT_OF_MEMORY
     means the call tried to allocate for it instead of refusing it. */
  ROBUSTNESS_OVERFLOW = 2
};

/* A status-less function that returned NULL where the header promises a
   string; never a gml_status value. */
#define ROBUSTNESS_NULL_RESULT (-1000)

struct robustness_fixture {
  /* One live handle of every type, and one model of every family. */
  gml_context* ctx;
  gml_model* flow;
  gml_model* posterior;
  gml_model* merger;
  gml_model* diffusion;
  gml_wcs* wcs;
  gml_catalog* catalog;

  /* Input files. */
  char model_file[ROBUSTNESS_PATH_MAX]; /* a valid model file (tests/abi fixture) */
  char stars_path[ROBUSTNESS_PATH_MAX]; /* a star table of three galaxies */
  char flow_model_path[ROBUSTNESS_PATH_MAX];
  char training_set_path[ROBUSTNESS_PATH_MAX]; /* 60 simulations, theta_dim = x_dim = 2 */
  char posterior_model_path[ROBUSTNESS_PATH_MAX];
  char merger_images_path[ROBUSTNESS_PATH_MAX]; /* a merger simulator file */
  char merger_model_path[ROBUSTNESS_PATH_MAX];
  char index_path[ROBUSTNESS_PATH_MAX]; /* a latent index built by the merger model */
  char image_path[ROBUSTNESS_PATH_MAX]; /* a 192 x 192 image with a TAN WCS */
  char catalog_path[ROBUSTNESS_PATH_MAX];
  char data_dir[ROBUSTNESS_PATH_MAX];
  char diffusion_dir[ROBUSTNESS_PATH_MAX]; /* the tiny diffusers pipeline (tests/golden) */
  /* One band, then a NULL: a band count beyond the one band (INT32_MAX
     bands fit in the address space, so no size check can refuse them)
     meets the NULL and is refused, instead of reading past the array. */
  const char* image_paths[2];
  const char* null_image_paths[1];

  /* Output files. Every one lies in out_dir, which a failed call must leave
     as it found it. */
  char out_dir[ROBUSTNESS_PATH_MAX];
  char out_h5[ROBUSTNESS_PATH_MAX];
  char out_fits[ROBUSTNESS_PATH_MAX];
  char out_model[ROBUSTNESS_PATH_MAX];

  /* Valid inputs of the baseline calls. */
  double flow_conditions[8];     /* [2, 4]: two galaxies of the star table */
  float flow_stars[2 * 10];      /* [2, 10]: two stars of galaxy 0 */
  double prior_lower[2];         /* the posterior simulator's box */
  double prior_upper[2];         /* */
  double posterior_x[4];         /* [2, 2]: two observations */
  double posterior_theta[4];     /* [2, 2] */
  float* merger_images;          /* [2, 1, 32, 32] from the simulator file */
  double pixel_x[2], pixel_y[2]; /* pixels of the image, 0-based */
  double sky_ra[2], sky_dec[2];  /* the same positions on the sky */
  char* wcs_header;              /* the image's WCS as header cards */
  size_t wcs_header_length;
  const char* diffusion_prompts[1];
  float diffusion_reference[3 * ROBUSTNESS_DIFFUSION_SIZE * ROBUSTNESS_DIFFUSION_SIZE];
  const void* writer_data[1]; /* one float column for gml_table_writer_append */
  const void* writer_null_data[1];

  /* Inputs that are all NaN. */
  double* nan_f64;
  float* nan_f32;

  /* Options and request/result structs that make every call small and
     quick; the calls take copies. */
  gml_init_options init_options;
  gml_context_options context_options;
  gml_model_info model_info;
  gml_cutout_options cutout_options;
  gml_table_writer_options table_writer_options;
  gml_flow_train_options flow_train_options;
  gml_posterior_simulate_options posterior_simulate_options;
  gml_posterior_train_options posterior_train_options;
  gml_posterior_run_options posterior_run_options;
  gml_posterior_diagnose_request posterior_diagnose_request;
  gml_posterior_diagnose_result posterior_diagnose_result;
  gml_merger_simulate_options merger_simulate_options;
  gml_merger_train_options merger_train_options;
  gml_merger_train_report merger_train_report;
  gml_merger_classify_request merger_classify_request;
  gml_merger_classify_result merger_classify_result;
  gml_diffusion_options diffusion_options;
  gml_diffusion_procedural_options diffusion_procedural_options;
  gml_merger_search_request merger_search_request;
  gml_merger_search_result merger_search_result;
  gml_posterior_import_options posterior_import_options;
  gml_posterior_import_report posterior_import_report;
  gml_posterior_sample_options posterior_sample_options;

  /* Scratch outputs, ROBUSTNESS_ELEMENTS elements each. */
  float* f32[ROBUSTNESS_BUFFERS];
  double* f64[ROBUSTNESS_BUFFERS];
  int32_t* i32[ROBUSTNESS_BUFFERS];
  int64_t* i64[ROBUSTNESS_BUFFERS];
  uint8_t* u8[ROBUSTNESS_BUFFERS];
  size_t* sz[ROBUSTNESS_BUFFERS];
  char* text;
};

struct robustness_case {
  const char* function;
  const char* parameter; /* NULL for the baseline call */
  const char* value;     /* what the parameter was set to */
  gml_status (*call)(struct robustness_fixture* fx, int mutation);
  int mutation; /* 0: the baseline */
  int expect;   /* enum robustness_expect */
  gml_status expected_status;
  int flags;
  /* Seconds the call may take; 0: the runner's limit. Known hangs get a
     short one so that they do not slow every run. */
  int timeout_s;
  /* A library defect this case is known to show: the runner reports the
     case as KNOWN instead of failing, and fails once the case passes, so
     that the note is removed together with the defect. */
  const char* expected_finding;
};

extern const struct robustness_case robustness_cases[];
extern const size_t robustness_n_cases;

/* Called by every generated call right before the library call, after its
   arguments are set up: the runner notes the scratch directory's contents
   and clears the last error here. */
void robustness_before_call(struct robustness_fixture* fx);

/* Fresh handles for the calls that consume or change one (frees, table
   writers). */
gml_context* robustness_new_context(struct robustness_fixture* fx);
gml_model* robustness_new_model(struct robustness_fixture* fx);
gml_wcs* robustness_new_wcs(struct robustness_fixture* fx);
gml_catalog* robustness_new_catalog(struct robustness_fixture* fx);
/* A writer to out_dir with n_columns float32 columns declared. */
gml_table_writer* robustness_new_writer(struct robustness_fixture* fx, int n_columns);

/* Host callbacks that accept everything and never stop a call. */
int32_t robustness_progress(const gml_progress* progress, void* user);
int32_t robustness_chunk(int64_t first_row, int64_t n_rows, int64_t n_outputs, const float* values,
                         const int32_t* flags, void* user);
/* x = theta: the posterior fixture's simulator (theta_dim = x_dim = 2). */
int32_t robustness_simulator(const double* theta, int64_t n, double* x_out, void* user);

#endif /* GALAXYML_TESTS_ROBUSTNESS_H */
