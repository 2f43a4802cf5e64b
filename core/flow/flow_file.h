// Flow models in galaxyml model files (family "flow"): architecture config,
// parameters, normalisation, and the conditions range seen in training so
// that sampling far outside it can warn.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>

#include "core/common/family_file.h"
#include "core/flow/conditional_flow.h"

namespace gml::flow {

struct FlowFileExtras {
  at::Tensor condition_min, condition_max;  // (C) float64; undefined if unknown
  std::string provenance = "{}";            // JSON
  std::string training = "{}";              // JSON: options and losses
};

// Assembles the model file contents (without writing).
ModelFile flow_model_file(ConditionalFlow& flow, const FlowFileExtras& extras);
void save_flow(const std::string& path, ConditionalFlow& flow, const FlowFileExtras& extras);

struct LoadedFlow : LoadedFlowModel<ConditionalFlow, FlowFileExtras> {
  static constexpr const char* kFamily = "flow";
  const char* family() const override { return kFamily; }
};
// Throws the model-file errors (Io/Format/Family/Version/Checksum).
LoadedFlow load_flow(const std::string& path);
LoadedFlow flow_from_model_file(const ModelFile& file);
// The flow family's entry of the family table.
extern const ModelFamily kFlowFamily;

}  // namespace gml::flow
