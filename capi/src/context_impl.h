// The definition behind the opaque gml_context handle, shared by the family
// entry points in capi/src.
#pragma once

#include <c10/core/Device.h>

#include <memory>

#include "core/common/progress.h"
#include "core/distributed/backend.h"
#include "galaxyml/galaxyml.h"

struct gml_context {
  c10::Device device{c10::kCPU};
  uint64_t seed = 0;
  std::shared_ptr<gml::dist::Backend> backend;
  gml::RunControl control;
};

namespace gml::capi {
// The one seed rule of the ABI: a seed argument or option of 0 means the
// context's seed; any other value is used as given.
inline uint64_t seed_for(const gml_context& ctx, uint64_t seed) {
  return seed != 0 ? seed : ctx.seed;
}
// Validates a context argument; throws Error(InvalidArgument) when NULL.
gml_context& require_context(gml_context* ctx, const char* what = "ctx");
const gml_context& require_context(const gml_context* ctx, const char* what = "ctx");
// For the functions whose context is optional: NULL, or a live context
// (anything else, a freed context or another family's handle, is an
// argument error rather than memory read as a context).
gml_context* optional_context(gml_context* ctx, const char* what = "ctx");
}  // namespace gml::capi
