// A chunked HDF5 dataset that grows by rows: shape [rows, row_shape...],
// unlimited along the rows, fixed row shape. The sample writer, the star
// table writer and the training set all append blocks of rows this way, so
// a run that stops early still leaves a readable file of the rows so far.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gml {

// How the rows are stored. The chunk spans whole rows: a reader of a few
// rows inflates only their chunks.
struct H5RowLayout {
  hid_t file_type = -1;            // stored type, e.g. H5T_IEEE_F64LE
  std::vector<hsize_t> row_shape;  // empty: one value per row
  hsize_t chunk_rows = 4096;
  unsigned deflate_level = 4;  // 0: stored uncompressed
  bool shuffle = false;        // byte shuffle before deflate (better for floats)
  bool create_groups = false;  // create the groups of a name like "a/b/c"
};

// Owns the dataset identifier; takes hdf5_mutex() itself (it is recursive,
// so callers may hold it too). Movable, not copyable.
class H5ExtendibleDataset {
 public:
  H5ExtendibleDataset() = default;
  // Creates `name` under `loc` with no rows. `where` names the file in
  // errors. Throws Error(Io).
  static H5ExtendibleDataset create(hid_t loc, const std::string& name, const H5RowLayout& layout,
                                    const std::string& where);
  // Opens an existing extendible dataset to append after its first `rows`
  // rows (rows past them, e.g. of an interrupted append, are overwritten).
  // Throws Error(Format) when it is missing or has no rows dimension.
  static H5ExtendibleDataset open(hid_t loc, const std::string& name, int64_t rows,
                                  const std::string& where);
  H5ExtendibleDataset(H5ExtendibleDataset&& other) noexcept;
  H5ExtendibleDataset& operator=(H5ExtendibleDataset&& other) noexcept;
  H5ExtendibleDataset(const H5ExtendibleDataset&) = delete;
  H5ExtendibleDataset& operator=(const H5ExtendibleDataset&) = delete;
  ~H5ExtendibleDataset() { close(); }

  // Grows the dataset by `n` rows and writes them: n * prod(row_shape)
  // values of `memory_type`, C order. Throws Error(Io) (disk full, ...).
  void append(const void* data, hid_t memory_type, int64_t n);
  // Never throws; safe to call twice.
  void close() noexcept;

  hid_t id() const noexcept { return id_; }
  int64_t rows() const noexcept { return rows_; }
  const std::string& name() const noexcept { return name_; }

 private:
  hid_t id_ = -1;
  std::vector<hsize_t> row_shape_;
  int64_t rows_ = 0;
  std::string name_, where_;
};

}  // namespace gml
