// The exception firewall: every extern "C" entry point runs its body through
// guard(), so no exception crosses the ABI. Each exception type becomes the
// status that tells the caller what to do about it, and its text becomes the
// calling thread's gml_last_error().
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/common/runtime.h"
#include "core/common/threads.h"
#include "galaxyml/galaxyml.h"

namespace gml::capi {

void set_last_error(const char* function, const char* message) noexcept;

// Maps the exception in flight to a status and records its message.
// Must be called from inside a catch block.
gml_status translate_current_exception(const char* function) noexcept;

template <class Body>
gml_status guard(const char* function, Body&& body) noexcept {
  try {
    // The library's thread count for the call, whatever the host set on
    // this thread (0 before gml_init: the call applies it).
    const CallThreads threads(runtime_threads(), CallThreads::Mode::Exactly);
    body();
    return GML_OK;
  } catch (...) {
    return translate_current_exception(function);
  }
}

// Records an argument error and returns GML_ERR_INVALID_ARGUMENT.
gml_status invalid_argument(const char* function, const char* message) noexcept;

// The number of elements of a caller's array of shape `dims`, each
// `element_size` bytes. Throws an argument error (never a LibTorch "numel
// overflow", which would surface as GML_ERR_INTERNAL) when a dimension is
// negative or the array's bytes would not fit in ptrdiff_t; `what` names the
// array in the message.
int64_t checked_elements(std::initializer_list<int64_t> dims, size_t element_size,
                         const char* what);

// "Strings out" convention of galaxyml.h.
gml_status copy_string_out(const char* function, const std::string& text, char* buf,
                           size_t capacity, size_t* length) noexcept;

}  // namespace gml::capi
