// The definition behind the opaque gml_model handle: one loaded model of any
// family, on the device of the context that loaded it.
#pragma once

#include <c10/core/Device.h>

#include <memory>
#include <mutex>
#include <string>

#include "core/common/error.h"
#include "core/common/loaded_model.h"
#include "galaxyml/galaxyml.h"

struct gml_context;

struct gml_model {
  std::string path;
  c10::Device device{c10::kCPU};
  std::unique_ptr<gml::LoadedModel> loaded;
  // A model file's checksum is read with it; a folder's is computed on the
  // first call of checksum(), as it reads every weight (5 s for SD-1.5's
  // 4.3 GB) and most runs of a loaded pipeline never ask for it.
  std::string file_checksum;
  const gml::ModelFamily* folder_family = nullptr;

  const char* family() const { return loaded->family(); }
  // Thread-safe.
  const std::string& checksum() const {
    std::call_once(checksum_once_, [this] {
      if (folder_family) folder_checksum_ = folder_family->folder_checksum(*loaded);
    });
    return folder_family ? folder_checksum_ : file_checksum;
  }

 private:
  mutable std::once_flag checksum_once_;
  mutable std::string folder_checksum_;
};

namespace gml::capi {

// The families this library runs (capi/src/model_families.cpp); nullptr for
// a family it does not know.
const ModelFamily* find_model_family(const std::string& name);
// The family that reads `path` as a folder of its own layout (a diffusers
// pipeline); nullptr when none does.
const ModelFamily* find_folder_family(const std::string& path);
// "flow, posterior, merger": for messages.
std::string model_family_names();

// Validates the handle and its family; throws Error(InvalidArgument) for NULL
// and Error(Family) for a model of another family.
const gml_model& require_model(const gml_model* model, const char* family);
// As above, for a call that runs the model through a context: a model runs on
// the device it was loaded on, and a context on another device is refused
// with Error(Device) rather than moving either silently.
const gml_model& require_model(const gml_context& ctx, const gml_model* model, const char* family);

// The family's loaded model of a handle that require_model() accepted for
// Loaded::kFamily. Not const: LibTorch modules run through non-const
// methods, though inference changes no state.
template <class Loaded>
Loaded& loaded_as(const gml_model& m) {
  auto* loaded = dynamic_cast<Loaded*>(m.loaded.get());
  if (!loaded) {
    fail(Status::Internal, std::string("model '") + m.path + "' is not a " + Loaded::kFamily +
                               " model after its family was checked");
  }
  return *loaded;
}

}  // namespace gml::capi
