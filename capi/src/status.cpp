// Status names, last error, versions and memory release.
#include <ATen/Context.h>
#include <c10/macros/Macros.h>
#include <dlfcn.h>
#include <fitsio.h>
#include <hdf5.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>

#include "capi/src/firewall.h"
#include "core/common/error.h"
#include "core/common/version.h"
#include "galaxyml/galaxyml.h"

namespace gml::capi {
const char* last_error_text() noexcept;
void clear_last_error() noexcept;
}  // namespace gml::capi

// The C enum and the C++ enum are one list; a mismatch is a build error.
static_assert(GML_ERR_INVALID_ARGUMENT == static_cast<int>(gml::Status::InvalidArgument));
static_assert(GML_ERR_IO == static_cast<int>(gml::Status::Io));
static_assert(GML_ERR_FORMAT == static_cast<int>(gml::Status::Format));
static_assert(GML_ERR_FAMILY == static_cast<int>(gml::Status::Family));
static_assert(GML_ERR_VERSION == static_cast<int>(gml::Status::Version));
static_assert(GML_ERR_CHECKSUM == static_cast<int>(gml::Status::Checksum));
static_assert(GML_ERR_DEVICE == static_cast<int>(gml::Status::Device));
static_assert(GML_ERR_BACKEND == static_cast<int>(gml::Status::Backend));
static_assert(GML_ERR_CANCELLED == static_cast<int>(gml::Status::Cancelled));
static_assert(GML_ERR_CAPACITY == static_cast<int>(gml::Status::Capacity));
static_assert(GML_ERR_NOT_FOUND == static_cast<int>(gml::Status::NotFound));
static_assert(GML_ERR_OUT_OF_MEMORY == static_cast<int>(gml::Status::OutOfMemory));
static_assert(GML_ERR_FITS == static_cast<int>(gml::Status::Fits));
static_assert(GML_ERR_WCS == static_cast<int>(gml::Status::Wcs));
static_assert(GML_ERR_INTERNAL == static_cast<int>(gml::Status::Internal));
static_assert(GML_ERR_CALLBACK == static_cast<int>(gml::Status::Callback));

extern "C" {

GML_API const char* gml_status_name(gml_status status) {
  switch (status) {
    case GML_OK: return "GML_OK";
    case GML_ERR_INVALID_ARGUMENT: return "GML_ERR_INVALID_ARGUMENT";
    case GML_ERR_IO: return "GML_ERR_IO";
    case GML_ERR_FORMAT: return "GML_ERR_FORMAT";
    case GML_ERR_FAMILY: return "GML_ERR_FAMILY";
    case GML_ERR_VERSION: return "GML_ERR_VERSION";
    case GML_ERR_CHECKSUM: return "GML_ERR_CHECKSUM";
    case GML_ERR_DEVICE: return "GML_ERR_DEVICE";
    case GML_ERR_BACKEND: return "GML_ERR_BACKEND";
    case GML_ERR_CANCELLED: return "GML_ERR_CANCELLED";
    case GML_ERR_CAPACITY: return "GML_ERR_CAPACITY";
    case GML_ERR_NOT_FOUND: return "GML_ERR_NOT_FOUND";
    case GML_ERR_OUT_OF_MEMORY: return "GML_ERR_OUT_OF_MEMORY";
    case GML_ERR_FITS: return "GML_ERR_FITS";
    case GML_ERR_WCS: return "GML_ERR_WCS";
    case GML_ERR_INTERNAL: return "GML_ERR_INTERNAL";
    case GML_ERR_CALLBACK: return "GML_ERR_CALLBACK";
    default: return "GML_ERR_UNKNOWN";
  }
}

GML_API const char* gml_last_error(void) {
  return gml::capi::last_error_text();
}

GML_API void gml_clear_error(void) {
  gml::capi::clear_last_error();
}

GML_API int32_t gml_abi_version(void) {
  return GML_ABI_VERSION;
}

GML_API const char* gml_version_string(void) {
  return gml::library_version();
}

GML_API const char* gml_build_info(void) {
  // Built once; a function-local static is thread-safe to initialise.
  static const std::string info = [] {
    std::string s = std::string("galaxyml ") + gml::library_version() +
                    "; LibTorch " TORCH_VERSION "; CUDA build: ";
    // Whether LibTorch's CUDA half is loaded (a build property), then
    // whether a GPU is usable now (a machine property).
    const bool cuda_linked = dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_NOLOAD) != nullptr;
    s += cuda_linked ? "yes" : "no";
    s += "; GPUs usable: " + std::to_string(at::hasCUDA() ? at::getNumGPUs() : 0);
    s += "; HDF5 " + std::to_string(H5_VERS_MAJOR) + "." + std::to_string(H5_VERS_MINOR) + "." +
         std::to_string(H5_VERS_RELEASE);
    float cfitsio = 0;
    ffvers(&cfitsio);
    s += "; CFITSIO " + std::to_string(cfitsio).substr(0, 5);
    s += "; WCSLIB " GML_WCSLIB_VERSION_TEXT;
    return s;
  }();
  return info.c_str();
}

GML_API void gml_free(void* ptr) {
  std::free(ptr);
}

}  // extern "C"
