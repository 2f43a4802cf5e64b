// The model families of this library: one line each. A new family adds its
// entry here (and its header to galaxyml.h); nothing else in the C ABI needs
// to know it exists.
//
// The table is explicit rather than filled by static registrar objects: the
// families are static libraries, and a linker drops an object file that
// nothing refers to, registrar included.
#include <string>

#include "capi/src/model_impl.h"
#include "core/diffusion/diffusion_file.h"
#include "core/flow/flow_file.h"
#include "core/merger/merger_file.h"
#include "core/posterior/posterior_file.h"

namespace gml::capi {
namespace {

const ModelFamily* const kFamilies[] = {
    &flow::kFlowFamily,
    &posterior::kPosteriorFamily,
    &merger::kMergerFamily,
    &diffusion::kDiffusionFamily,
};

}  // namespace

const ModelFamily* find_model_family(const std::string& name) {
  for (const ModelFamily* f : kFamilies) {
    if (name == f->name) return f;
  }
  return nullptr;
}

const ModelFamily* find_folder_family(const std::string& path) {
  for (const ModelFamily* f : kFamilies) {
    if (f->is_folder && f->is_folder(path)) return f;
  }
  return nullptr;
}

std::string model_family_names() {
  std::string names;
  for (const ModelFamily* f : kFamilies)
    names += (names.empty() ? "" : ", ") + std::string(f->name);
  return names;
}

}  // namespace gml::capi
