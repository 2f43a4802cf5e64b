// The set of live handles. Every handle the C ABI hands out is registered
// here and every entry point checks its handle arguments against it, so a
// freed handle, a double free or a handle of another type becomes
// GML_ERR_INVALID_ARGUMENT (or, in *_free, a logged no-op) instead of a
// crash or a deadlock inside freed memory. The check never dereferences the
// pointer. It cannot tell a stale handle from a new one that reuses its
// address; the header calls that undefined behaviour.
#pragma once

#include <memory>

namespace gml::capi {

enum class HandleKind { Context, Model, Wcs, Catalog, TableWriter };

void register_handle(const void* handle, HandleKind kind);

// Removes a live handle and returns true; returns false (after logging a
// warning for a non-NULL pointer) when `handle` is not a live handle of
// `kind`, in which case the caller must not delete it.
bool retire_handle(const void* handle, HandleKind kind, const char* function) noexcept;

// Throws an argument error naming `what` unless `handle` is a live handle
// of `kind`.
void require_live_handle(const void* handle, HandleKind kind, const char* what);

// Registers the object and hands its ownership to the caller.
template <class T>
T* publish(std::unique_ptr<T> object, HandleKind kind) {
  register_handle(object.get(), kind);
  return object.release();
}

}  // namespace gml::capi
