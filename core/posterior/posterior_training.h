// Training of a posterior estimator on simulations (theta, x), as SEDflow
// does: Adam, mini-batches, a random 90/10 split, early stopping when the
// validation loss has not improved for `patience` epochs (the best weights
// are restored), checkpoint and resume, deterministic on CPU for a seed.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/posterior/posterior_flow.h"

namespace gml {
class RunControl;
}

namespace gml::posterior {

struct PosteriorTrainOptions {
  int64_t batch_size = 50;  // SEDflow's
  double lr = 5e-4;         // SEDflow's
  int64_t max_epochs = 1000;
  int64_t patience = 20;  // epochs without validation improvement
  double validation_fraction = 0.1;
  double clip_norm = 5.0;  // gradient norm clip; <= 0 disables
  // Learning-rate decay on plateaus (not in SEDflow, off by default): after
  // every `lr_plateau` epochs without improvement the rate is multiplied by
  // `lr_factor`. Late small steps let the estimator settle below the noise
  // floor of a constant rate; early stopping still ends the run.
  int64_t lr_plateau = 0;
  double lr_factor = 0.5;
  std::string checkpoint_path;  // empty: no checkpoints; written after every epoch
  bool resume = false;          // continue from checkpoint_path if it exists
  uint64_t seed = 0;
};

struct PosteriorTrainReport {
  int64_t epochs = 0;                      // epochs run in total (including resumed ones)
  int64_t best_epoch = 0;                  // 1-based epoch whose weights were kept
  double best_validation_loss = 0;         // mean -log q(theta | x) on the validation rows
  std::vector<double> train_history;       // per epoch
  std::vector<double> validation_history;  // per epoch
  bool stopped_early = false;
  int64_t train_rows = 0, validation_rows = 0;
  int64_t dropped_rows = 0;  // rows with non-finite theta or x, or on or beyond the
                             // bounds of a bounded_theta flow: left out
  at::Tensor x_min, x_max;   // (C) float64 range of x over the training rows
  // The validation rows (CPU float64), held out of the gradient steps: the
  // simulations a trained model is calibrated on.
  at::Tensor validation_theta, validation_x;
};

// The record a model file keeps of its training (JSON text): the report's
// figures and the options that shaped them.
std::string training_record(const PosteriorTrainReport& report,
                            const PosteriorTrainOptions& options);

// Trains `flow` in place (normalisation fitted on the training rows unless
// resumed) on `device`. theta (N, D), x (N, C). Progress ("train", batches)
// and cancellation go through `control` (may be null); a cancelled run
// throws Error(Cancelled), and its last completed epoch's checkpoint stays.
PosteriorTrainReport train_posterior(PosteriorFlow& flow, const at::Tensor& theta,
                                     const at::Tensor& x, const PosteriorTrainOptions& options,
                                     RunControl* control,
                                     const c10::Device& device = c10::Device(c10::kCPU));

// Mean -log q(theta | x) over rows, evaluated in chunks without autograd.
double mean_negative_log_prob(PosteriorFlow& flow, const at::Tensor& theta, const at::Tensor& x);

}  // namespace gml::posterior
