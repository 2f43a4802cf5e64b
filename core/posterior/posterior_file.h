// Posterior estimators in the project's HDF5 model format (family
// "posterior"; docs/model_format.md): MADE weights and permutations in
// `tensors`, the z-scores of theta and x plus the range of x seen in
// training in `normalization`, training history in `extra`.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "core/common/family_file.h"
#include "core/posterior/posterior_flow.h"

namespace gml::posterior {

struct PosteriorFileExtras {
  at::Tensor x_train_min, x_train_max;  // (C) float64; undefined if unknown
  // (S, C) float64: a random subset of the training x, for the
  // nearest-neighbour support check of catalog rows; undefined if absent.
  at::Tensor support_x;
  std::string provenance = "{}";  // JSON
  std::string training = "{}";    // JSON: options and losses
};

ModelFile posterior_model_file(PosteriorFlow& flow, const PosteriorFileExtras& extras);
void save_posterior(const std::string& path, PosteriorFlow& flow,
                    const PosteriorFileExtras& extras);

struct LoadedPosterior : LoadedFlowModel<PosteriorFlow, PosteriorFileExtras> {
  static constexpr const char* kFamily = "posterior";
  const char* family() const override { return kFamily; }
};
LoadedPosterior posterior_from_model_file(const ModelFile& file);
LoadedPosterior load_posterior(const std::string& path);
// The posterior family's entry of the family table.
extern const ModelFamily kPosteriorFamily;

}  // namespace gml::posterior
