// Batched inference of a merger model: class probabilities, predicted time
// and search latent for any number of raw images, under InferenceMode, in
// batches that bound memory, with progress and cancellation.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

#include "core/merger/merger_net.h"

namespace gml {
class RunControl;
}

namespace gml::merger {

struct MergerPredictions {
  at::Tensor probs;            // (N, n_classes) float32, CPU; undefined unless asked
  at::Tensor classes;          // (N) int64
  at::Tensor time_myr;         // (N) float32
  at::Tensor latent;           // (N, latent_dim) float32; undefined unless asked
  std::vector<int32_t> flags;  // ImageFlag bits per image
};

struct PredictRequest {
  bool classes = true;  // probs, classes, time
  bool latent = true;
  bool resize = false;  // resample images of another size (flagged)
  int64_t batch_size = 64;
};

// raw: (N, C, H, W) float32 on the CPU (borrowed). The network runs on its
// own device. Throws what prepare_images() throws (shape, bands, NaN
// policy), Error(InvalidArgument) when a latent is asked of a model without
// VAE, Error(Cancelled).
MergerPredictions predict_merger(MergerNet& net, const at::Tensor& raw,
                                 const PredictRequest& request, RunControl* control,
                                 const char* stage = "classify");

}  // namespace gml::merger
