// The definition behind the opaque gml_model handle: one loaded model of any
// family, on the device of the context that loaded it.
#pragma once

#include <c10/core/Device.h>

#include <memory>
#include <string>

#include "galaxyml/galaxyml.h"

namespace gml::flow {
struct LoadedFlow;
}
namespace gml::posterior {
struct LoadedPosterior;
}
namespace gml::merger {
struct LoadedMerger;
}

struct gml_model {
  std::string family;
  std::string path;
  std::string checksum;
  c10::Device device{c10::kCPU};
  std::shared_ptr<gml::flow::LoadedFlow> flow;                 // family "flow"
  std::shared_ptr<gml::posterior::LoadedPosterior> posterior;  // family "posterior"
  std::shared_ptr<gml::merger::LoadedMerger> merger;           // family "merger"
};

namespace gml::capi {
// Validates the handle and its family; throws Error(InvalidArgument) for NULL
// and Error(Family) for a model of another family.
const gml_model& require_model(const gml_model* model, const char* family);
}  // namespace gml::capi
