#include "core/common/hdf5_handle.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace gml {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

void h5_write_string_attribute(hid_t loc, const std::string& name, const std::string& value) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "attribute space");
  if (H5Aexists(loc, name.c_str()) > 0) H5Adelete(loc, name.c_str());
  H5Handle attr(H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose, "attribute " + name);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  if (H5Awrite(attr.get(), type.get(), padded.data()) < 0) {
    fail(Status::Io, "HDF5: cannot write attribute " + name);
  }
}

std::optional<std::string> h5_read_string_attribute(hid_t loc, const std::string& name) {
  if (H5Aexists(loc, name.c_str()) <= 0) return std::nullopt;
  H5Handle attr(H5Aopen(loc, name.c_str(), H5P_DEFAULT), H5Aclose, "attribute " + name,
                Status::Format);
  H5Handle type(H5Aget_type(attr.get()), H5Tclose, "attribute type", Status::Format);
  if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
  h5_require_single_value(attr.get(), name);
  if (H5Tis_variable_str(type.get()) > 0) {
    // h5py writes str attributes as variable-length strings.
    H5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* value = nullptr;
    if (H5Aread(attr.get(), mem.get(), &value) < 0 || value == nullptr) {
      fail(Status::Format, "HDF5: cannot read attribute " + name);
    }
    std::string out(value);
    H5free_memory(value);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) {
    fail(Status::Format, "HDF5: cannot read attribute " + name);
  }
  out.resize(std::strlen(out.c_str()));
  return out;
}

void h5_require_single_value(hid_t attr, const std::string& name) {
  H5Handle space(H5Aget_space(attr), H5Sclose, "dataspace of attribute " + name, Status::Format);
  const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if ((cls != H5S_SCALAR && cls != H5S_SIMPLE) || n != 1) {
    fail(Status::Format, "HDF5: attribute " + name + " must hold one value, not " +
                             (cls == H5S_NULL ? std::string("none") : std::to_string(n)));
  }
}

void h5_require_dataset_stored(hid_t dataset, const std::string& where) {
  H5Handle space(H5Dget_space(dataset), H5Sclose, "dataspace of " + where, Status::Format);
  const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
  if (cls != H5S_SCALAR && cls != H5S_SIMPLE) fail(Status::Format, where + " has no dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > H5S_MAX_RANK) fail(Status::Format, where + ": bad rank");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  H5Handle type(H5Dget_type(dataset), H5Tclose, "type of " + where, Status::Format);
  // At least 8 bytes per element in memory: the readers widen to 64 bits.
  // The span counts a zero extent as one: a tensor's strides multiply every
  // other extent even when one of them is zero, so {0, 2^62, 2^62} holds no
  // element and still overflows the stride arithmetic.
  uint64_t span = std::max<uint64_t>(H5Tget_size(type.get()), 8);
  uint64_t stored_bytes = H5Tget_size(type.get());
  for (hsize_t d : dims) {
    const uint64_t extent = std::max<uint64_t>(d, 1);
    if (span > static_cast<uint64_t>(PTRDIFF_MAX) / extent) {
      fail(Status::Format, where + " declares an impossible size");
    }
    span *= extent;
    stored_bytes *= d;
  }
  if (stored_bytes == 0) return;
  const uint64_t stored = H5Dget_storage_size(dataset);
  H5Handle dcpl(H5Dget_create_plist(dataset), H5Pclose, "layout of " + where, Status::Format);
  const bool filtered = H5Pget_nfilters(dcpl.get()) > 0;
  const uint64_t limit =
      filtered ? (stored > UINT64_MAX / 1024 ? UINT64_MAX : stored * 1024) : stored;
  if (stored_bytes > limit) {
    fail(Status::Format, where + " declares " + std::to_string(stored_bytes) +
                             " bytes but the file stores " + std::to_string(stored) +
                             " (file damaged?)");
  }
}

int64_t h5_read_int_attribute(hid_t loc, const char* name, const std::string& what) {
  if (H5Aexists(loc, name) <= 0) {
    fail(Status::Format, what + ": required attribute '" + name + "' is missing");
  }
  H5Handle attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose, std::string("attribute ") + name,
                Status::Format);
  H5Handle type(H5Aget_type(attr.get()), H5Tclose, "attribute type", Status::Format);
  if (H5Tget_class(type.get()) != H5T_INTEGER) {
    fail(Status::Format, what + ": attribute '" + name + "' is not an integer");
  }
  h5_require_single_value(attr.get(), name);
  int64_t v = 0;
  // HDF5 converts wider or unsigned stored integers with clipping, never
  // past the 8 bytes of `v`.
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) {
    fail(Status::Format, what + ": cannot read attribute '" + name + "'");
  }
  return v;
}

}  // namespace gml
