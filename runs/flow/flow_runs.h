// Whole runs of the flow family (GalacticFlow): sampling into a buffer or a
// star table, log densities, synthetic galaxies, the MMD evaluation against
// a star table, and a training run from a star table to a model file. The C
// ABI's gml_flow_* functions are these runs behind argument checks; the
// caller's arrays arrive here as checked tensors.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/flow/flow_file.h"
#include "core/flow/galaxy_generator.h"  // the simulated galaxies' columns and conditions
#include "core/flow/star_table.h"
#include "core/flow/training.h"

namespace gml {
class RunControl;
}

namespace gml::runs {

// The model's description as JSON text: column and condition names (x0.., c0..
// where the model file names none), the training range of the conditions,
// and `checksum`.
std::string describe_flow(const flow::LoadedFlow& model, const std::string& checksum);

// Draws n_per_galaxy stars for each row of `conditions` (G, C) into `stars`
// (G * n_per_galaxy * data_dim floats, galaxy by galaxy), chunk by chunk
// straight into the buffer: a scratch copy would double the memory of a
// large sample. Returns each galaxy's distance outside the training range
// of the conditions, in units of that range (> 0: an extrapolation, which
// is also logged). On an error after sampling began `stars` is unspecified.
at::Tensor sample_flow_into(flow::LoadedFlow& model, const at::Tensor& conditions,
                            int64_t n_per_galaxy, uint64_t seed, float* stars, RunControl* control);

// As sample_flow_into(), into a star table at `path`, committed atomically
// only when every chunk was written (no file on error). The model's path
// and checksum are recorded as provenance.
void sample_flow_to_file(flow::LoadedFlow& model, const at::Tensor& conditions,
                         int64_t n_per_galaxy, uint64_t seed, const std::string& path,
                         const std::string& model_path, const std::string& model_checksum,
                         RunControl* control);

// log p(stars | conditions) per star; `conditions` has one row (one galaxy)
// or one row per star.
std::vector<double> flow_log_prob(flow::LoadedFlow& model, const at::Tensor& stars,
                                  const at::Tensor& conditions, RunControl* control);

// n_galaxies synthetic galaxies of n_stars each (docs/flow_generator.md),
// written as a star table. `conditions` (G, C) undefined: drawn from the
// generator's prior with the same seed. Throws InvalidArgument for a
// condition row the generator cannot use.
void simulate_flow_galaxies(int64_t n_galaxies, int64_t n_stars, const at::Tensor& conditions,
                            uint64_t seed, const std::string& path, RunControl* control);

// One galaxy of a star table: its stars (N, D) and conditions (C), float64.
// Throws Error(NotFound) when the table does not hold it.
struct FlowGalaxy {
  at::Tensor stars, conditions;
};
FlowGalaxy read_flow_galaxy(const std::string& path, int64_t galaxy_id);

// The star table an evaluation runs over, checked against the model's
// dimensions (InvalidArgument otherwise). Read before the evaluation so that
// a caller learns the number of galaxies before sizing its outputs.
flow::StarTable read_evaluation_table(const flow::LoadedFlow& model, const std::string& path);

// Per galaxy of `table`: the linear-time MMD^2 between n_samples draws at
// galaxy `galaxy_id`'s conditions and the galaxy's own stars, in the model's
// normalised units, and its log stellar mass minus the reference's.
struct FlowEvaluation {
  std::vector<int64_t> galaxy_ids;
  std::vector<double> delta_log_mass, mmd;
};
FlowEvaluation evaluate_flow(flow::LoadedFlow& model, const flow::StarTable& table,
                             const std::string& path, int64_t galaxy_id, int64_t n_samples,
                             uint64_t seed, RunControl* control);

struct FlowTrainRunOptions {
  flow::TrainOptions train;
  int64_t max_stars_per_galaxy = 0;  // 0: every star of the table
  std::string config_json;           // overrides of the architecture; empty: none
  std::string command;               // recorded as provenance
};

// A star table in, a model file out (architecture from the table and the
// overrides; the conditions range seen in training is kept for the
// extrapolation warning). Throws the star-table and model-file errors,
// InvalidArgument for an unusable table or overrides, and Cancelled.
flow::TrainReport run_flow_training(const std::string& stars_path,
                                    const FlowTrainRunOptions& options,
                                    const std::string& model_path, RunControl* control,
                                    const c10::Device& device);

}  // namespace gml::runs
