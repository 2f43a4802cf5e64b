#include "capi/src/handles.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "core/common/error.h"
#include "core/common/runtime.h"

namespace gml::capi {
namespace {

const char* type_name(HandleKind kind) {
  switch (kind) {
    case HandleKind::Context: return "gml_context";
    case HandleKind::Model: return "gml_model";
    case HandleKind::Wcs: return "gml_wcs";
    case HandleKind::Catalog: return "gml_catalog";
    case HandleKind::TableWriter: return "gml_table_writer";
  }
  return "handle";
}

// Leaked on purpose: handles freed by a host's static destructors after
// this library's own statics are gone must still find the registry.
struct Registry {
  std::mutex mutex;
  std::unordered_map<const void*, HandleKind> live;
};
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

}  // namespace

void register_handle(const void* handle, HandleKind kind) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.live[handle] = kind;
}

bool retire_handle(const void* handle, HandleKind kind, const char* function) noexcept {
  if (handle == nullptr) return false;
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.live.find(handle);
    if (it != r.live.end() && it->second == kind) {
      r.live.erase(it);
      return true;
    }
  }
  try {
    log_warning(std::string(function) + ": not a live " + type_name(kind) +
                " (freed already, or never returned by galaxyml); ignored");
  } catch (...) {
  }
  return false;
}

void require_live_handle(const void* handle, HandleKind kind, const char* what) {
  require(handle != nullptr, std::string(what) + " must not be NULL");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.live.find(handle);
  if (it == r.live.end()) {
    fail(Status::InvalidArgument, std::string(what) + " is not a live " + type_name(kind) +
                                      ": it was freed, or was never returned by galaxyml");
  }
  if (it->second != kind) {
    fail(Status::InvalidArgument,
         std::string(what) + " is a " + type_name(it->second) + ", not a " + type_name(kind));
  }
}

}  // namespace gml::capi
