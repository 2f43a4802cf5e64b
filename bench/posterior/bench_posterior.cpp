// Posterior benchmark driver (SEDflow reproduction): posterior sampling,
// catalog summaries and log_prob of the paper-size MAF through the C ABI
// only, as any host would call it. Writes galaxyml's draws and their log_prob
// so the sbi peer can prove it computes the same function before its own
// timing (bench/posterior/run.sh).
//
//   bench_posterior prepare DIR DATA_DIR ROWS
//     Makes DIR/train.h5 (ROWS rows of the built-in SED simulator, seed 1)
//     and DIR/model.h5 (the SEDflow default architecture: MAF, 15 MADE
//     blocks of 2 x 500 tanh units, trained for one epoch) unless present.
//     Timing depends on the architecture, not on training quality.
//     Prints the model's description (JSON).
//
//   bench_posterior time MODEL X_FILE N_GAL N_SAMPLES N_CATALOG_SAMPLES
//                        REPEATS CATALOG_REPEATS CHECK_DIR
//     X_FILE holds N_GAL observations [N_GAL, x_dim] float64 (raw); row 0 is
//     the single observation x0. Measures, best of the repeats:
//      (a) gml_posterior_sample: N_SAMPLES draws for x0;
//      (b) gml_posterior_summarize: N_CATALOG_SAMPLES draws for each of the
//          N_GAL observations, reduced to median/p16/p84/mean/std
//          (best of CATALOG_REPEATS; 0 skips it);
//      (c) gml_posterior_log_prob of the N_SAMPLES draws of (a) given x0.
//     Writes CHECK_DIR/check_theta.f64 (first 2000 draws of (a)) and
//     CHECK_DIR/check_log_prob.f64 (their log_prob). Prints one JSON line.
#include <galaxyml/galaxyml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

