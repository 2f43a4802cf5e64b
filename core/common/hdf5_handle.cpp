#include "core/common/hdf5_handle.h"

#include <algorithm>
#include <cstring>

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

}  // namespace gml
