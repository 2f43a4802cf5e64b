// C entry points of the posterior family (SEDflow).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capi/src/arrays.h"
#include "capi/src/model_call.h"
#include "capi/src/options.h"
#include "runs/posterior/posterior_runs.h"
#include "runs/posterior/sample_file.h"

namespace {

using gml::require;
namespace post = gml::posterior;

gml_posterior_simulate_options simulate_options(const gml_posterior_simulate_options* opts) {
  const auto o = gml::capi::read_options(opts, gml_posterior_simulate_options_default);
  require(o.batch_size >= 1, "opts->batch_size must be >= 1");
  return o;
}

std::string default_data_dir(const char* data_dir) {
  if (data_dir && *data_dir) return data_dir;
  if (const char* env = std::getenv("GML_DATA_DIR"); env && *env) return env;
  return GML_SOURCE_DATA_DIR;
}

}  // namespace

using gml::capi::guard;
using gml::capi::model_call;

// gml_posterior_train_options fields that are PosteriorConfig fields ...
// clang-format off
#define GML_POSTERIOR_CONFIG_FIELDS(X) \
  X(num_blocks, num_blocks) X(hidden_width, hidden_width) \
  X(made_blocks, made_blocks) X(num_bins, num_bins)
// clang-format on
static constexpr auto kPosteriorConfigFields = GML_FIELD_LINKS(GML_POSTERIOR_CONFIG_FIELDS);
// ... and PosteriorTrainOptions fields.
// clang-format off
#define GML_POSTERIOR_TRAIN_FIELDS(X) \
  X(batch_size, batch_size) X(learning_rate, lr) X(max_epochs, max_epochs) \
  X(patience, patience) X(validation_fraction, validation_fraction) X(resume, resume) \
  X(seed, seed) X(lr_plateau, lr_plateau) X(lr_factor, lr_factor)
// clang-format on
static constexpr auto kPosteriorTrainFields = GML_FIELD_LINKS(GML_POSTERIOR_TRAIN_FIELDS);

