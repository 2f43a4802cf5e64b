// RAII for HDF5 C-API identifiers, and the process-wide lock around HDF5.
// Debian's HDF5 is not built thread-safe, so every HDF5 call in galaxyml
// happens under hdf5_mutex(). HDF5's own error-stack printing is switched off
// while galaxyml works: failures become gml::Error messages instead.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <optional>
#include <string>

#include "core/common/error.h"

namespace gml {

std::recursive_mutex& hdf5_mutex();

class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle(hid_t id, Closer closer, const std::string& what, Status on_fail = Status::Io)
      : id_(id), closer_(closer) {
    if (id_ < 0) fail(on_fail, "HDF5: cannot open " + what);
  }
  ~H5Handle() {
    if (id_ >= 0) closer_(id_);
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  Closer closer_;
};

// Silences HDF5's automatic error printing for its lifetime.
class H5ErrorSilencer {
 public:
  H5ErrorSilencer() {
    H5Eget_auto2(H5E_DEFAULT, &old_fn_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, old_fn_, old_data_); }
  H5ErrorSilencer(const H5ErrorSilencer&) = delete;
  H5ErrorSilencer& operator=(const H5ErrorSilencer&) = delete;

 private:
  H5E_auto2_t old_fn_ = nullptr;
  void* old_data_ = nullptr;
};

// UTF-8 string attributes, the way every galaxyml HDF5 file stores text
// (callers hold hdf5_mutex()). Writing replaces an existing attribute and
// throws Error(Io) on failure. Reading accepts fixed-length and h5py's
// variable-length strings and returns nullopt when the attribute is missing
// or not a string; throws Error(Format) when it exists but cannot be read.
void h5_write_string_attribute(hid_t loc, const std::string& name, const std::string& value);
std::optional<std::string> h5_read_string_attribute(hid_t loc, const std::string& name);

// Throws Error(Format) unless the open attribute holds exactly one element
// (a scalar or a one-element simple dataspace). H5Aread copies every element
// of the dataspace, so a reader sized for one value must check this first:
// an array attribute in a hand-made file would otherwise overflow it.
void h5_require_single_value(hid_t attr, const std::string& name);

// Throws Error(Format) naming `where` unless the open dataset's declared
// elements fit in memory and the file stores them: HDF5 gives a dataset no
// storage until it is written, so a small file can declare terabytes. A
// filtered (compressed) dataset may store up to 1024 times less. Call it
// before allocating a buffer of the declared size.
void h5_require_dataset_stored(hid_t dataset, const std::string& where);

// A scalar integer attribute; Error(Format) naming `what` when it is missing,
// not an integer, or not a single value.
int64_t h5_read_int_attribute(hid_t loc, const char* name, const std::string& what);

}  // namespace gml
