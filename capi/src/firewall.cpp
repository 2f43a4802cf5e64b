#include "capi/src/firewall.h"

#include <c10/util/Exception.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include "core/common/error.h"
#if __has_include("fits_io/errors.h")
#include "fits_io/errors.h"
#define GML_CAPI_HAS_FITS_ERRORS 1
#endif

namespace gml::capi {

namespace {
thread_local std::string t_last_error;
}  // namespace

const char* last_error_text() noexcept {
  return t_last_error.c_str();
}
void clear_last_error() noexcept {
  t_last_error.clear();
}

void set_last_error(const char* function, const char* message) noexcept {
  try {
    t_last_error.assign(function);
    t_last_error.append(": ");
    t_last_error.append(message);
  } catch (...) {
    // Out of memory while reporting: keep whatever fits, never throw.
    t_last_error.clear();
  }
}

gml_status translate_current_exception(const char* function) noexcept {
  try {
    throw;
  } catch (const gml::Error& e) {
    set_last_error(function, e.what());
    return static_cast<gml_status>(e.status());
#ifdef GML_CAPI_HAS_FITS_ERRORS
  } catch (const gml::fits::FitsError& e) {
    set_last_error(function, e.what());
    return GML_ERR_FITS;
  } catch (const gml::fits::WcsError& e) {
    set_last_error(function, e.what());
    return GML_ERR_WCS;
#endif
  } catch (const c10::OutOfMemoryError& e) {
    set_last_error(function, e.what_without_backtrace());
    return GML_ERR_OUT_OF_MEMORY;
  } catch (const c10::ValueError& e) {
    set_last_error(function, e.what_without_backtrace());
    return GML_ERR_INVALID_ARGUMENT;
  } catch (const c10::IndexError& e) {
    set_last_error(function, e.what_without_backtrace());
    return GML_ERR_INVALID_ARGUMENT;
  } catch (const c10::Error& e) {
    // LibTorch's own backtrace is for LibTorch developers, not for hosts.
    set_last_error(function, e.what_without_backtrace());
    return GML_ERR_INTERNAL;
  } catch (const std::bad_alloc&) {
    set_last_error(function, "out of memory");
    return GML_ERR_OUT_OF_MEMORY;
  } catch (const std::invalid_argument& e) {
    set_last_error(function, e.what());
    return GML_ERR_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    set_last_error(function, e.what());
    return GML_ERR_INTERNAL;
  } catch (...) {
    set_last_error(function, "unknown exception");
    return GML_ERR_INTERNAL;
  }
}

gml_status invalid_argument(const char* function, const char* message) noexcept {
  set_last_error(function, message);
  return GML_ERR_INVALID_ARGUMENT;
}

gml_status copy_string_out(const char* function, const std::string& text, char* buf,
                           size_t capacity, size_t* length) noexcept {
  if (!length) return invalid_argument(function, "length must not be NULL");
  if (!buf && capacity > 0) return invalid_argument(function, "buf is NULL but capacity > 0");
  const size_t needed = text.size() + 1;
  *length = needed;
  if (!buf) return GML_OK;  // size query
  if (capacity < needed) {
    set_last_error(function, ("buffer of " + std::to_string(capacity) + " bytes is too small; " +
                              std::to_string(needed) + " needed")
                                 .c_str());
    return GML_ERR_CAPACITY;
  }
  std::memcpy(buf, text.c_str(), needed);
  return GML_OK;
}

int64_t checked_elements(std::initializer_list<int64_t> dims, size_t element_size,
                         const char* what) {
  const int64_t limit = PTRDIFF_MAX / static_cast<int64_t>(element_size);
  int64_t n = 1;
  std::string shape;
  for (int64_t d : dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
  for (int64_t d : dims) {
    if (d < 0)
      gml::fail(gml::Status::InvalidArgument, std::string(what) + ": negative size in " + shape);
    if (d != 0 && n > limit / d) {
      gml::fail(gml::Status::InvalidArgument, std::string(what) + ": " + shape + " elements of " +
                                                  std::to_string(element_size) +
                                                  " bytes exceed the address space");
    }
    n *= d;
  }
  return n;
}

}  // namespace gml::capi
