#include "runs/posterior/posterior_runs.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/common/runtime.h"
#include "core/posterior/calibration_record.h"
#include "core/posterior/estimator_defaults.h"
#include "core/posterior/sed/observation.h"
#include "core/posterior/sed/simulator.h"

namespace gml::runs {

namespace post = posterior;

namespace {

// Training x rows kept in the model for the catalog support check.
constexpr int64_t kSupportRows = 20000;

// Rows of draws per block of sample_posterior_into(): draw_posterior()'s.
constexpr int64_t kMaxRows = 16384;

// Rows of log_prob per model call.
constexpr int64_t kLogProbRows = 65536;

// Draws held at once by summarize_posterior().
constexpr int64_t kSummaryDraws = 4000000;

// Credibility levels of the coverage and TARP curves of a training's
// calibration run (gml-posterior diagnose's default).
constexpr int64_t kCalibrationLevels = 20;

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

void copy_outside(const post::PosteriorDraws& draws, int64_t* out) {
  const at::Tensor o = draws.outside.to(at::kLong).contiguous();
  std::memcpy(out, o.data_ptr<int64_t>(), static_cast<size_t>(o.numel()) * sizeof(int64_t));
}

// A core error about the architecture is the caller's argument.
template <class Body>
void as_argument_error(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    fail(Status::InvalidArgument, e.what());
  }
}

}  // namespace

std::string describe_posterior(const post::LoadedPosterior& model, const std::string& checksum) {
  const post::PosteriorConfig& cfg = model.flow->config();
  nlohmann::json j;
  j["theta"] = cfg.theta_names;
  j["x"] = cfg.x_names;
  const post::Prior prior = cfg.prior_distribution();
  // JSON has no infinity: an unbounded side is null.
  auto side = [](const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (double e : v) a.push_back(std::isfinite(e) ? nlohmann::json(e) : nlohmann::json(nullptr));
    return a;
  };
  j["prior_lower"] = side(prior.support_lower());
  j["prior_upper"] = side(prior.support_upper());
  j["prior"] = prior.to_json();
  j["observation"] = cfg.observation;
  const auto& ex = model.extras;
  if (ex.x_train_min.defined()) {
    j["x_train_min"] = to_vector(ex.x_train_min);
    j["x_train_max"] = to_vector(ex.x_train_max);
  }
  if (!ex.provenance.empty()) {
    // Where the model came from, with the training rows outside its prior.
    j["provenance"] = nlohmann::json::parse(ex.provenance, nullptr, false);
  }
  j["config"] = nlohmann::json::parse(cfg.to_json_text());
  j["checksum"] = checksum;
  return j.dump();
}

void sample_posterior_blocks(post::PosteriorFlow& flow, const at::Tensor& x, int64_t n_samples,
                             uint64_t seed, Progress& progress,
                             const std::function<double*(int64_t, int64_t)>& destination,
                             const std::function<void(int64_t, int64_t, const double*,
                                                      const int64_t*, const int64_t*)>& ready,
                             const post::TruncationOptions* truncation) {
  const int64_t n_obs = x.size(0), d = flow->config().theta_dim;
  if (truncation) {
    const int64_t block = std::max<int64_t>(1, kMaxRows / n_samples);
    for (int64_t g0 = 0; g0 < n_obs; g0 += block) {
      const int64_t gb = std::min(block, n_obs - g0);
      std::vector<int64_t> ids(static_cast<size_t>(gb));
      for (int64_t g = 0; g < gb; ++g) ids[static_cast<size_t>(g)] = g0 + g;
      double* theta = destination(g0, gb);
      const post::TruncatedCounts tc = post::draw_truncated(
          flow, x.narrow(0, g0, gb), n_samples, seed, ids, *truncation, theta, &progress, kMaxRows);
      std::vector<int64_t> rejected(static_cast<size_t>(gb));
      for (size_t g = 0; g < rejected.size(); ++g) rejected[g] = tc.proposed[g] - tc.accepted[g];
      ready(g0, gb, theta, rejected.data(), tc.accepted.data());
      progress.update(g0 + gb);
    }
    return;
  }
  if (n_samples >= kMaxRows) {
    // One observation's draws span blocks: a cancel is seen within them.
    for (int64_t g = 0; g < n_obs; ++g) {
      double* theta = destination(g, 1);
      const int64_t outside = post::draw_observation_into(flow, x.narrow(0, g, 1), n_samples, seed,
                                                          g, theta, &progress, kMaxRows);
      ready(g, 1, theta, &outside, nullptr);
      progress.update(g + 1);
    }
    return;
  }
  const int64_t block = kMaxRows / n_samples;
  std::vector<int64_t> outside(static_cast<size_t>(block));
  for (int64_t g0 = 0; g0 < n_obs; g0 += block) {
    const int64_t gb = std::min(block, n_obs - g0);
    const post::PosteriorDraws dr =
        post::draw_posterior(flow, x.narrow(0, g0, gb), n_samples, seed, g0, nullptr, kMaxRows);
    const at::Tensor t = dr.theta.contiguous();
    double* theta = destination(g0, gb);
    std::memcpy(theta, t.data_ptr<double>(),
                static_cast<size_t>(gb * n_samples * d) * sizeof(double));
    copy_outside(dr, outside.data());
    ready(g0, gb, theta, outside.data(), nullptr);
    progress.update(g0 + gb);
  }
}

