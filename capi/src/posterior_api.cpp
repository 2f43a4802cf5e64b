// C entry points of the posterior family (SEDflow).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/posterior_sampling.h"
#include "core/posterior/posterior_training.h"
#include "core/posterior/sed/observation.h"
#include "core/posterior/sed/parameters.h"
#include "core/posterior/sed/simulator.h"
#include "core/posterior/training_set.h"

namespace {

using gml::require;
namespace post = gml::posterior;

// Training x rows kept in the model for the catalog support check.
constexpr int64_t kSupportRows = 20000;

post::PosteriorFlow& posterior_of(const gml_model& m) {
  return gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
}

std::vector<std::string> split_names(const char* text) {
  std::vector<std::string> out;
  if (!text || !*text) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

gml_posterior_simulate_options simulate_options(const gml_posterior_simulate_options* opts) {
  const auto o = gml::capi::read_options(opts, gml_posterior_simulate_options_default);
  require(o.batch_size >= 1, "opts->batch_size must be >= 1");
  return o;
}

at::Tensor rows_tensor(const double* data, int64_t rows, int64_t cols, const char* what) {
  require(data != nullptr, std::string(what) + " must not be NULL");
  gml::capi::checked_elements({rows, cols}, sizeof(double), what);
  at::Tensor t = at::from_blob(const_cast<double*>(data), {rows, cols}, at::kDouble).clone();
  at::Tensor bad = at::isfinite(t).logical_not().any(1);
  if (bad.any().item<bool>()) {
    gml::fail(gml::Status::InvalidArgument,
              std::string(what) + " has NaN or Inf (first at row " +
                  std::to_string(at::nonzero(bad)[0][0].item<int64_t>()) + ")");
  }
  return t;
}

std::string default_data_dir(const char* data_dir) {
  if (data_dir && *data_dir) return data_dir;
  if (const char* env = std::getenv("GML_DATA_DIR"); env && *env) return env;
  return GML_SOURCE_DATA_DIR;
}

}  // namespace

using gml::capi::guard;

extern "C" {

GML_API void gml_posterior_simulate_options_default(gml_posterior_simulate_options* opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof *opts);
  opts->struct_size = sizeof *opts;
  opts->batch_size = 10000;
}

GML_API gml_status gml_posterior_simulate(gml_context* ctx, gml_simulator_fn fn, void* user,
                                          int64_t theta_dim, int64_t x_dim,
                                          const double* prior_lower, const double* prior_upper,
                                          int64_t n, const gml_posterior_simulate_options* opts,
                                          const char* path) {
  return guard("gml_posterior_simulate", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(fn != nullptr, "fn must not be NULL");
    require(theta_dim >= 1 && x_dim >= 1, "theta_dim and x_dim must be >= 1");
    require(prior_lower != nullptr && prior_upper != nullptr, "prior bounds must not be NULL");
    require(n >= 1, "n must be >= 1");
    gml::capi::checked_elements({n, theta_dim}, sizeof(double), "n x theta_dim parameters");
    gml::capi::checked_elements({n, x_dim}, sizeof(double), "n x x_dim observations");
    require(path != nullptr && *path, "path must not be NULL or empty");
    gml_posterior_simulate_options o = simulate_options(opts);
    o.seed = gml::capi::seed_for(c, o.seed);
    post::TrainingSetInfo info;
    info.theta_dim = theta_dim;
    info.x_dim = x_dim;
    info.prior_lower.assign(prior_lower, prior_lower + theta_dim);
    info.prior_upper.assign(prior_upper, prior_upper + theta_dim);
    info.theta_names = split_names(o.theta_names);
    info.x_names = split_names(o.x_names);
    require(info.theta_names.empty() || static_cast<int64_t>(info.theta_names.size()) == theta_dim,
            "theta_names must name every theta dimension");
    require(info.x_names.empty() || static_cast<int64_t>(info.x_names.size()) == x_dim,
            "x_names must name every x dimension");
    info.seed = o.seed;
    info.batch_size = o.batch_size;
    gml::Progress progress(&c.control, "simulate", n, "simulations");
    post::simulate_training_set(
        path, info, n,
        [&](int64_t, const double* theta, int64_t m, double* x) { return fn(theta, m, x, user); },
        o.resume != 0, &progress);
    progress.finish();
  });
}

