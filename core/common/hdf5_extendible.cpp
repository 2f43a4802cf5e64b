#include "core/common/hdf5_extendible.h"

#include <utility>

#include "core/common/error.h"
#include "core/common/hdf5_handle.h"

namespace gml {

using Lock = std::lock_guard<std::recursive_mutex>;

H5ExtendibleDataset H5ExtendibleDataset::create(hid_t loc, const std::string& name,
                                                const H5RowLayout& layout,
                                                const std::string& where) {
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{layout.chunk_rows};
  for (hsize_t s : layout.row_shape) {
    dims.push_back(s);
    maxdims.push_back(s);
    chunk.push_back(s);
  }
  Lock lock(hdf5_mutex());
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                 H5Sclose, "dataspace of " + name);
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties");
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  if (layout.deflate_level > 0) {
    if (layout.shuffle) H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), layout.deflate_level);
  }
  H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "link properties");
  if (layout.create_groups) H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5ExtendibleDataset d;
  d.id_ = H5Dcreate2(loc, name.c_str(), layout.file_type, space.get(), lcpl.get(), dcpl.get(),
                     H5P_DEFAULT);
  if (d.id_ < 0) fail(Status::Io, "HDF5: cannot create dataset '" + name + "' in " + where);
  d.row_shape_ = layout.row_shape;
  d.name_ = name;
  d.where_ = where;
  return d;
}

H5ExtendibleDataset H5ExtendibleDataset::open(hid_t loc, const std::string& name, int64_t rows,
                                              const std::string& where) {
  Lock lock(hdf5_mutex());
  H5ExtendibleDataset d;
  d.id_ = H5Dopen2(loc, name.c_str(), H5P_DEFAULT);
  if (d.id_ < 0) fail(Status::Format, where + ": missing /" + name);
  H5Handle space(H5Dget_space(d.id_), H5Sclose, "dataspace of " + name, Status::Format);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1 || rank > H5S_MAX_RANK) fail(Status::Format, where + ":/" + name + ": bad rank");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  d.row_shape_.assign(dims.begin() + 1, dims.end());
  d.rows_ = rows;
  d.name_ = name;
  d.where_ = where;
  return d;
}

H5ExtendibleDataset::H5ExtendibleDataset(H5ExtendibleDataset&& other) noexcept
    : id_(std::exchange(other.id_, -1)),
      row_shape_(std::move(other.row_shape_)),
      rows_(other.rows_),
      name_(std::move(other.name_)),
      where_(std::move(other.where_)) {}

H5ExtendibleDataset& H5ExtendibleDataset::operator=(H5ExtendibleDataset&& other) noexcept {
  if (this != &other) {
    close();
    id_ = std::exchange(other.id_, -1);
    row_shape_ = std::move(other.row_shape_);
    rows_ = other.rows_;
    name_ = std::move(other.name_);
    where_ = std::move(other.where_);
  }
  return *this;
}

void H5ExtendibleDataset::close() noexcept {
  if (id_ < 0) return;
  Lock lock(hdf5_mutex());
  H5Dclose(id_);
  id_ = -1;
}

void H5ExtendibleDataset::append(const void* data, hid_t memory_type, int64_t n) {
  if (n <= 0) return;
  if (id_ < 0) fail(Status::Io, "HDF5: dataset '" + name_ + "' in " + where_ + " is closed");
  std::vector<hsize_t> size{static_cast<hsize_t>(rows_ + n)}, start{static_cast<hsize_t>(rows_)},
      count{static_cast<hsize_t>(n)};
  for (hsize_t s : row_shape_) {
    size.push_back(s);
    start.push_back(0);
    count.push_back(s);
  }
  Lock lock(hdf5_mutex());
  if (H5Dset_extent(id_, size.data()) < 0) {
    fail(Status::Io, "HDF5: cannot extend dataset '" + name_ + "' in " + where_);
  }
  H5Handle fspace(H5Dget_space(id_), H5Sclose, "dataspace of " + name_);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  H5Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
                  "memory space");
  if (H5Dwrite(id_, memory_type, mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0) {
    fail(Status::Io, "HDF5: cannot write " + std::to_string(n) + " rows to '" + name_ + "' in " +
                         where_ + " (disk full?)");
  }
  rows_ += n;
}

}  // namespace gml