std::vector<int64_t> sample_posterior_into(post::PosteriorFlow& flow, const at::Tensor& x,
                                           int64_t n_samples, uint64_t seed, double* theta,
                                           RunControl* control,
                                           const post::TruncationOptions* truncation,
                                           std::vector<int64_t>* accepted) {
  const int64_t n_obs = x.size(0), d = flow->config().theta_dim;
  Progress progress(control, "sample", n_obs, "galaxies");
  std::vector<int64_t> outside(static_cast<size_t>(n_obs));
  if (accepted) accepted->assign(static_cast<size_t>(n_obs), n_samples);
  sample_posterior_blocks(
      flow, x, n_samples, seed, progress,
      [&](int64_t g0, int64_t) { return theta + g0 * n_samples * d; },
      [&](int64_t g0, int64_t gb, const double*, const int64_t* out, const int64_t* acc) {
        std::copy(out, out + gb, outside.begin() + g0);
        if (accepted && acc) std::copy(acc, acc + gb, accepted->begin() + g0);
      },
      truncation);
  progress.finish();
  return outside;
}

std::optional<post::TruncationOptions> truncation_for(const post::PosteriorConfig& cfg, int mode,
                                                      double min_acceptance,
                                                      const HostLogProb& host) {
  require(mode == -1 || mode == 0 || mode == 1, "truncate must be -1, 0 or 1");
  require(min_acceptance > 0 && min_acceptance <= 1, "min_acceptance must be in (0, 1]");
  if (mode == 0 || (mode == -1 && !host && !cfg.prior_distribution().bounded())) {
    return std::nullopt;
  }
  post::TruncationOptions t;
  t.min_acceptance = min_acceptance;
  if (host) {
    t.accept = [host](const at::Tensor& theta) {
      const at::Tensor c = theta.to(at::kCPU, at::kDouble).contiguous();
      at::Tensor lp = at::empty({c.size(0)}, at::kDouble);
      const int rc = host(c.data_ptr<double>(), c.size(0), lp.data_ptr<double>());
      if (rc != 0) fail(Status::Callback, "prior_log_prob returned " + std::to_string(rc));
      return at::isfinite(lp) & at::isfinite(c).all(1);
    };
  }
  return t;
}

void warn_short(const std::vector<int64_t>& accepted, int64_t n, const char* what) {
  int64_t short_obs = 0, fewest = n;
  for (int64_t a : accepted) {
    short_obs += a < n;
    fewest = std::min(fewest, a);
  }
  if (short_obs == 0) return;
  gml::log(gml::LogLevel::Warning,
           std::string(what) + ": " + std::to_string(short_obs) + " of " +
               std::to_string(accepted.size()) + " observations got fewer than " +
               std::to_string(n) +
               " draws inside the prior (the fewest: " + std::to_string(fewest) +
               "): the posterior puts almost no mass inside the prior there, so x is probably "
               "not one the simulator produces");
}

std::vector<double> posterior_log_prob(post::PosteriorFlow& flow, const at::Tensor& theta,
                                       const at::Tensor& x, const c10::Device& device) {
  const int64_t n = theta.size(0);
  const bool one_x = x.size(0) == 1;
  // The caller's rows are on the host; the model may sit on a GPU.
  const at::Tensor t = theta.to(device), xs = x.to(device);
  c10::InferenceMode inference;
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i += kLogProbRows) {
    const int64_t e = std::min(n, i + kLogProbRows);
    const at::Tensor xi = one_x ? xs : xs.slice(0, i, e);
    const at::Tensor lp =
        flow->log_prob(t.slice(0, i, e), xi).to(at::kCPU, at::kDouble).contiguous();
    std::memcpy(out.data() + i, lp.data_ptr<double>(), static_cast<size_t>(e - i) * sizeof(double));
  }
  return out;
}