GML_API gml_status gml_posterior_simulate_sed(gml_context* ctx, const char* data_dir, int64_t n,
                                              const gml_posterior_simulate_options* opts,
                                              const char* path) {
  return guard("gml_posterior_simulate_sed", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(n >= 1, "n must be >= 1");
    gml::capi::checked_elements({n, gml::sed::kThetaDim + gml::sed::kObsDim}, sizeof(double),
                                "n simulations");
    require(path != nullptr && *path, "path must not be NULL or empty");
    gml_posterior_simulate_options o = simulate_options(opts);
    o.seed = gml::capi::seed_for(c, o.seed);
    const std::string dir = default_data_dir(data_dir);
    gml::sed::SimulatorOptions so;
    so.seed = o.seed;
    gml::sed::SedSimulator sim =
        gml::sed::SedSimulator::load(dir + "/sed", dir + "/sdss/gst_tests_small.fits", so);
    const gml::sed::SedPrior prior;
    post::TrainingSetInfo info;
    info.theta_dim = gml::sed::kThetaDim;
    info.x_dim = gml::sed::kObsDim;
    const auto lo = prior.lower(), hi = prior.upper();
    info.prior_lower.assign(lo.begin(), lo.end());
    info.prior_upper.assign(hi.begin(), hi.end());
    for (const char* name : gml::sed::theta_names()) info.theta_names.push_back(name);
    for (const char* name : gml::sed::observation_names()) info.x_names.push_back(name);
    info.observation = "sed_ugriz";
    info.seed = o.seed;
    info.batch_size = o.batch_size;
    gml::Progress progress(&c.control, "simulate", n, "simulations");
    post::simulate_training_set(
        path, info, n,
        [&](int64_t first_row, const double* theta, int64_t m, double* x) {
          // Noise and redshifts of a batch depend on (seed, first row) only.
          sim.reseed(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(first_row) + 1);
          const int rc = sim.simulate(theta, m, x);
          if (rc != 0) gml::fail(gml::Status::Callback, "SED simulator: " + sim.last_error());
          return 0;
        },
        o.resume != 0, &progress);
    progress.finish();
  });
}

GML_API gml_status gml_posterior_training_set_info(const char* path, int64_t* theta_dim,
                                                   int64_t* x_dim, int64_t* rows) {
  return guard("gml_posterior_training_set_info", [&] {
    require(path != nullptr && *path, "path must not be NULL or empty");
    const post::TrainingSetShape shape = post::training_set_shape(path);
    if (theta_dim) *theta_dim = shape.theta_dim;
    if (x_dim) *x_dim = shape.x_dim;
    if (rows) *rows = shape.rows;
  });
}

GML_API void gml_posterior_train_options_default(gml_posterior_train_options* opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof *opts);
  // The core structs hold the defaults (SEDflow's); only the names are here.
  const post::PosteriorConfig c;
  const post::PosteriorTrainOptions t;
  opts->struct_size = sizeof *opts;
  opts->estimator = c.estimator == post::Estimator::Maf ? "maf" : "nsf";
  opts->num_blocks = c.num_blocks;
  opts->hidden_width = c.hidden_width;
  opts->made_blocks = c.made_blocks;
  opts->activation = c.activation == post::Activation::Tanh ? "tanh" : "relu";
  opts->num_bins = c.num_bins;
  opts->batch_size = t.batch_size;
  opts->learning_rate = t.lr;
  opts->max_epochs = t.max_epochs;
  opts->patience = t.patience;
  opts->validation_fraction = t.validation_fraction;
  opts->lr_plateau = t.lr_plateau;
  opts->lr_factor = t.lr_factor;
  opts->seed = t.seed;
}