extern "C" {

GML_API void gml_posterior_simulate_options_default(gml_posterior_simulate_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
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
    require(n >= 1, "n must be >= 1");
    gml::capi::checked_elements({n, theta_dim}, sizeof(double), "n x theta_dim parameters");
    gml::capi::checked_elements({n, x_dim}, sizeof(double), "n x x_dim observations");
    require(path != nullptr && *path, "path must not be NULL or empty");
    gml_posterior_simulate_options o = simulate_options(opts);
    o.seed = gml::capi::seed_for(c, o.seed);
    post::TrainingSetInfo info;
    info.theta_dim = theta_dim;
    info.x_dim = x_dim;
    require(!(o.prior && o.prior_sample), "give opts->prior or opts->prior_sample, not both");
    require((prior_lower == nullptr) == (prior_upper == nullptr),
            "prior_lower and prior_upper must both be given or both be NULL");
    post::Prior prior;
    std::vector<double> lo, hi;
    if (prior_lower) {
      lo.assign(prior_lower, prior_lower + theta_dim);
      hi.assign(prior_upper, prior_upper + theta_dim);
    }
    if (o.prior) {
      require(!prior_lower, "opts->prior is the prior: prior_lower and prior_upper must be NULL");
      prior = post::Prior::from_json_text(o.prior, theta_dim);
    } else if (o.prior_sample) {
      prior = post::Prior::external(theta_dim, lo, hi);
    } else {
      require(prior_lower != nullptr, "prior bounds must not be NULL without opts->prior");
      for (int64_t i = 0; i < theta_dim; ++i) {
        require(std::isfinite(lo[i]) && std::isfinite(hi[i]) && lo[i] < hi[i],
                "prior bound " + std::to_string(i) + " must be finite with lower < upper");
      }
      prior = post::Prior::box(lo, hi);
    }
    post::store_prior(prior, info.prior, info.prior_lower, info.prior_upper);
    info.theta_names = gml::capi::list_option(o.theta_names);
    info.x_names = gml::capi::list_option(o.x_names);
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
        o.resume != 0, &progress,
        o.prior_sample ? post::PriorSampler([&](int64_t first, int64_t m, double* theta) {
          return o.prior_sample(first, m, theta_dim, o.seed, theta, o.prior_user);
        })
                       : post::PriorSampler());
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
    require(o.prior == nullptr && o.prior_sample == nullptr,
            "the SED model's prior is built in (docs/sed_model.md): opts->prior and "
            "opts->prior_sample must be NULL");
    o.seed = gml::capi::seed_for(c, o.seed);
    gml::runs::simulate_sed_training_set(default_data_dir(data_dir), n, o.seed, o.batch_size,
                                         o.resume != 0, path, &c.control);
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
  if (!gml::capi::start_defaults(opts)) return;
  // The core structs hold the defaults (SEDflow's); only the names are here.
  const post::PosteriorConfig c;
  gml::capi::publish_fields(kPosteriorConfigFields, *opts, c);
  gml::capi::publish_fields(kPosteriorTrainFields, *opts, post::PosteriorTrainOptions{});
  opts->estimator = post::estimator_name(c.estimator);
  // NULL: the estimator's own (tanh for MADE blocks, relu for sbi's NSF).
  opts->activation = nullptr;
  // Sized by the training set at train time (estimator_defaults.h).
  opts->num_blocks = 0;
  opts->hidden_width = 0;
  opts->num_bins = 0;
  opts->batch_size = 0;
  const gml::runs::PosteriorTrainRunOptions run;
  opts->calibration_sims = run.calibration_sims;
  opts->calibration_samples = run.calibration_samples;
  opts->bounded_theta = run.bounded_theta;
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
    gml::runs::PosteriorTrainRunOptions r;
    r.max_rows = o.max_rows;
    post::PosteriorConfig& cfg = r.config;
    // "nsf" is sbi's (couplings); the MADE-based one of earlier releases
    // stays reachable by name.
    const std::string est = o.estimator ? o.estimator : "maf";
    require(
        est == "maf" || est == "nsf" || est == "autoregressive_nsf",
        "opts->estimator must be \"maf\", \"nsf\" or \"autoregressive_nsf\", not \"" + est + "\"");
    cfg.estimator = est == "maf" ? post::Estimator::Maf : post::Estimator::Nsf;
    cfg.coupling = est == "nsf";
    const std::string act =
        o.activation && *o.activation ? o.activation : (cfg.coupling ? "relu" : "tanh");
    require(act == "tanh" || act == "relu", "opts->activation must be \"tanh\" or \"relu\"");
    cfg.activation = act == "tanh" ? post::Activation::Tanh : post::Activation::Relu;
    gml::capi::receive_fields(kPosteriorConfigFields, o, cfg);
    post::PosteriorTrainOptions& to = r.train;
    gml::capi::receive_fields(kPosteriorTrainFields, o, to);
    to.checkpoint_path = o.checkpoint_path ? o.checkpoint_path : "";
    require(o.calibration_sims >= 0, "opts->calibration_sims must be >= 0");
    require(o.calibration_sims == 0 || o.calibration_samples >= 2,
            "opts->calibration_samples must be >= 2");
    r.calibration_sims = o.calibration_sims;
    r.calibration_samples = o.calibration_samples;
    require(o.bounded_theta >= -1 && o.bounded_theta <= 1,
            "opts->bounded_theta must be -1, 0 or 1");
    r.bounded_theta = o.bounded_theta;
    gml::runs::run_posterior_training(training_set_path, r, model_path, &c.control, c.device);
  });
}

GML_API gml_status gml_posterior_dims(const gml_model* model, int64_t* theta_dim, int64_t* x_dim) {
  return guard("gml_posterior_dims", [&] {
    const gml_model& m = gml::capi::require_model(model, "posterior");
    if (theta_dim)
      *theta_dim = gml::capi::loaded_as<post::LoadedPosterior>(m).flow->config().theta_dim;
    if (x_dim) *x_dim = gml::capi::loaded_as<post::LoadedPosterior>(m).flow->config().x_dim;
  });
}

