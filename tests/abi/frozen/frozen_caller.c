/* A host built against the frozen ABI 1 header (tests/abi/frozen/abi1), run
   against today's libgalaxyml.so. Every options struct is passed with its
   ABI 1 layout and struct_size; for each, a value in its last ABI 1 field
   must reach the library (an error that names that field, or its effect),
   which fails if the library reads the struct at other offsets or refuses
   the older size. When a later header appends fields, this is the older
   caller with shorter structs that the header promises keeps working.

   Usage: frozen_caller FIXTURES_DIR WORK_DIR */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "galaxyml/galaxyml.h"

static int failures = 0;
static char path_buf[8][1024];

static const char* path_in(int slot, const char* dir, const char* name) {
  snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
  return path_buf[slot];
}

static void expect(int ok, const char* what) {
  if (!ok) {
    ++failures;
    fprintf(stderr, "FAIL: %s (last error: %s)\n", what, gml_last_error());
  } else {
    printf("ok: %s\n", what);
  }
}

/* status s with a message that names `word` */
static void expect_error(gml_status s, gml_status want, const char* word, const char* what) {
  expect(s == want && strstr(gml_last_error(), word) != NULL, what);
}

static int simulate_line(const double* theta, int64_t n, double* x, void* user) {
  int64_t i;
  (void)user;
  for (i = 0; i < n; ++i) x[i] = 2.0 * theta[i] + 0.1 * sin(37.0 * theta[i]);
  return 0;
}

