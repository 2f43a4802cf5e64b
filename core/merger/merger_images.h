// Images entering a merger model: shape checks, NaN policy, optional
// resizing and the per-image normalisation every model applies the same way
// in training and inference.
//
// Normalisation: per image and band, x -> (x - median) / (q99.5 - median),
// with the quantiles taken over finite pixels. It makes simulated surface
// densities and survey fluxes (any zero point, any sky level already
// subtracted or not) comparable without knowing either's units.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/merger/merger_config.h"

namespace gml::merger {

// Per-image flags (bits), also written to classification tables.
enum ImageFlag : int32_t {
  kImageNanMasked = 1,  // NaN pixels were set to 0 (NanPolicy::Mask)
  kImageResized = 2,    // resampled to the model's size (on request)
  kImageBlank = 4,      // no finite pixel, or all pixels equal: outputs are not meaningful
  // The time head's value lies outside the simulated span [0, time_max]: the
  // image is unlike every training image (set by predict_merger; the value
  // is kept, not clipped, so the caller sees how far out it is).
  kImageTimeOutsideRange = 8,
  // The image's latent is far from every image of a latent index (set by
  // query_index: nearest entry beyond kOutOfDistributionFactor times the
  // index's nearest-neighbour scale): whatever class the heads give, the
  // model has seen nothing like it.
  kImageOutOfDistribution = 16,
};

// Checks and normalises raw images (N, C, H, W) float32 for `config`.
// Wrong band count is an error; a wrong size is an error unless `resize`
// (then area averaging when shrinking, bilinear when growing). NaN pixels
// are an error under NanPolicy::Reject (the message names the first image)
// and masked under NanPolicy::Mask. `flags` (may be null) receives one
// ImageFlag set per image. Returns a new contiguous tensor on raw's device.
// Throws Error(InvalidArgument).
at::Tensor prepare_images(const at::Tensor& raw, const MergerConfig& config, bool resize,
                          std::vector<int32_t>* flags);

}  // namespace gml::merger
