// The estimator and batch a training set gets when the caller leaves them
// open (0): SEDflow's published network for the built-in SED model, sbi's
// NPE defaults for any other simulator. docs/posterior.md, "Defaults".
#pragma once

#include <cstdint>
#include <string>

#include "core/posterior/posterior_config.h"

namespace gml::posterior {

struct PosteriorTrainOptions;

// Fills num_blocks, hidden_width, num_bins (config) and batch_size (train)
// where they are 0, for a training set of `rows` rows whose x is built as
// `observation` ("sed_ugriz": the SED model). The batch never exceeds the
// training rows (rows less the validation share). Returns a one-line account
// of what was chosen and why, for the log.
std::string apply_estimator_defaults(PosteriorConfig& config, PosteriorTrainOptions& train,
                                     const std::string& observation, int64_t rows);

}  // namespace gml::posterior
