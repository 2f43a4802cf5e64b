// Bulk samples to HDF5: float32 datasets that grow by row blocks, chunked
// and gzip-compressed, with units and provenance as attributes, written
// under a temporary name and renamed into place on commit.
//
// A dataset has shape [rows, d1, d2, ...]: rows grow with every append; the
// row shape (d1, d2, ...) is fixed, e.g. [n_samples, n_params] for
// posterior samples of each galaxy. h5py reads it as f[name][...].
//
// Debian's HDF5 is not thread-safe: every HDF5 call here holds
// gml::hdf5_mutex(). A writer itself is used by one thread at a time.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/hdf5_extendible.h"
#include "fits_io/atomic_output.h"

namespace gml::adapters {

class Hdf5SampleWriter {
 public:
  /// Starts a file for `path` (created as "<path>.tmp.<pid>.<n>" in the same
  /// directory). Throws gml::Error(Io) if it cannot be created.
  explicit Hdf5SampleWriter(const std::string& path);
  /// Closes and deletes the temporary file unless committed. Never throws.
  ~Hdf5SampleWriter();
  Hdf5SampleWriter(const Hdf5SampleWriter&) = delete;
  Hdf5SampleWriter& operator=(const Hdf5SampleWriter&) = delete;

  /// Creates dataset `name` (may contain '/' groups, created as needed) of
  /// rows with shape `row_shape` (empty: scalar rows). `chunk_rows` rows
  /// form one compressed chunk (0: about 1 MiB per chunk); `gzip_level`
  /// 0-9. `unit` becomes the "unit" attribute when non-empty. Returns the
  /// dataset's index for append(). Throws std::invalid_argument for an
  /// empty or duplicate name, a non-positive dimension or a bad level.
  int add_dataset(const std::string& name, const std::vector<int64_t>& row_shape,
                  const std::string& unit = "", int64_t chunk_rows = 0, int gzip_level = 4);

  /// Appends `n` rows: n * prod(row_shape) float32 values, C order.
  void append(int dataset, int64_t n, const float* data);
  /// Rows appended to a dataset so far.
  int64_t rows(int dataset) const;

  /// String attribute on the root ("" or "/") or on a dataset by name.
  void set_attribute(const std::string& object, const std::string& key, const std::string& value);

  /// Writes the provenance attributes on the root (gml_library_version,
  /// created in UTC ISO 8601, and the given input/command/model checksum
  /// when non-empty), flushes, closes and renames onto the target path.
  /// Throws gml::Error(Io) on failure; the target is then untouched.
  void commit(const std::string& input_file = "", const std::string& command_line = "",
              const std::string& model_checksum = "");

 private:
  void check_open() const;
  void close_all() noexcept;

  std::string path_;
  // Declared before the handles: they close before the temporary goes.
  fits::AtomicOutput output_;
  hid_t file_ = -1;
  std::vector<H5ExtendibleDataset> datasets_;
  bool committed_ = false;
};

}  // namespace gml::adapters