GML_API gml_status gml_posterior_train(gml_context* ctx, const char* training_set_path,
                                       const gml_posterior_train_options* opts,
                                       const char* model_path) {
  return guard("gml_posterior_train", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(training_set_path != nullptr && *training_set_path,
            "training_set_path must not be NULL or empty");
    require(model_path != nullptr && *model_path, "model_path must not be NULL or empty");
    auto o = gml::capi::read_options(opts, gml_posterior_train_options_default);
    o.seed = gml::capi::seed_for(c, o.seed);
    const post::TrainingSet set = post::read_training_set(training_set_path, o.max_rows);
    post::PosteriorConfig cfg;
    try {
      cfg.estimator = post::estimator_from_name(o.estimator ? o.estimator : "maf");
    } catch (const gml::Error& e) {
      gml::fail(gml::Status::InvalidArgument, e.what());
    }
    const std::string act = o.activation ? o.activation : "tanh";
    require(act == "tanh" || act == "relu", "opts->activation must be \"tanh\" or \"relu\"");
    cfg.activation = act == "tanh" ? post::Activation::Tanh : post::Activation::Relu;
    cfg.theta_dim = set.info.theta_dim;
    cfg.x_dim = set.info.x_dim;
    cfg.num_blocks = o.num_blocks;
    cfg.hidden_width = o.hidden_width;
    cfg.made_blocks = o.made_blocks;
    cfg.num_bins = o.num_bins;
    cfg.prior_lower = set.info.prior_lower;
    cfg.prior_upper = set.info.prior_upper;
    cfg.theta_names = set.info.theta_names;
    cfg.x_names = set.info.x_names;
    cfg.observation = set.info.observation;
    try {
      cfg.validate();
    } catch (const gml::Error& e) {
      gml::fail(gml::Status::InvalidArgument, e.what());
    }
    post::PosteriorTrainOptions to;
    to.batch_size = o.batch_size;
    to.lr = o.learning_rate;
    to.max_epochs = o.max_epochs;
    to.patience = o.patience;
    to.validation_fraction = o.validation_fraction;
    to.checkpoint_path = o.checkpoint_path ? o.checkpoint_path : "";
    to.resume = o.resume != 0;
    to.seed = o.seed;
    to.lr_plateau = o.lr_plateau;
    to.lr_factor = o.lr_factor;
    post::PosteriorFlow flow(cfg, o.seed);
    const post::PosteriorTrainReport r =
        post::train_posterior(flow, set.theta, set.x, to, &c.control, c.device);
    post::PosteriorFileExtras extras;
    extras.x_train_min = r.x_min;
    extras.x_train_max = r.x_max;
    // The simulations are in random order (theta is drawn independently per
    // row), so the first rows are a fair subset for the support check.
    extras.support_x = set.x.narrow(0, 0, std::min<int64_t>(set.x.size(0), kSupportRows)).clone();
    extras.provenance =
        nlohmann::json{{"training_set", training_set_path}, {"rows", set.theta.size(0)}}.dump();
    extras.training = nlohmann::json{{"epochs", r.epochs},
                                     {"best_epoch", r.best_epoch},
                                     {"best_validation_loss", r.best_validation_loss},
                                     {"stopped_early", r.stopped_early},
                                     {"train_rows", r.train_rows},
                                     {"validation_rows", r.validation_rows},
                                     {"dropped_rows", r.dropped_rows},
                                     {"batch_size", to.batch_size},
                                     {"learning_rate", to.lr},
                                     {"patience", to.patience},
                                     {"seed", to.seed},
                                     {"train_history", r.train_history},
                                     {"validation_history", r.validation_history}}
                          .dump();
    flow->to(at::kCPU);
    post::save_posterior(model_path, flow, extras);
  });
}

GML_API gml_status gml_posterior_dims(const gml_model* model, int64_t* theta_dim, int64_t* x_dim) {
  return guard("gml_posterior_dims", [&] {
    const gml_model& m = gml::capi::require_model(model, "posterior");
    if (theta_dim) *theta_dim = posterior_of(m)->config().theta_dim;
    if (x_dim) *x_dim = posterior_of(m)->config().x_dim;
  });
}

