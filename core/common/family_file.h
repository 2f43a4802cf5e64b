// What the families' model files hold beyond the format of model_file.h:
// the network and its config, the training record as text, the range of
// the conditioning input seen in training, and the loaded model of a flow
// family (flow, posterior).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <string>

#include "core/common/error.h"
#include "core/common/loaded_model.h"
#include "core/common/model_file.h"

namespace gml {

// A model file of `family` holding `network`'s parameters and buffers.
ModelFile network_model_file(const char* family, const torch::nn::Module& network,
                             const std::string& config, const std::string& provenance);

// The family's config of `file`; a file of another family is
// Error(InvalidArgument), a config that does not parse or validate a damaged
// file, Error(Format).
template <typename Config>
Config config_of(const ModelFile& file, const char* family) {
  if (file.family != family)
    fail(Status::InvalidArgument, "not a " + std::string(family) + " model file");
  try {
    return Config::from_json_text(file.config);
  } catch (const Error& e) {
    fail(Status::Format, file.family + " model file has an invalid config: " + e.what());
  }
}

// Text (JSON) stored as a uint8 array, as h5py reads it back.
at::Tensor text_tensor(const std::string& text);
std::string tensor_text(const at::Tensor& bytes);

// The range of a flow's conditioning input seen in training, kept so that
// sampling far outside it can warn: `min` and `max` as float64 CPU arrays
// under normalization/<min_key>, <max_key>. Nothing is stored when `min` is
// undefined (unknown range).
void store_training_range(ModelFile& file, const char* min_key, const char* max_key,
                          const at::Tensor& min, const at::Tensor& max);
// Takes the training range out of file.normalization into `min` and `max`
// (left undefined when absent) and returns the rest, the network's own
// normalisation.
TensorMap take_training_range(const ModelFile& file, const char* min_key, const char* max_key,
                              at::Tensor& min, at::Tensor& max);

// A loaded flow of a family whose files carry `Extras` (at least the
// training record and provenance as JSON text) next to the network.
template <typename Flow, typename Extras>
struct LoadedFlowModel : LoadedModel {
  Flow flow{nullptr};
  Extras extras;
  std::string checksum;

  void to_device(const c10::Device& device) override { flow->to(device); }
};

// Where a flow family's file keeps the range of its conditioning input.
struct TrainingRangeKeys {
  const char* min;
  const char* max;
};

// The model file of a flow family: network, config, its normalisation, the
// training range (`min` undefined: unknown), the training record and
// provenance. The family adds its own extras to the result.
template <typename Flow>
ModelFile flow_family_file(const char* family, Flow& flow, TrainingRangeKeys keys,
                           const at::Tensor& min, const at::Tensor& max,
                           const std::string& training, const std::string& provenance) {
  ModelFile file = network_model_file(family, *flow, flow->config().to_json_text(), provenance);
  // CPU copies, like the parameters: the flow may stay on its device.
  for (const auto& [name, t] : flow->normalization_tensors())
    file.normalization[name] = t.to(at::kCPU);
  store_training_range(file, keys.min, keys.max, min, max);
  file.extra["training"] = text_tensor(training);
  return file;
}

// Restores into `out`, whose flow already holds the file's parameters, what
// flow_family_file() stored besides them (the training range into `min` and
// `max`), and the checksum; leaves the flow in eval mode.
template <typename Flow, typename Extras>
void restore_flow_family_file(const ModelFile& file, TrainingRangeKeys keys,
                              LoadedFlowModel<Flow, Extras>& out, at::Tensor& min,
                              at::Tensor& max) {
  const TensorMap norm = take_training_range(file, keys.min, keys.max, min, max);
  try {
    out.flow->set_normalization_tensors(norm);
  } catch (const Error& e) {
    fail(Status::Format, file.family + " model file normalisation: " + e.what());
  }
  if (auto it = file.extra.find("training"); it != file.extra.end())
    out.extras.training = tensor_text(it->second);
  out.extras.provenance = file.provenance;
  out.checksum = file.checksum;
  out.flow->eval();
}

}  // namespace gml
