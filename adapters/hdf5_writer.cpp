#include "adapters/hdf5_writer.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "adapters/table_writer.h"
#include "core/common/error.h"
#include "core/common/hdf5_handle.h"
#include "core/common/version.h"

namespace gml::adapters {
namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

void write_string_attr(hid_t obj, const std::string& key, const std::string& value) {
  h5_write_string_attribute(obj, key, value);
}

std::string checked_path(const std::string& path) {
  require(!path.empty(), "HDF5 writer: empty path");
  return path;
}

}  // namespace

Hdf5SampleWriter::Hdf5SampleWriter(const std::string& path)
    : path_(checked_path(path)), output_(path) {
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  file_ = H5Fcreate(output_.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) {
    fail(Status::Io, "HDF5 writer: cannot create '" + output_.temp_path() + "' for '" + path + "'");
  }
}

Hdf5SampleWriter::~Hdf5SampleWriter() {
  close_all();
}

void Hdf5SampleWriter::close_all() noexcept {
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  for (H5ExtendibleDataset& d : datasets_) d.close();
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
  for (const H5ExtendibleDataset& d : datasets_) {
    if (d.name() == name)
      throw std::invalid_argument("add_dataset: duplicate dataset '" + name + "'");
  }
  if (gzip_level < 0 || gzip_level > 9) {
    throw std::invalid_argument("add_dataset: gzip level must be 0-9");
  }
  if (chunk_rows < 0) throw std::invalid_argument("add_dataset: chunk_rows must be >= 0");
  H5RowLayout layout;
  layout.file_type = H5T_IEEE_F32LE;
  hsize_t row_size = 1;
  for (int64_t s : row_shape) {
    if (s < 1) {
      throw std::invalid_argument("add_dataset('" + name + "'): row dimensions must be >= 1");
    }
    layout.row_shape.push_back(static_cast<hsize_t>(s));
    row_size *= static_cast<hsize_t>(s);
  }
  if (chunk_rows == 0) {
    // About 1 MiB of float32 per chunk: big enough for gzip, small enough
    // that reading one galaxy's samples does not inflate much.
    chunk_rows = std::max<int64_t>(1, static_cast<int64_t>((1u << 18) / row_size));
  }
  layout.chunk_rows = static_cast<hsize_t>(chunk_rows);
  layout.deflate_level = static_cast<unsigned>(gzip_level);
  layout.shuffle = true;
  layout.create_groups = true;
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  datasets_.push_back(H5ExtendibleDataset::create(file_, name, layout, output_.temp_path()));
  if (!unit.empty()) write_string_attr(datasets_.back().id(), "unit", unit);
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
  Lock lock(hdf5_mutex());
  H5ErrorSilencer silence;
  datasets_[static_cast<size_t>(dataset)].append(data, H5T_NATIVE_FLOAT, n);
}

int64_t Hdf5SampleWriter::rows(int dataset) const {
  if (dataset < 0 || dataset >= static_cast<int>(datasets_.size())) {
    throw std::invalid_argument("rows: no dataset " + std::to_string(dataset));
  }
  return datasets_[static_cast<size_t>(dataset)].rows();
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
  for (const H5ExtendibleDataset& d : datasets_) {
    if (d.name() == object) {
      write_string_attr(d.id(), key, value);
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
    if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) {
      fail(Status::Io, "HDF5: cannot flush " + output_.temp_path());
    }
  }
  close_all();
  try {
    output_.commit();
  } catch (const std::system_error& e) {
    fail(Status::Io, std::string("HDF5 writer: ") + e.what());
  }
  committed_ = true;
}

}  // namespace gml::adapters