int main(int argc, char** argv) {
  gml_init_options io;
  gml_context_options co;
  gml_context* ctx = NULL;
  gml_context* ctx_seeded = NULL;
  gml_model_info info;
  gml_table_writer_options wo;
  gml_table_writer* writer = NULL;
  gml_cutout_options cuo;
  gml_flow_train_options fo;
  gml_posterior_simulate_options pso;
  gml_posterior_train_options pto;
  gml_posterior_run_options pro;
  gml_merger_simulate_options mso;
  gml_merger_train_options mto;
  gml_model* posterior = NULL;
  const char* image_paths[1];
  double lower = 0.0, upper = 1.0, a = 0.0, b = 1.0;
  int64_t h = 0, w = 0;
  const char *fixtures, *work;

  if (argc != 3) {
    fprintf(stderr, "usage: %s FIXTURES_DIR WORK_DIR\n", argv[0]);
    return 2;
  }
  fixtures = argv[1];
  work = argv[2];

  /* init: seed is the last field; a context taking the init seed must draw
     as one given that seed explicitly. */
  gml_init_options_default(&io);
  io.num_threads = 1;
  io.seed = 4242;
  expect(gml_init(&io) == GML_OK, "gml_init with the ABI 1 struct");
  gml_context_options_default(&co);
  co.device = "cpu";
  expect(gml_context_create(&co, &ctx) == GML_OK, "gml_context_create, seed from init");
  co.seed_from_init = 0;
  co.seed = 4242;
  expect(gml_context_create(&co, &ctx_seeded) == GML_OK, "gml_context_create, explicit seed");
  if (ctx && ctx_seeded) {
    gml_context_selftest(ctx, 2, &a);
    gml_context_selftest(ctx_seeded, 2, &b);
    expect(a == b, "gml_init_options.seed reaches the contexts");
  }
  /* context: backend is the last field. */
  {
    gml_context* bad = NULL;
    gml_context_options_default(&co);
    co.backend = "carrier-pigeon";
    expect_error(gml_context_create(&co, &bad), GML_ERR_INVALID_ARGUMENT, "carrier-pigeon",
                 "gml_context_options.backend reaches the library");
  }
  if (!ctx) return 1;

  /* model info (a result struct): n_parameters is its last field. */
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  expect(gml_model_file_inspect(path_in(0, fixtures, "valid_flow.h5"), "flow", &info) == GML_OK &&
             strcmp(info.family, "flow") == 0 && info.n_parameters > 0 &&
             info.struct_size == sizeof info,
         "gml_model_info filled to its ABI 1 size");

  /* table writer: checksum is the last field; any value is valid, so the
     writer must simply be created and released with no file left. */
  gml_table_writer_options_default(&wo);
  wo.checksum = 0;
  expect(gml_table_writer_create(path_in(1, work, "frozen_table.fits"), &wo, &writer) == GML_OK,
         "gml_table_writer_create with the ABI 1 struct");
  gml_table_writer_free(writer);

  /* cutouts: chunk_rows is the last field. */
  gml_cutout_options_default(&cuo);
  cuo.chunk_rows = -3;
  image_paths[0] = path_in(2, work, "no_such_image.fits");
  expect_error(gml_cutouts_shape(image_paths, 1, &cuo, &h, &w), GML_ERR_INVALID_ARGUMENT,
               "chunk_rows", "gml_cutout_options.chunk_rows reaches the library");

  /* flow training: the struct is accepted and the run gets as far as the
     (missing) star table. */
  gml_flow_train_options_default(&fo);
  fo.steps = 1;
  fo.max_stars_per_galaxy = 10;
  expect_error(
      gml_flow_train(ctx, path_in(2, work, "no_such_stars.h5"), &fo, path_in(3, work, "never.h5")),
      GML_ERR_IO, "no_such_stars", "gml_flow_train_options accepted");

  /* posterior: simulate (x_names last), train (lr_factor last), run
     (max_rows last), one chain through the ABI 1 structs. */
  gml_posterior_simulate_options_default(&pso);
  pso.batch_size = 64;
  pso.x_names = "flux,extra";
  expect_error(gml_posterior_simulate(ctx, simulate_line, NULL, 1, 1, &lower, &upper, 256, &pso,
                                      path_in(4, work, "frozen_sims.h5")),
               GML_ERR_INVALID_ARGUMENT, "x_names",
               "gml_posterior_simulate_options.x_names reaches the library");
  pso.x_names = "flux";
  expect(gml_posterior_simulate(ctx, simulate_line, NULL, 1, 1, &lower, &upper, 256, &pso,
                                path_in(4, work, "frozen_sims.h5")) == GML_OK,
         "gml_posterior_simulate with the ABI 1 struct");
  gml_posterior_train_options_default(&pto);
  pto.num_blocks = 1;
  pto.hidden_width = 8;
  pto.made_blocks = 1;
  pto.max_epochs = 1;
  pto.lr_factor = 7.0;
  expect_error(gml_posterior_train(ctx, path_in(4, work, "frozen_sims.h5"), &pto,
                                   path_in(5, work, "frozen_posterior.h5")),
               GML_ERR_INVALID_ARGUMENT, "lr_factor",
               "gml_posterior_train_options.lr_factor reaches the library");
  pto.lr_factor = 0.5;
  expect(gml_posterior_train(ctx, path_in(4, work, "frozen_sims.h5"), &pto,
                             path_in(5, work, "frozen_posterior.h5")) == GML_OK,
         "gml_posterior_train with the ABI 1 struct");
  if (gml_model_load(ctx, path_in(5, work, "frozen_posterior.h5"), "posterior", &posterior) ==
      GML_OK) {
    gml_posterior_run_options_default(&pro);
    pro.max_rows = -1;
    expect_error(gml_posterior_run_catalog(ctx, posterior, path_in(6, work, "no_catalog.fits"),
                                           "flux=FLUX", &pro, path_in(7, work, "never.fits")),
                 GML_ERR_INVALID_ARGUMENT, "max_rows",
                 "gml_posterior_run_options.max_rows reaches the library");
    gml_model_free(posterior);
  } else {
    expect(0, "gml_model_load of the trained posterior");
  }

  /* merger: simulate (n_threads last), train (lr_schedule last). */
  gml_merger_simulate_options_default(&mso);
  mso.n_threads = GML_MAX_THREADS + 1;
  expect_error(gml_merger_simulate(ctx, &mso, path_in(6, work, "never_mergers.fits"), NULL),
               GML_ERR_INVALID_ARGUMENT, "n_threads",
               "gml_merger_simulate_options.n_threads reaches the library");
  gml_merger_train_options_default(&mto);
  mto.lr_schedule = "zigzag";
  expect_error(gml_merger_train(ctx, path_in(6, work, "no_such_mergers.fits"), &mto,
                                path_in(7, work, "never.h5"), NULL),
               GML_ERR_INVALID_ARGUMENT, "zigzag",
               "gml_merger_train_options.lr_schedule reaches the library");

  gml_context_free(ctx_seeded);
  gml_context_free(ctx);
  remove(path_in(4, work, "frozen_sims.h5"));
  remove(path_in(5, work, "frozen_posterior.h5"));
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
