// Flow benchmark driver: sampling and log_prob throughput of a flow model
// through the C ABI only, as any host would call it. Writes the first stars
// and their log_prob so the Python peer can prove it computes the same
// function before its own timing (bench/flow/run.sh).
//
//   bench_flow MODEL STARS_TABLE N REPEATS CHECK_DIR
// When MODEL does not exist, it is made first: STARS_TABLE is simulated (8
// galaxies x 4000 stars) and a paper-size model trained on it for 60 steps
// at a raised learning rate, so its weights are far from the initialisation.
// Timing depends on the architecture, not on training quality.
// Prints one JSON line: stars/s for sampling and log_prob (best of REPEATS).
#include <galaxyml/galaxyml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

void check(gml_status s, const char* what) {
  if (s != GML_OK) {
    std::fprintf(stderr, "bench_flow: %s: %s: %s\n", what, gml_status_name(s), gml_last_error());
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
    std::fprintf(stderr, "bench_flow: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: bench_flow MODEL STARS_TABLE N REPEATS CHECK_DIR\n");
    return 2;
  }
  const char* model_path = argv[1];
  const char* table = argv[2];
  const int64_t n = std::atoll(argv[3]);
  const int repeats = std::max(1, std::atoi(argv[4]));
  const std::string check_dir = argv[5];

  gml_init_options io;
  gml_init_options_default(&io);  // threads from GML_NUM_THREADS
  check(gml_init(&io), "gml_init");
  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  check(gml_context_create(&co, &ctx), "gml_context_create");
  if (!std::filesystem::exists(model_path)) {
    check(gml_flow_simulate(ctx, 8, 4000, nullptr, 7, table), "gml_flow_simulate");
    gml_flow_train_options to;
    gml_flow_train_options_default(&to);
    to.steps = 60;
    to.learning_rate = 1e-3;
    to.eval_every = 100;
    check(gml_flow_train(ctx, table, &to, model_path), "gml_flow_train");
  }
  gml_model* model = nullptr;
  check(gml_model_load(ctx, model_path, "flow", &model), "gml_model_load");
  int64_t d = 0, cd = 0;
  check(gml_flow_dims(model, &d, &cd), "gml_flow_dims");
  std::vector<double> cond(static_cast<size_t>(cd));
  check(gml_flow_read_galaxy(table, 0, nullptr, 0, nullptr, nullptr, cond.data(), cond.size()),
        "gml_flow_read_galaxy");

  std::vector<float> stars(static_cast<size_t>(n * d));
  std::vector<double> lp(static_cast<size_t>(n));
  double best_sample = 1e300, best_lp = 1e300;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    check(gml_flow_sample(ctx, model, cond.data(), 1, n, 1234, stars.data(), stars.size(), nullptr),
          "gml_flow_sample");
    best_sample = std::min(best_sample, seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    check(gml_flow_log_prob(ctx, model, stars.data(), n, cond.data(), 1, lp.data()),
          "gml_flow_log_prob");
    best_lp = std::min(best_lp, seconds_since(t0));
  }
  const size_t n_check = static_cast<size_t>(std::min<int64_t>(n, 2000));
  write_raw(check_dir + "/check_stars.f32", stars.data(), n_check * static_cast<size_t>(d));
  write_raw(check_dir + "/check_log_prob.f64", lp.data(), n_check);

  std::string conds;
  for (size_t j = 0; j < cond.size(); ++j) {
    char v[32];
    std::snprintf(v, sizeof v, "%s%.17g", j ? "," : "", cond[j]);
    conds += v;
  }
  std::printf(
      "{\"impl\": \"galaxyml\", \"n\": %lld, \"threads\": %d, \"sample_stars_per_s\": %.1f, "
      "\"log_prob_stars_per_s\": %.1f, \"sample_s\": %.3f, \"log_prob_s\": %.3f, "
      "\"conditions\": \"%s\"}\n",
      static_cast<long long>(n), gml_num_threads(), static_cast<double>(n) / best_sample,
      static_cast<double>(n) / best_lp, best_sample, best_lp, conds.c_str());
  gml_model_free(model);
  gml_context_free(ctx);
  return 0;
}
