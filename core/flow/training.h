// Training of a conditional flow as in GalacticFlow (Wolf et al. 2023):
// RAdam, batch 1024, learning rate 9e-5 decayed by 0.998 every 10 steps and,
// once below 3e-6, every 120 steps; validation on whole held-out galaxies
// (leave-k-galaxies-out), checkpoint and resume, deterministic on CPU for a
// fixed seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/flow/conditional_flow.h"

namespace gml {
class RunControl;
}

namespace gml::flow {

// Stars of many galaxies: one row per star.
struct StarSet {
  at::Tensor data;        // (N, D) user units
  at::Tensor conditions;  // (N, C) the star's galaxy's conditions
  at::Tensor galaxy;      // (N) int64 galaxy id
};

struct TrainOptions {
  int64_t steps = 20000;
  int64_t batch_size = 1024;
  double lr = 9e-5;
  double lr_decay = 0.998;
  int64_t decay_every = 10;
  double lr_slow_below = 3e-6;     // below this learning rate ...
  int64_t decay_every_slow = 120;  // ... decay only every this many steps
  // Galaxies held out whole for validation; 0: 10% of galaxies (at least
  // one when there are two or more).
  int64_t validation_galaxies = 0;
  int64_t eval_every = 250;
  int64_t max_validation_stars = 20000;
  std::string checkpoint_path;  // empty: no checkpoints
  int64_t checkpoint_every = 1000;
  bool resume = false;  // continue from checkpoint_path if it exists
  uint64_t seed = 0;
};

struct TrainReport {
  int64_t steps = 0;
  double train_loss = 0;       // mean -log p of the last 100 steps, normalised units
  double validation_loss = 0;  // on held-out galaxies, normalised units; NaN if none
  std::vector<int64_t> validation_galaxy_ids;
  std::vector<double> validation_history;   // one value per evaluation
  at::Tensor condition_min, condition_max;  // training range (C) float64
};

// The learning rate after `step` optimiser steps under the GalacticFlow schedule.
double scheduled_lr(const TrainOptions& options, int64_t step);

// The record a model file keeps of its training (JSON text).
std::string training_record(const TrainReport& report);

// Trains `flow` (normalisation fitted on the training galaxies) on `device`.
// Progress ("train", steps, loss, detail with lr, stars/s and validation
// loss) and cancellation go through `control` (may be null).
TrainReport train_flow(ConditionalFlow& flow, const StarSet& set, const TrainOptions& options,
                       RunControl* control, const c10::Device& device);

}  // namespace gml::flow