GML_API gml_status gml_posterior_describe(const gml_model* model, char* buf, size_t capacity,
                                          size_t* length) {
  std::string text;
  gml_status s = guard("gml_posterior_describe", [&] {
    const gml_model& m = gml::capi::require_model(model, "posterior");
    const post::PosteriorConfig& cfg = posterior_of(m)->config();
    nlohmann::json j;
    j["theta"] = cfg.theta_names;
    j["x"] = cfg.x_names;
    j["prior_lower"] = cfg.prior_lower;
    j["prior_upper"] = cfg.prior_upper;
    j["observation"] = cfg.observation;
    const auto& ex = gml::capi::loaded_as<post::LoadedPosterior>(m).extras;
    if (ex.x_train_min.defined()) {
      j["x_train_min"] = to_vector(ex.x_train_min);
      j["x_train_max"] = to_vector(ex.x_train_max);
    }
    j["config"] = nlohmann::json::parse(cfg.to_json_text());
    j["checksum"] = m.checksum;
    text = j.dump();
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_posterior_describe", text, buf, capacity, length);
}

GML_API gml_status gml_posterior_sample(gml_context* ctx, const gml_model* model, const double* x,
                                        int64_t n_obs, int64_t n_samples, uint64_t seed,
                                        double* theta, size_t capacity, int64_t* n_outside) {
  return guard("gml_posterior_sample", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    seed = gml::capi::seed_for(c, seed);
    const gml_model& m = gml::capi::require_model(c, model, "posterior");
    require(theta != nullptr, "theta must not be NULL");
    const int64_t d = posterior_of(m)->config().theta_dim;
    require(n_obs >= 1 && n_samples >= 1, "n_obs and n_samples must be >= 1");
    require(n_samples <= INT64_MAX / n_obs / d, "n_obs * n_samples is too large");
    const int64_t total = n_obs * n_samples * d;
    if (static_cast<uint64_t>(total) > capacity) {
      gml::fail(gml::Status::Capacity, "theta holds " + std::to_string(capacity) + " doubles; " +
                                           std::to_string(total) + " needed");
    }
    const at::Tensor xs = rows_tensor(x, n_obs, posterior_of(m)->config().x_dim, "x");
    // Draws go straight into the caller's buffer, block by block, so memory
    // beyond it stays bounded for any n_samples and a cancel is seen between
    // blocks, also within one observation's draws. The blocks are those of
    // draw_posterior(), so the draws are the same.
    constexpr int64_t kMaxRows = 16384;
    gml::Progress progress(&c.control, "sample", n_obs, "galaxies");
    std::vector<int64_t> outside(static_cast<size_t>(n_obs));
    if (n_samples >= kMaxRows) {
      for (int64_t g = 0; g < n_obs; ++g) {
        outside[static_cast<size_t>(g)] =
            post::draw_observation_into(posterior_of(m), xs.narrow(0, g, 1), n_samples, seed, g,
                                        theta + g * n_samples * d, &progress, kMaxRows);
        progress.update(g + 1);
      }
    } else {
      const int64_t block = kMaxRows / n_samples;
      for (int64_t g0 = 0; g0 < n_obs; g0 += block) {
        const int64_t gb = std::min(block, n_obs - g0);
        const post::PosteriorDraws dr = post::draw_posterior(
            posterior_of(m), xs.narrow(0, g0, gb), n_samples, seed, g0, nullptr, kMaxRows);
        const at::Tensor t = dr.theta.contiguous();
        std::memcpy(theta + g0 * n_samples * d, t.data_ptr<double>(),
                    static_cast<size_t>(t.numel()) * sizeof(double));
        const at::Tensor o = dr.outside.to(at::kLong).contiguous();
        std::memcpy(outside.data() + g0, o.data_ptr<int64_t>(), static_cast<size_t>(gb) * 8);
        progress.update(g0 + gb);
      }
    }
    progress.finish();
    if (n_outside) std::memcpy(n_outside, outside.data(), outside.size() * sizeof(int64_t));
  });
}

GML_API gml_status gml_posterior_log_prob(gml_context* ctx, const gml_model* model,
                                          const double* theta, int64_t n, const double* x,
                                          int64_t n_x, double* log_prob) {
  return guard("gml_posterior_log_prob", [&] {
    const gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "posterior");
    require(n >= 0, "n must be >= 0");
    require(n_x == 1 || n_x == n, "n_x must be 1 or n");
    require(log_prob != nullptr || n == 0, "log_prob must not be NULL");
    if (n == 0) return;
    const auto& cfg = posterior_of(m)->config();
    // The caller's rows are on the host; the model may sit on a GPU.
    const at::Tensor t = rows_tensor(theta, n, cfg.theta_dim, "theta").to(m.device);
    const at::Tensor xs = rows_tensor(x, n_x, cfg.x_dim, "x").to(m.device);
    c10::InferenceMode guard_mode;
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i += 65536) {
      const int64_t e = std::min(n, i + 65536);
      const at::Tensor xi = n_x == 1 ? xs : xs.slice(0, i, e);
      const at::Tensor lp =
          posterior_of(m)->log_prob(t.slice(0, i, e), xi).to(at::kCPU, at::kDouble).contiguous();
      std::memcpy(out.data() + i, lp.data_ptr<double>(),
                  static_cast<size_t>(e - i) * sizeof(double));
    }
    std::memcpy(log_prob, out.data(), out.size() * sizeof(double));
  });
}

