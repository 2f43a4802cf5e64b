// A merger training run: a simulator file (or any file of its layout) in, a
// model file out, on one process or data-parallel across the ranks of a
// backend. The architecture follows the data (bands, image size, classes,
// time span); the validation cameras are held out whole. The C ABI's
// gml_merger_train() is this run behind argument checks.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/merger/merger_training.h"
#include "runs/fwd.h"

namespace gml::runs {

struct MergerTrainRunOptions {
  std::string backbone = "resnet18";
  int64_t latent_dim = 0;    // 0: no VAE
  bool regress_time = true;  // only where the file has times
  bool fcae = true;
  std::string nan_policy = "reject";
  merger::MergerTrainOptions train;
  // Cameras held out for validation; empty: the two highest-numbered of the
  // file (which must have at least three).
  std::vector<int64_t> validation_cameras;
  std::string command;  // recorded as provenance
};

struct MergerTrainRun {
  merger::MergerTrainReport report;
  std::vector<int64_t> validation_cameras;
};

// Throws gml::Error: InvalidArgument for data or options the run cannot
// use, the file errors, Cancelled, and Backend when another rank failed.
// Rank 0 writes the model file (atomically); every rank learns whether it
// could.
MergerTrainRun run_merger_training(const std::string& data_path,
                                   const MergerTrainRunOptions& options,
                                   const std::string& model_path, dist::Backend& backend,
                                   RunControl* control, const c10::Device& device);

}  // namespace gml::runs