GML_API gml_status gml_posterior_describe(const gml_model* model, char* buf, size_t capacity,
                                          size_t* length) {
  std::string text;
  gml_status s = guard("gml_posterior_describe", [&] {
    const gml_model& m = gml::capi::require_model(model, "posterior");
    text =
        gml::runs::describe_posterior(gml::capi::loaded_as<post::LoadedPosterior>(m), m.checksum());
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_posterior_describe", text, buf, capacity, length);
}

GML_API gml_status gml_posterior_sample(gml_context* ctx, const gml_model* model, const double* x,
                                        int64_t n_obs, int64_t n_samples, uint64_t seed,
                                        double* theta, size_t capacity, int64_t* n_outside) {
  return model_call(
      "gml_posterior_sample", ctx, model, "posterior", [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        post::PosteriorFlow& flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
        require(theta != nullptr, "theta must not be NULL");
        const int64_t d = flow->config().theta_dim;
        require(n_obs >= 1 && n_samples >= 1, "n_obs and n_samples must be >= 1");
        require(n_samples <= INT64_MAX / n_obs / d, "n_obs * n_samples is too large");
        gml::capi::require_capacity(theta, capacity, n_obs * n_samples * d, "theta", "doubles");
        const at::Tensor xs = gml::capi::caller_rows(x, n_obs, flow->config().x_dim, "x");
        const std::vector<int64_t> outside =
            gml::runs::sample_posterior_into(flow, xs, n_samples, seed, theta, &c.control);
        if (n_outside) std::memcpy(n_outside, outside.data(), outside.size() * sizeof(int64_t));
      });
}

GML_API gml_status gml_posterior_log_prob(gml_context* ctx, const gml_model* model,
                                          const double* theta, int64_t n, const double* x,
                                          int64_t n_x, double* log_prob) {
  return model_call(
      "gml_posterior_log_prob", ctx, model, "posterior", [&](gml_context& c, const gml_model& m) {
        require(n >= 0, "n must be >= 0");
        require(n_x == 1 || n_x == n, "n_x must be 1 or n");
        require(log_prob != nullptr || n == 0, "log_prob must not be NULL");
        if (n == 0) return;
        post::PosteriorFlow& flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
        const auto& cfg = flow->config();
        const at::Tensor t = gml::capi::caller_rows(theta, n, cfg.theta_dim, "theta");
        const at::Tensor xs = gml::capi::caller_rows(x, n_x, cfg.x_dim, "x");
        const std::vector<double> lp = gml::runs::posterior_log_prob(flow, t, xs, m.device);
        std::memcpy(log_prob, lp.data(), lp.size() * sizeof(double));
      });
}

GML_API gml_status gml_posterior_summarize(gml_context* ctx, const gml_model* model,
                                           const double* x, int64_t n_obs, int64_t n_samples,
                                           uint64_t seed, double* summary, size_t capacity,
                                           int64_t* n_outside) {
  return model_call(
      "gml_posterior_summarize", ctx, model, "posterior", [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        post::PosteriorFlow& flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
        require(summary != nullptr, "summary must not be NULL");
        require(n_obs >= 1, "n_obs must be >= 1");
        require(x != nullptr, "x must not be NULL");
        require(n_samples >= 1, "n_samples must be >= 1");
        const int64_t d = flow->config().theta_dim;
        gml::capi::checked_elements({n_samples, d}, sizeof(double), "n_samples draws");
        const int64_t total =
            gml::capi::checked_elements({n_obs, d, GML_SUMMARY_COLUMNS}, sizeof(double), "summary");
        gml::capi::require_capacity(summary, capacity, total, "summary", "doubles");
        const at::Tensor xs = gml::capi::caller_rows(x, n_obs, flow->config().x_dim, "x");
        const gml::runs::PosteriorSummaries s =
            gml::runs::summarize_posterior(flow, xs, n_samples, seed, &c.control);
        std::memcpy(summary, s.summary.data(), s.summary.size() * sizeof(double));
        if (n_outside) std::memcpy(n_outside, s.outside.data(), s.outside.size() * sizeof(int64_t));
      });
}

GML_API gml_status gml_posterior_sample_to_file(gml_context* ctx, const gml_model* model,
                                                const double* x, int64_t n_obs, int64_t n_samples,
                                                uint64_t seed, const char* path) {
  return model_call(
      "gml_posterior_sample_to_file", ctx, model, "posterior",
      [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        post::PosteriorFlow& flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
        require(path != nullptr && *path, "path must not be NULL or empty");
        require(n_obs >= 1 && n_samples >= 1, "n_obs and n_samples must be >= 1");
        const int64_t d = flow->config().theta_dim;
        gml::capi::checked_elements({n_samples, d}, sizeof(double), "n_samples draws");
        gml::capi::checked_elements({n_obs, n_samples, d}, sizeof(float),
                                    "n_obs x n_samples draws");
        const at::Tensor xs = gml::capi::caller_rows(x, n_obs, flow->config().x_dim, "x");
        gml::runs::sample_posterior_to_file(flow, xs, n_samples, seed, path, m.path, m.checksum(),
                                            &c.control);
      });
}

GML_API void gml_posterior_sample_options_default(gml_posterior_sample_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  const post::TruncationOptions d;
  opts->truncate = -1;
  opts->min_acceptance = d.min_acceptance;
}

GML_API gml_status gml_posterior_draw(gml_context* ctx, const gml_model* model, const double* x,
                                      int64_t n_obs, int64_t n_samples, uint64_t seed,
                                      const gml_posterior_sample_options* opts, double* theta,
                                      size_t capacity, int64_t* n_accepted, int64_t* n_proposed) {
  return model_call(
      "gml_posterior_draw", ctx, model, "posterior", [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        post::PosteriorFlow& flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
        const auto o = gml::capi::read_options(opts, gml_posterior_sample_options_default);
        require(theta != nullptr, "theta must not be NULL");
        const int64_t d = flow->config().theta_dim;
        require(n_obs >= 1 && n_samples >= 1, "n_obs and n_samples must be >= 1");
        require(n_samples <= INT64_MAX / n_obs / d, "n_obs * n_samples is too large");
        gml::capi::require_capacity(theta, capacity, n_obs * n_samples * d, "theta", "doubles");
        const at::Tensor xs = gml::capi::caller_rows(x, n_obs, flow->config().x_dim, "x");
        gml::runs::HostLogProb host;
        if (o.prior_log_prob) {
          host = [&o, d](const double* t, int64_t rows, double* lp) {
            return o.prior_log_prob(t, rows, d, lp, o.prior_user);
          };
        }
        const auto truncation =
            gml::runs::truncation_for(flow->config(), o.truncate, o.min_acceptance, host);
        std::vector<int64_t> accepted;
        const std::vector<int64_t> outside =
            gml::runs::sample_posterior_into(flow, xs, n_samples, seed, theta, &c.control,
                                             truncation ? &*truncation : nullptr, &accepted);
        if (truncation) gml::runs::warn_short(accepted, n_samples, "gml_posterior_draw");
        if (n_accepted) std::memcpy(n_accepted, accepted.data(), accepted.size() * sizeof(int64_t));
        if (n_proposed) {
          for (size_t g = 0; g < accepted.size(); ++g) {
            n_proposed[g] = truncation ? accepted[g] + outside[g] : n_samples;
          }
        }
      });
}

GML_API gml_status gml_posterior_draw_to_file(gml_context* ctx, const gml_model* model,
                                              const double* x, int64_t n_obs, int64_t n_samples,
                                              uint64_t seed,
                                              const gml_posterior_sample_options* opts,
                                              const char* path) {
  return model_call(
      "gml_posterior_draw_to_file", ctx, model, "posterior",
      [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        post::PosteriorFlow& flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
        const auto o = gml::capi::read_options(opts, gml_posterior_sample_options_default);
        require(path != nullptr && *path, "path must not be NULL or empty");
        require(n_obs >= 1 && n_samples >= 1, "n_obs and n_samples must be >= 1");
        const int64_t d = flow->config().theta_dim;
        gml::capi::checked_elements({n_samples, d}, sizeof(double), "n_samples draws");
        gml::capi::checked_elements({n_obs, n_samples, d}, sizeof(float),
                                    "n_obs x n_samples draws");
        const at::Tensor xs = gml::capi::caller_rows(x, n_obs, flow->config().x_dim, "x");
        gml::runs::HostLogProb host;
        if (o.prior_log_prob) {
          host = [&o, d](const double* t, int64_t rows, double* lp) {
            return o.prior_log_prob(t, rows, d, lp, o.prior_user);
          };
        }
        const auto truncation =
            gml::runs::truncation_for(flow->config(), o.truncate, o.min_acceptance, host);
        std::vector<int64_t> accepted;
        gml::runs::sample_posterior_to_file(flow, xs, n_samples, seed, path, m.path, m.checksum(),
                                            &c.control, truncation ? &*truncation : nullptr,
                                            &accepted);
        if (truncation) gml::runs::warn_short(accepted, n_samples, "gml_posterior_draw_to_file");
      });
}

}  // extern "C"
