#include "adapters/hdf5_writer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "adapters/table_writer.h"
#include "core/common/error.h"
#include "core/common/hdf5_handle.h"
#include "core/common/version.h"
#include "fits_io/temp_path.h"

namespace gml::adapters {
namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

void write_string_attr(hid_t obj, const std::string& key, const std::string& value) {
  h5_write_string_attribute(obj, key, value);
}

}  // namespace

Hdf5SampleWriter::Hdf5SampleWriter(const std::string& path)
    : path_(path), tmp_(fits::temp_path_for(path)) {
  require(!path.empty(), "HDF5 writer: empty path");
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  file_ = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) {
    fail(Status::Io, "HDF5 writer: cannot create '" + tmp_ + "' for '" + path + "'");
  }
}

Hdf5SampleWriter::~Hdf5SampleWriter() {
  if (committed_) return;
  close_all();
  std::remove(tmp_.c_str());
}

void Hdf5SampleWriter::close_all() noexcept {
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  for (Dataset& d : datasets_) {
    if (d.id >= 0) H5Dclose(d.id);
    d.id = -1;
  }
  if (file_ >= 0) H5Fclose(file_);
  file_ = -1;
}

void Hdf5SampleWriter::check_open() const {
  if (committed_ || file_ < 0) {
    throw std::invalid_argument("HDF5 writer for '" + path_ + "' is already committed");
  }
}

int Hdf5SampleWriter::add_dataset(const std::string& name, const std::vector<int64_t>& row_shape,
                                  const std::string& unit, int64_t chunk_rows, int gzip_level) {
  check_open();
  if (name.empty() || name == "/") throw std::invalid_argument("add_dataset: empty name");
  for (const Dataset& d : datasets_) {
    if (d.name == name)
      throw std::invalid_argument("add_dataset: duplicate dataset '" + name + "'");
  }
  if (gzip_level < 0 || gzip_level > 9) {
    throw std::invalid_argument("add_dataset: gzip level must be 0-9");
  }
  if (chunk_rows < 0) throw std::invalid_argument("add_dataset: chunk_rows must be >= 0");
  Dataset d;
  d.name = name;
  for (int64_t s : row_shape) {
    if (s < 1) {
      throw std::invalid_argument("add_dataset('" + name + "'): row dimensions must be >= 1");
    }
    d.row_shape.push_back(static_cast<hsize_t>(s));
    d.row_size *= static_cast<hsize_t>(s);
  }
  if (chunk_rows == 0) {
    // About 1 MiB of float32 per chunk: big enough for gzip, small enough
    // that reading one galaxy's samples does not inflate much.
    chunk_rows = std::max<int64_t>(1, static_cast<int64_t>((1u << 18) / d.row_size));
  }
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{static_cast<hsize_t>(chunk_rows)};
  for (hsize_t s : d.row_shape) {
    dims.push_back(s);
    maxdims.push_back(s);
    chunk.push_back(s);
  }
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                 H5Sclose, "dataspace of " + name);
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties");
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  if (gzip_level > 0) {
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), static_cast<unsigned>(gzip_level));
  }
  H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "link properties");
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  d.id = H5Dcreate2(file_, name.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(), dcpl.get(),
                    H5P_DEFAULT);
  if (d.id < 0) fail(Status::Io, "HDF5: cannot create dataset '" + name + "' in " + tmp_);
  datasets_.push_back(std::move(d));
  if (!unit.empty()) write_string_attr(datasets_.back().id, "unit", unit);
  return static_cast<int>(datasets_.size() - 1);
}

void Hdf5SampleWriter::append(int dataset, int64_t n, const float* data) {
  check_open();
  if (dataset < 0 || dataset >= static_cast<int>(datasets_.size())) {
    throw std::invalid_argument("append: no dataset " + std::to_string(dataset));
  }
  if (n < 0) throw std::invalid_argument("append: n must be >= 0");
  if (n == 0) return;
  if (data == nullptr) throw std::invalid_argument("append: data must not be NULL");
  Dataset& d = datasets_[static_cast<size_t>(dataset)];
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  std::vector<hsize_t> size{static_cast<hsize_t>(d.rows + n)}, start{static_cast<hsize_t>(d.rows)},
      count{static_cast<hsize_t>(n)};
  for (hsize_t s : d.row_shape) {
    size.push_back(s);
    start.push_back(0);
    count.push_back(s);
  }
  if (H5Dset_extent(d.id, size.data()) < 0) {
    fail(Status::Io, "HDF5: cannot extend dataset '" + d.name + "'");
  }
  H5Handle fspace(H5Dget_space(d.id), H5Sclose, "dataspace of " + d.name);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  H5Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
                  "memory space");
  if (H5Dwrite(d.id, H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0) {
    fail(Status::Io,
         "HDF5: cannot write " + std::to_string(n) + " rows to '" + d.name + "' (disk full?)");
  }
  d.rows += n;
}

int64_t Hdf5SampleWriter::rows(int dataset) const {
  if (dataset < 0 || dataset >= static_cast<int>(datasets_.size())) {
    throw std::invalid_argument("rows: no dataset " + std::to_string(dataset));
  }
  return datasets_[static_cast<size_t>(dataset)].rows;
}

void Hdf5SampleWriter::set_attribute(const std::string& object, const std::string& key,
                                     const std::string& value) {
  check_open();
  if (key.empty()) throw std::invalid_argument("set_attribute: empty key");
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  if (object.empty() || object == "/") {
    write_string_attr(file_, key, value);
    return;
  }
  for (const Dataset& d : datasets_) {
    if (d.name == object) {
      write_string_attr(d.id, key, value);
      return;
    }
  }
  throw std::invalid_argument("set_attribute: no dataset '" + object + "'");
}

void Hdf5SampleWriter::commit(const std::string& input_file, const std::string& command_line,
                              const std::string& model_checksum) {
  check_open();
  {
    Lock lock(hdf5_mutex());
    H5ErrorSilencer silence;
    write_string_attr(file_, "gml_library_version", library_version());
    write_string_attr(file_, "created", utc_timestamp());
    if (!input_file.empty()) write_string_attr(file_, "input_file", input_file);
    if (!command_line.empty()) write_string_attr(file_, "command_line", command_line);
    if (!model_checksum.empty()) write_string_attr(file_, "model_checksum", model_checksum);
    if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) fail(Status::Io, "HDF5: cannot flush " + tmp_);
  }
  close_all();
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp_.c_str());
    fail(Status::Io, "HDF5 writer: cannot rename " + tmp_ + " to " + path_ + ": " + why);
  }
  committed_ = true;
}

}  // namespace gml::adapters