void check(gml_status s, const char* what) {
  if (s != GML_OK) {
    std::fprintf(stderr, "bench_posterior: %s: %s: %s\n", what, gml_status_name(s),
                 gml_last_error());
    std::exit(1);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class T>
void write_raw(const std::string& path, const T* data, size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, sizeof(T), n, f) != n) {
    std::fprintf(stderr, "bench_posterior: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

std::vector<double> read_raw(const std::string& path, size_t n) {
  std::vector<double> v(n);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f || std::fread(v.data(), sizeof(double), n, f) != n) {
    std::fprintf(stderr, "bench_posterior: cannot read %zu doubles from %s\n", n, path.c_str());
    std::exit(1);
  }
  std::fclose(f);
  return v;
}

gml_context* make_context() {
  gml_init_options io;
  gml_init_options_default(&io);  // threads from GML_NUM_THREADS
  check(gml_init(&io), "gml_init");
  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  check(gml_context_create(&co, &ctx), "gml_context_create");
  return ctx;
}

int prepare(const std::string& dir, const char* data_dir, int64_t rows) {
  gml_context* ctx = make_context();
  std::filesystem::create_directories(dir);
  const std::string train = dir + "/train.h5", model_path = dir + "/model.h5";
  if (!std::filesystem::exists(model_path)) {
    int64_t have = 0;
    if (!std::filesystem::exists(train) ||
        gml_posterior_training_set_info(train.c_str(), nullptr, nullptr, &have) != GML_OK ||
        have < rows) {
      std::filesystem::remove(train);
      gml_posterior_simulate_options so;
      gml_posterior_simulate_options_default(&so);
      so.seed = 1;
      auto t0 = std::chrono::steady_clock::now();
      check(gml_posterior_simulate_sed(ctx, data_dir, rows, &so, train.c_str()),
            "gml_posterior_simulate_sed");
      std::fprintf(stderr, "bench_posterior: simulated %lld rows in %.1f s\n",
                   static_cast<long long>(rows), seconds_since(t0));
    }
    gml_posterior_train_options to;
    gml_posterior_train_options_default(&to);  // MAF, 15 blocks, 2 x 500, tanh
    to.max_epochs = 1;
    to.seed = 2;
    auto t0 = std::chrono::steady_clock::now();
    check(gml_posterior_train(ctx, train.c_str(), &to, model_path.c_str()), "gml_posterior_train");
    std::fprintf(stderr, "bench_posterior: trained 1 epoch in %.1f s\n", seconds_since(t0));
  }
  gml_model* model = nullptr;
  check(gml_model_load(ctx, model_path.c_str(), "posterior", &model), "gml_model_load");
  size_t len = 0;
  check(gml_posterior_describe(model, nullptr, 0, &len), "gml_posterior_describe");
  std::string desc(len + 1, '\0');
  check(gml_posterior_describe(model, desc.data(), desc.size(), &len), "gml_posterior_describe");
  desc.resize(std::strlen(desc.c_str()));
  std::printf("%s\n", desc.c_str());
  gml_model_free(model);
  gml_context_free(ctx);
  return 0;
}

int time_all(char** argv) {
  const char* model_path = argv[2];
  const std::string x_file = argv[3];
  const int64_t n_gal = std::atoll(argv[4]);
  const int64_t n_samples = std::atoll(argv[5]);
  const int64_t n_cat = std::atoll(argv[6]);
  const int repeats = std::max(1, std::atoi(argv[7]));
  const int cat_repeats = std::max(0, std::atoi(argv[8]));  // 0: skip (b)
  const std::string check_dir = argv[9];

  gml_context* ctx = make_context();
  gml_model* model = nullptr;
  check(gml_model_load(ctx, model_path, "posterior", &model), "gml_model_load");
  int64_t d = 0, c = 0;
  check(gml_posterior_dims(model, &d, &c), "gml_posterior_dims");
  const std::vector<double> x = read_raw(x_file, static_cast<size_t>(n_gal * c));

  // (a) N draws for one observation.
  std::vector<double> theta(static_cast<size_t>(n_samples * d));
  int64_t outside = 0;
  double best_a = 1e300;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    check(gml_posterior_sample(ctx, model, x.data(), 1, n_samples, 1234, theta.data(), theta.size(),
                               &outside),
          "gml_posterior_sample");
    best_a = std::min(best_a, seconds_since(t0));
  }

  // (c) log q(theta | x0) of those draws.
  std::vector<double> lp(static_cast<size_t>(n_samples));
  double best_c = 1e300;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    check(gml_posterior_log_prob(ctx, model, theta.data(), n_samples, x.data(), 1, lp.data()),
          "gml_posterior_log_prob");
    best_c = std::min(best_c, seconds_since(t0));
  }
  const size_t n_check = static_cast<size_t>(std::min<int64_t>(n_samples, 2000));
  write_raw(check_dir + "/check_theta.f64", theta.data(), n_check * static_cast<size_t>(d));
  write_raw(check_dir + "/check_log_prob.f64", lp.data(), n_check);

  // (b) catalog: summaries of n_cat draws for each of n_gal observations.
  std::vector<double> summary(static_cast<size_t>(n_gal * d * GML_SUMMARY_COLUMNS));
  std::vector<int64_t> cat_outside(static_cast<size_t>(n_gal));
  double best_b = 1e300;
  for (int r = 0; r < cat_repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    check(gml_posterior_summarize(ctx, model, x.data(), n_gal, n_cat, 99, summary.data(),
                                  summary.size(), cat_outside.data()),
          "gml_posterior_summarize");
    best_b = std::min(best_b, seconds_since(t0));
  }
  int64_t cat_out_total = 0;
  for (int64_t o : cat_outside) cat_out_total += o;
  char catalog[256] = "";
  if (cat_repeats > 0) {
    std::snprintf(catalog, sizeof catalog,
                  ", \"catalog_galaxies\": %lld, \"catalog_samples\": %lld, \"catalog_s\": %.3f, "
                  "\"catalog_galaxies_per_s\": %.3f, \"catalog_outside_fraction\": %.4f",
                  static_cast<long long>(n_gal), static_cast<long long>(n_cat), best_b,
                  static_cast<double>(n_gal) / best_b,
                  static_cast<double>(cat_out_total) / static_cast<double>(n_gal * n_cat));
  }

  std::printf(
      "{\"impl\": \"galaxyml\", \"threads\": %d, \"theta_dim\": %lld, \"x_dim\": %lld, "
      "\"n_samples\": %lld, \"sample_s\": %.4f, \"sample_draws_per_s\": %.1f, "
      "\"sample_outside_fraction\": %.4f, "
      "\"log_prob_rows\": %lld, \"log_prob_s\": %.4f, \"log_prob_rows_per_s\": %.1f%s}\n",
      gml_num_threads(), static_cast<long long>(d), static_cast<long long>(c),
      static_cast<long long>(n_samples), best_a, static_cast<double>(n_samples) / best_a,
      static_cast<double>(outside) / static_cast<double>(n_samples),
      static_cast<long long>(n_samples), best_c, static_cast<double>(n_samples) / best_c, catalog);
  gml_model_free(model);
  gml_context_free(ctx);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "prepare") == 0) {
    return prepare(argv[2], argv[3], std::atoll(argv[4]));
  }
  if (argc == 10 && std::strcmp(argv[1], "time") == 0) return time_all(argv);
  std::fprintf(stderr,
               "usage: bench_posterior prepare DIR DATA_DIR ROWS\n"
               "       bench_posterior time MODEL X_FILE N_GAL N_SAMPLES N_CATALOG_SAMPLES "
               "REPEATS CATALOG_REPEATS CHECK_DIR\n");
  return 2;
}
