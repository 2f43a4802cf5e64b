// Whole runs of the posterior family (SEDflow) besides the catalog run:
// training from a simulations file, the SED simulator into one, and
// sampling, log densities and summaries of the caller's observations in
// bounded memory. The C ABI's gml_posterior_* functions are these runs (and
// catalog_run.h, calibration_run.h) behind argument checks; the caller's
// arrays arrive here as checked tensors.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/posterior/calibration_run.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/posterior_sampling.h"
#include "core/posterior/posterior_training.h"
#include "core/posterior/sed/parameters.h"
#include "core/posterior/training_set.h"
#include "core/posterior/truncated_sampling.h"
#include "runs/posterior/catalog_run.h"

namespace gml {
class Progress;
class RunControl;
}  // namespace gml

namespace gml::runs {

// The model's description as JSON text: names, prior box, observation kind,
// the x range seen in training, the architecture and `checksum`.
std::string describe_posterior(const posterior::LoadedPosterior& model,
                               const std::string& checksum);

// n_samples draws for each row of x (N, x_dim) into `theta` (N * n_samples *
// theta_dim doubles, observation by observation), block by block straight
// into the buffer, so memory beyond it stays bounded for any n_samples and a
// cancel is seen between blocks. Untruncated (truncation null) the draws
// are those of draw_posterior(), and the result counts the draws outside
// the prior; truncated they are draw_truncated()'s, the result counts the
// rejected proposals and `accepted` (when given) the draws kept.
std::vector<int64_t> sample_posterior_into(posterior::PosteriorFlow& flow, const at::Tensor& x,
                                           int64_t n_samples, uint64_t seed, double* theta,
                                           RunControl* control,
                                           const posterior::TruncationOptions* truncation = nullptr,
                                           std::vector<int64_t>* accepted = nullptr);

// The blocks of sample_posterior_into(), for writers of other
// destinations: observations [first, first + n) are drawn into
// destination(first, n) (room for n * n_samples * theta_dim doubles), then
// ready(first, n, theta, outside, accepted) receives them with the draws
// outside the prior (or rejected) per observation, and the draws kept
// (null without truncation: all of them). At most max(1, 16384 / n_samples)
// observations per block, so memory beyond the destination stays bounded.
// Progress reports observations done; a cancel is seen between blocks.
void sample_posterior_blocks(posterior::PosteriorFlow& flow, const at::Tensor& x, int64_t n_samples,
                             uint64_t seed, Progress& progress,
                             const std::function<double*(int64_t, int64_t)>& destination,
                             const std::function<void(int64_t, int64_t, const double*,
                                                      const int64_t*, const int64_t*)>& ready,
                             const posterior::TruncationOptions* truncation = nullptr);

// A host prior's log density: lp[n] for theta[n, D]; returns 0 on success.
using HostLogProb = std::function<int(const double* theta, int64_t n, double* lp)>;

// The truncation a caller asked for: mode -1 where the model's prior has a
// bound (or a host density is given), 1 always, 0 never; nullopt when off.
// With `host` a draw is kept where the host's log density is finite
// (Error(Callback) when it fails), else where the model's prior has
// support. Error(InvalidArgument) for another mode or min_acceptance
// outside (0, 1].
std::optional<posterior::TruncationOptions> truncation_for(const posterior::PosteriorConfig& cfg,
                                                           int mode, double min_acceptance,
                                                           const HostLogProb& host = nullptr);

// Logs (GML_LOG_WARN) how many observations got fewer than n draws.
void warn_short(const std::vector<int64_t>& accepted, int64_t n, const char* what);

// log p(theta | x) per row; x has one row or one per theta row. Runs on
// `device`, where the model is.
std::vector<double> posterior_log_prob(posterior::PosteriorFlow& flow, const at::Tensor& theta,
                                       const at::Tensor& x, const c10::Device& device);

// summarize_draws() of n_samples draws per row of x (N * theta_dim *
// kSummaryColumns doubles), truncated to the prior's support (the default
// TruncationOptions), in blocks of observations so memory stays bounded for
// any N, with the rejected proposals and the draws used per observation.
struct PosteriorSummaries {
  std::vector<double> summary;
  std::vector<int64_t> outside;
  std::vector<int64_t> accepted;
};
PosteriorSummaries summarize_posterior(posterior::PosteriorFlow& flow, const at::Tensor& x,
                                       int64_t n_samples, uint64_t seed, RunControl* control);

struct PosteriorTrainRunOptions {
  // Architecture; the dimensions, prior and names come from the simulations.
  posterior::PosteriorConfig config;
  posterior::PosteriorTrainOptions train;
  int64_t max_rows = 0;  // 0: every complete row of the file
  // After training, a calibration run on up to this many validation rows
  // (never in a gradient step), stored in the model's provenance; 0: none.
  // Fewer than kMinCalibrationSims validation rows are too few to test and
  // leave the model without a record.
  int64_t calibration_sims = 1000;
  int64_t calibration_samples = 500;  // draws per simulation
  // PosteriorConfig::bounded_theta: -1 for the SED model where its prior
  // bounds a parameter (other simulators: never, as sbi), 0 never, 1 always
  // (InvalidArgument when the prior bounds nothing).
  int bounded_theta = -1;
};
inline constexpr int64_t kMinCalibrationSims = 100;

// Calibration of the model on rows [first_row, first_row + n_sims) of a
// simulations file it was not trained on (calibrate_posterior()). Throws
// InvalidArgument when the file holds fewer complete rows or other
// dimensions than the model's, the file errors, Cancelled. With
// `truncation`, the draws are truncated to the prior (calibrate_posterior()),
// and simulations left short are logged.
posterior::CalibrationReport run_posterior_diagnosis(
    posterior::PosteriorFlow& flow, const std::string& simulations_path, int64_t first_row,
    int64_t n_sims, int64_t n_samples, int64_t levels, uint64_t seed, RunControl* control,
    const posterior::TruncationOptions* truncation = nullptr);

// A simulations file in, a model file out (with the x range, a subset of
// training x for the catalog support check and the calibration record,
// whose verdict is logged: GML_LOG_INFO when it passes, GML_LOG_WARN when
// not). Throws InvalidArgument for an
// architecture the simulations cannot have, the file errors, Cancelled.
posterior::PosteriorTrainReport run_posterior_training(const std::string& training_set_path,
                                                       const PosteriorTrainRunOptions& options,
                                                       const std::string& model_path,
                                                       RunControl* control,
                                                       const c10::Device& device);

// n simulations of the SED simulator (its tables under data_dir/sed and
// data_dir/sdss) into a simulations file; each batch's noise and redshifts
// depend on (seed, first row) only, so a resumed file is the same.
void simulate_sed_training_set(const std::string& data_dir, int64_t n, uint64_t seed,
                               int64_t batch_size, bool resume, const std::string& path,
                               RunControl* control);

}  // namespace gml::runs