PosteriorSummaries summarize_posterior(post::PosteriorFlow& flow, const at::Tensor& x,
                                       int64_t n_samples, uint64_t seed, RunControl* control) {
  const int64_t n_obs = x.size(0), d = flow->config().theta_dim;
  const int64_t block = std::max<int64_t>(1, kSummaryDraws / std::max<int64_t>(1, n_samples * d));
  PosteriorSummaries out;
  out.summary.resize(static_cast<size_t>(n_obs * d * post::kSummaryColumns));
  out.outside.resize(static_cast<size_t>(n_obs));
  out.accepted.resize(static_cast<size_t>(n_obs));
  const post::TruncationOptions truncation;
  Progress progress(control, "summarize", n_obs, "galaxies");
  for (int64_t g = 0; g < n_obs; g += block) {
    const int64_t gb = std::min(block, n_obs - g);
    std::vector<int64_t> ids(static_cast<size_t>(gb));
    for (int64_t i = 0; i < gb; ++i) ids[static_cast<size_t>(i)] = g + i;
    post::TruncatedCounts tc;
    const post::PosteriorDraws dr = post::draw_posterior_truncated(
        flow, x.narrow(0, g, gb), n_samples, seed, ids, truncation, &progress, kMaxRows, &tc);
    const at::Tensor s = post::summarize_draws(dr).contiguous();
    std::memcpy(out.summary.data() + g * d * post::kSummaryColumns, s.data_ptr<double>(),
                static_cast<size_t>(s.numel()) * sizeof(double));
    copy_outside(dr, out.outside.data() + g);
    std::copy(tc.accepted.begin(), tc.accepted.end(), out.accepted.begin() + g);
    progress.update(g + gb);
  }
  progress.finish();
  warn_short(out.accepted, n_samples, "posterior summaries");
  return out;
}

post::CalibrationReport run_posterior_diagnosis(post::PosteriorFlow& flow,
                                                const std::string& simulations_path,
                                                int64_t first_row, int64_t n_sims,
                                                int64_t n_samples, int64_t levels, uint64_t seed,
                                                RunControl* control,
                                                const post::TruncationOptions* truncation) {
  const post::PosteriorConfig& cfg = flow->config();
  const post::TrainingSet set = post::read_training_set(simulations_path, first_row + n_sims);
  require(set.theta.size(0) == first_row + n_sims,
          simulations_path + " holds " + std::to_string(set.theta.size(0)) + " complete rows; " +
              std::to_string(first_row + n_sims) + " needed");
  require(set.info.theta_dim == cfg.theta_dim && set.info.x_dim == cfg.x_dim,
          "the simulations' dimensions differ from the model's");
  Progress progress(control, "diagnose", n_sims, "simulations");
  post::CalibrationReport r = post::calibrate_posterior(
      flow, set.theta.narrow(0, first_row, n_sims), set.x.narrow(0, first_row, n_sims), n_samples,
      levels, seed, progress, truncation);
  if (r.short_sims > 0) {
    gml::log(gml::LogLevel::Warning,
             "posterior diagnosis: " + std::to_string(r.short_sims) + " of " +
                 std::to_string(n_sims) + " simulations left out: fewer than " +
                 std::to_string(n_samples) + " draws fell inside the prior");
  }
  return r;
}

