// Loading models of any family through one handle type.
#include <sys/stat.h>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/handles.h"
#include "capi/src/model_impl.h"
#include "core/common/device.h"
#include "core/common/error.h"
#include "core/common/model_file.h"

namespace gml::capi {

const gml_model& require_model(const gml_model* model, const char* family) {
  require_live_handle(model, HandleKind::Model, "model");
  if (std::string(model->family()) != family) {
    fail(Status::Family, "this call needs a '" + std::string(family) + "' model, but '" +
                             model->path + "' is a '" + model->family() + "' model");
  }
  return *model;
}

const gml_model& require_model(const gml_context& ctx, const gml_model* model, const char* family) {
  const gml_model& m = require_model(model, family);
  if (m.device != ctx.device) {
    fail(Status::Device, "'" + m.path + "' was loaded on " + device_name(m.device) +
                             " and this context runs on " + device_name(ctx.device) +
                             ": a model runs on the device it was loaded on; load it through a "
                             "context on " +
                             device_name(ctx.device) + " to run it there");
  }
  return m;
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
    auto model = std::make_unique<gml_model>();
    model->path = path;
    model->device = c.device;
    if (const gml::ModelFamily* folder_family = gml::capi::find_folder_family(path)) {
      if (expected_family && std::string(expected_family) != folder_family->name) {
        gml::fail(gml::Status::Family, "'" + std::string(path) + "' holds a '" +
                                           folder_family->name + "' model, not a '" +
                                           expected_family + "' model");
      }
      model->loaded = folder_family->load_folder(path);
      model->folder_family = folder_family;
    } else {
      struct stat st {};
      if (::stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        gml::fail(gml::Status::Io, "'" + std::string(path) +
                                       "' is a folder, but not a model folder galaxyml reads "
                                       "(a diffusers pipeline folder holds model_index.json)");
      }
      gml::ModelFile file =
          gml::read_model_file(path, expected_family ? expected_family : std::string_view{});
      const gml::ModelFamily* family = gml::capi::find_model_family(file.family);
      if (!family) {
        gml::fail(gml::Status::Family, "'" + std::string(path) + "' holds a '" + file.family +
                                           "' model, which this version of galaxyml cannot run "
                                           "(it runs " +
                                           gml::capi::model_family_names() + ")");
      }
      model->file_checksum = file.checksum;
      model->loaded = family->load(file);
    }
    model->loaded->to_device(c.device);
    *out = gml::capi::publish(std::move(model), gml::capi::HandleKind::Model);
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
    family = model->family();
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_model_family", family, buf, capacity, length);
}

}  // extern "C"