GML_API gml_status gml_posterior_summarize(gml_context* ctx, const gml_model* model,
                                           const double* x, int64_t n_obs, int64_t n_samples,
                                           uint64_t seed, double* summary, size_t capacity,
                                           int64_t* n_outside) {
  return guard("gml_posterior_summarize", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    seed = gml::capi::seed_for(c, seed);
    const gml_model& m = gml::capi::require_model(c, model, "posterior");
    require(summary != nullptr, "summary must not be NULL");
    require(n_obs >= 1, "n_obs must be >= 1");
    require(x != nullptr, "x must not be NULL");
    require(n_samples >= 1, "n_samples must be >= 1");
    const int64_t d = posterior_of(m)->config().theta_dim;
    gml::capi::checked_elements({n_samples, d}, sizeof(double), "n_samples draws");
    const int64_t total =
        gml::capi::checked_elements({n_obs, d, GML_SUMMARY_COLUMNS}, sizeof(double), "summary");
    if (static_cast<uint64_t>(total) > capacity) {
      gml::fail(gml::Status::Capacity, "summary holds " + std::to_string(capacity) + " doubles; " +
                                           std::to_string(total) + " needed");
    }
    // In blocks of observations, so memory stays bounded for any n_obs.
    const int64_t block = std::max<int64_t>(1, 4000000 / std::max<int64_t>(1, n_samples * d));
    std::vector<double> out(static_cast<size_t>(total));
    std::vector<int64_t> outside(static_cast<size_t>(n_obs));
    gml::Progress progress(&c.control, "summarize", n_obs, "galaxies");
    const int64_t c_dim = posterior_of(m)->config().x_dim;
    const at::Tensor xs = rows_tensor(x, n_obs, c_dim, "x");
    for (int64_t g = 0; g < n_obs; g += block) {
      const int64_t gb = std::min(block, n_obs - g);
      post::PosteriorDraws dr =
          post::draw_posterior(posterior_of(m), xs.narrow(0, g, gb), n_samples, seed, g);
      const at::Tensor s = post::summarize_draws(dr).contiguous();
      std::memcpy(out.data() + g * d * GML_SUMMARY_COLUMNS, s.data_ptr<double>(),
                  static_cast<size_t>(s.numel()) * sizeof(double));
      const at::Tensor o = dr.outside.to(at::kLong).contiguous();
      std::memcpy(outside.data() + g, o.data_ptr<int64_t>(), static_cast<size_t>(gb) * 8);
      progress.update(g + gb);
    }
    progress.finish();
    std::memcpy(summary, out.data(), out.size() * sizeof(double));
    if (n_outside) std::memcpy(n_outside, outside.data(), outside.size() * sizeof(int64_t));
  });
}

}  // extern "C"