post::PosteriorTrainReport run_posterior_training(const std::string& training_set_path,
                                                  const PosteriorTrainRunOptions& options,
                                                  const std::string& model_path,
                                                  RunControl* control, const c10::Device& device) {
  post::PosteriorTrainOptions to = options.train;
  const post::TrainingSet set = post::read_training_set(training_set_path, options.max_rows);
  post::PosteriorConfig cfg = options.config;
  const std::string chosen =
      post::apply_estimator_defaults(cfg, to, set.info.observation, set.theta.size(0));
  if (!chosen.empty()) gml::log(gml::LogLevel::Info, "posterior training: " + chosen);
  cfg.theta_dim = set.info.theta_dim;
  cfg.x_dim = set.info.x_dim;
  const post::Prior prior = set.info.prior_distribution();
  post::store_prior(prior, cfg.prior, cfg.prior_lower, cfg.prior_upper);
  require(options.bounded_theta >= -1 && options.bounded_theta <= 1,
          "bounded_theta must be -1 (by the training set), 0 or 1");
  // The SED model's posteriors are about as wide as its box prior, where
  // truncating a raw-theta flow leaves them too narrow (docs/posterior.md,
  // "Bounded parameters"). Elsewhere the mapping cost accuracy on sbibm's
  // tasks (two_moons, 10^3 simulations: C2ST 0.77 mapped, 0.69 raw with
  // truncation, as sbi does), so a generic simulator keeps raw theta.
  cfg.bounded_theta = options.bounded_theta == -1
                          ? prior.bounded() && set.info.observation == "sed_ugriz"
                          : options.bounded_theta == 1;
  int64_t outside = 0;
  if (!prior.is_none()) {
    // Simulations drawn from another prior train a posterior for that one.
    outside = set.theta.size(0) - prior.in_support(set.theta).sum().item<int64_t>();
    if (outside > 0) {
      gml::log(gml::LogLevel::Warning, "posterior training: " + std::to_string(outside) + " of " +
                                           std::to_string(set.theta.size(0)) +
                                           " training theta lie outside the " + prior.summary() +
                                           " of " + training_set_path +
                                           ": the simulations were not drawn from it");
    }
  }
  cfg.theta_names = set.info.theta_names;
  cfg.x_names = set.info.x_names;
  cfg.observation = set.info.observation;
  as_argument_error([&] { cfg.validate(); });
  post::PosteriorFlow flow(cfg, to.seed);
  const post::PosteriorTrainReport r =
      post::train_posterior(flow, set.theta, set.x, to, control, device);
  post::PosteriorFileExtras extras;
  extras.x_train_min = r.x_min;
  extras.x_train_max = r.x_max;
  // The simulations are in random order (theta is drawn independently per
  // row), so the first rows are a fair subset for the support check.
  extras.support_x = set.x.narrow(0, 0, std::min<int64_t>(set.x.size(0), kSupportRows)).clone();
  nlohmann::json provenance{{"training_set", training_set_path},
                            {"rows", set.theta.size(0)},
                            {"rows_outside_prior", outside}};
  const int64_t n_cal = std::min(options.calibration_sims, r.validation_rows);
  if (options.calibration_sims > 0 && n_cal < kMinCalibrationSims) {
    gml::log(gml::LogLevel::Info,
             "posterior training: not calibrated: " + std::to_string(r.validation_rows) +
                 " validation rows, " + std::to_string(kMinCalibrationSims) + " needed");
  } else if (options.calibration_sims > 0) {
    require(options.calibration_samples >= 2, "calibration_samples must be >= 2");
    Progress progress(control, "calibrate", n_cal, "simulations");
    // The draws a catalog run summarises by default: truncated where the
    // prior has a bound.
    const std::optional<post::TruncationOptions> truncation =
        truncation_for(flow->config(), -1, post::TruncationOptions{}.min_acceptance);
    const post::CalibrationReport report = post::calibrate_posterior(
        flow, r.validation_theta.narrow(0, 0, n_cal), r.validation_x.narrow(0, 0, n_cal),
        options.calibration_samples, kCalibrationLevels, to.seed + 0x5bc, progress,
        truncation ? &*truncation : nullptr);
    const post::CalibrationRecord record = post::record_calibration(
        report, cfg.theta_names, options.calibration_samples, "validation simulations");
    gml::log(record.passed() ? gml::LogLevel::Info : gml::LogLevel::Warning,
             "posterior training: " + record.verdict());
    provenance["calibration"] = nlohmann::json::parse(record.to_json_text());
  }
  extras.provenance = provenance.dump();
  extras.training = post::training_record(r, to);
  post::save_posterior(model_path, flow, extras);
  return r;
}

void simulate_sed_training_set(const std::string& data_dir, int64_t n, uint64_t seed,
                               int64_t batch_size, bool resume, const std::string& path,
                               RunControl* control) {
  sed::SimulatorOptions so;
  so.seed = seed;
  sed::SedSimulator sim =
      sed::SedSimulator::load(data_dir + "/sed", data_dir + "/sdss/gst_tests_small.fits", so);
  const sed::SedPrior prior;
  post::TrainingSetInfo info;
  info.theta_dim = sed::kThetaDim;
  info.x_dim = sed::kObsDim;
  const auto lo = prior.lower(), hi = prior.upper();
  info.prior_lower.assign(lo.begin(), lo.end());
  info.prior_upper.assign(hi.begin(), hi.end());
  for (const char* name : sed::theta_names()) info.theta_names.push_back(name);
  for (const char* name : sed::observation_names()) info.x_names.push_back(name);
  info.observation = "sed_ugriz";
  info.seed = seed;
  info.batch_size = batch_size;
  Progress progress(control, "simulate", n, "simulations");
  post::simulate_training_set(
      path, info, n,
      [&](int64_t first_row, const double* theta, int64_t m, double* x) {
        sim.reseed(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(first_row) + 1);
        const int rc = sim.simulate(theta, m, x);
        if (rc != 0) fail(Status::Callback, "SED simulator: " + sim.last_error());
        return 0;
      },
      resume, &progress);
  progress.finish();
}

}  // namespace gml::runs
