// Loading models of any family through one handle type.
#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/handles.h"
#include "capi/src/model_impl.h"
#include "core/common/error.h"
#include "core/common/model_file.h"
#ifdef GML_HAVE_GML_FLOW
#include "core/flow/flow_file.h"
#endif
#ifdef GML_HAVE_GML_POSTERIOR
#include "core/posterior/posterior_file.h"
#endif
#ifdef GML_HAVE_GML_MERGER
#include "core/merger/backbone.h"
#include "core/merger/merger_file.h"
#endif

namespace gml::capi {

const gml_model& require_model(const gml_model* model, const char* family) {
  require_live_handle(model, HandleKind::Model, "model");
  if (model->family != family) {
    fail(Status::Family, "this call needs a '" + std::string(family) + "' model, but '" +
                             model->path + "' is a '" + model->family + "' model");
  }
  return *model;
}

}  // namespace gml::capi

using gml::capi::guard;

extern "C" {

GML_API gml_status gml_model_load(gml_context* ctx, const char* path, const char* expected_family,
                                  gml_model** out) {
  return guard("gml_model_load", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    gml::require(path != nullptr, "path must not be NULL");
    gml::require(out != nullptr, "out must not be NULL");
    gml::ModelFile file =
        gml::read_model_file(path, expected_family ? expected_family : std::string_view{});
    auto model = std::make_unique<gml_model>();
    model->family = file.family;
    model->path = path;
    model->checksum = file.checksum;
    model->device = c.device;
#ifdef GML_HAVE_GML_FLOW
    if (file.family == "flow") {
      model->flow = std::make_shared<gml::flow::LoadedFlow>(gml::flow::flow_from_model_file(file));
      model->flow->flow->to(c.device);
      *out = gml::capi::publish(std::move(model), gml::capi::HandleKind::Model);
      return;
    }
#endif
#ifdef GML_HAVE_GML_POSTERIOR
    if (file.family == "posterior") {
      model->posterior = std::make_shared<gml::posterior::LoadedPosterior>(
          gml::posterior::posterior_from_model_file(file));
      model->posterior->flow->to(c.device);
      *out = gml::capi::publish(std::move(model), gml::capi::HandleKind::Model);
      return;
    }
#endif
#ifdef GML_HAVE_GML_MERGER
    if (file.family == "merger") {
      model->merger =
          std::make_shared<gml::merger::LoadedMerger>(gml::merger::merger_from_model_file(file));
      model->merger->net->to(c.device);
      model->merger->net->backbone().prepare_for_inference();
      *out = gml::capi::publish(std::move(model), gml::capi::HandleKind::Model);
      return;
    }
#endif
    gml::fail(gml::Status::Family, "'" + std::string(path) + "' holds a '" + file.family +
                                       "' model, which this build of galaxyml cannot run");
  });
}

GML_API void gml_model_free(gml_model* model) {
  if (gml::capi::retire_handle(model, gml::capi::HandleKind::Model, "gml_model_free")) delete model;
}

GML_API gml_status gml_model_family(const gml_model* model, char* buf, size_t capacity,
                                    size_t* length) {
  std::string family;
  const gml_status s = guard("gml_model_family", [&] {
    gml::capi::require_live_handle(model, gml::capi::HandleKind::Model, "model");
    family = model->family;
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_model_family", family, buf, capacity, length);
}

}  // extern "C"
