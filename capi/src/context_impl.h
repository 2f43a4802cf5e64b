// The definition behind the opaque gml_context handle, shared by the family
// entry points in capi/src.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <memory>

#include "core/common/progress.h"
#include "core/distributed/backend.h"
#include "galaxyml/galaxyml.h"

struct gml_context {
  c10::Device device{c10::kCPU};
  uint64_t seed = 0;
  at::Generator generator;  // seeded from `seed`, on `device`
  std::shared_ptr<gml::dist::Backend> backend;
  gml::RunControl control;
};

namespace gml::capi {
// Validates a context argument; throws Error(InvalidArgument) when NULL.
gml_context& require_context(gml_context* ctx, const char* what = "ctx");
const gml_context& require_context(const gml_context* ctx, const char* what = "ctx");
}  // namespace gml::capi
