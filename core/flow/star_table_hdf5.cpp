// Star tables in HDF5 (layout in star_table.h): whole-table reading and
// writing, and the writer that appends rows chunk by chunk.
#include <ATen/ATen.h>
#include <hdf5.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/hdf5_extendible.h"
#include "core/common/hdf5_handle.h"
#include "core/common/version.h"
#include "core/flow/star_table.h"
#include "core/flow/star_table_formats.h"
#include "fits_io/atomic_output.h"

namespace gml::flow {

namespace {

constexpr hsize_t kChunkRows = 65536;

// HDF5 link names cannot contain '/', which "[Fe/H]" does; the "columns"
// attribute keeps the true names.
std::string h5_name(const std::string& column) {
  std::string out = column;
  std::replace(out.begin(), out.end(), '/', '_');
  return out == "." ? "_" : out;
}

std::string h5_string_attr(hid_t loc, const char* name) {
  return h5_read_string_attribute(loc, name).value_or("");
}

void h5_write_string_attr(hid_t loc, const char* name, const std::string& value) {
  h5_write_string_attribute(loc, name, value);
}

// Names in creation order when the file tracks it (h5py does not by
// default), else in name order.
std::vector<std::string> h5_list(hid_t group) {
  std::vector<std::string> names;
  for (H5_index_t order : {H5_INDEX_CRT_ORDER, H5_INDEX_NAME}) {
    H5Literate(
        group, order, H5_ITER_INC, nullptr,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
          static_cast<std::vector<std::string>*>(out)->emplace_back(name);
          return 0;
        },
        &names);
    if (!names.empty()) break;
  }
  return names;
}

at::Tensor h5_read_1d(hid_t group, const std::string& name, at::ScalarType type,
                      const std::string& where) {
  H5Handle ds(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, where + "/" + name,
              Status::Format);
  H5Handle space(H5Dget_space(ds.get()), H5Sclose, where, Status::Format);
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    fail(Status::Format, "star table: " + where + "/" + name + " must be one-dimensional");
  }
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  h5_require_dataset_stored(ds.get(), "star table: " + where + "/" + name);
  at::Tensor t = at::empty({static_cast<int64_t>(n)}, type);
  const hid_t mem = type == at::kLong ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
  if (n > 0 && H5Dread(ds.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0) {
    fail(Status::Format, "star table: cannot read " + where + "/" + name);
  }
  return t;
}

std::vector<std::string> json_list(const std::string& text) {
  if (text.empty()) return {};
  try {
    return nlohmann::json::parse(text).get<std::vector<std::string>>();
  } catch (const std::exception&) {
    fail(Status::Format, "star table: attribute is not a JSON list of names: " + text);
  }
}

}  // namespace

StarTable read_star_table_hdf5(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  H5ErrorSilencer silence;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                "'" + path + "' (damaged HDF5 file?)", Status::Format);
  if (H5Lexists(file.get(), "stars", H5P_DEFAULT) <= 0) {
    fail(Status::Format, "star table '" + path + "' has no /stars group (docs/flow.md)");
  }
  H5Handle stars(H5Gopen2(file.get(), "stars", H5P_DEFAULT), H5Gclose, "/stars", Status::Format);
  StarTable t;
  t.columns = json_list(h5_string_attr(file.get(), "columns"));
  if (t.columns.empty()) {
    for (auto& n : h5_list(stars.get()))
      if (n != "galaxy_id") t.columns.push_back(n);
  }
  require(!t.columns.empty(), "star table '" + path + "' has no star columns");
  std::vector<at::Tensor> cols;
  for (const auto& c : t.columns) {
    cols.push_back(h5_read_1d(stars.get(), h5_name(c), at::kDouble, "/stars"));
    t.units.push_back("");
  }
  t.data = at::stack(cols, 1);
  t.galaxy = H5Lexists(stars.get(), "galaxy_id", H5P_DEFAULT) > 0
                 ? h5_read_1d(stars.get(), "galaxy_id", at::kLong, "/stars")
                 : at::zeros({t.data.size(0)}, at::kLong);
  require(t.galaxy.size(0) == t.data.size(0),
          "star table '" + path + "': galaxy_id and star columns differ in length");
  if (H5Lexists(file.get(), "galaxies", H5P_DEFAULT) > 0) {
    H5Handle gal(H5Gopen2(file.get(), "galaxies", H5P_DEFAULT), H5Gclose, "/galaxies",
                 Status::Format);
    t.condition_names = json_list(h5_string_attr(file.get(), "conditions"));
    if (t.condition_names.empty()) {
      for (auto& n : h5_list(gal.get()))
        if (n != "galaxy_id") t.condition_names.push_back(n);
    }
    t.galaxy_ids = h5_read_1d(gal.get(), "galaxy_id", at::kLong, "/galaxies");
    std::vector<at::Tensor> conds;
    for (const auto& c : t.condition_names) {
      conds.push_back(h5_read_1d(gal.get(), h5_name(c), at::kDouble, "/galaxies"));
      t.condition_units.push_back("");
    }
    t.galaxy_conditions = at::stack(conds, 1);
  }
  return t;
}

void write_star_table_hdf5(const std::string& path, const StarTable& t) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  H5ErrorSilencer silence;
  fits::AtomicOutput output(path);
  {
    H5Handle file(H5Fcreate(output.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                  H5Fclose, "'" + path + "' for writing", Status::Io);
    h5_write_string_attr(file.get(), "columns", nlohmann::json(t.columns).dump());
    h5_write_string_attr(file.get(), "conditions", nlohmann::json(t.condition_names).dump());
    h5_write_string_attr(file.get(), "gml_library_version", library_version());
    auto write_group = [&](const char* group_name, const at::Tensor& values,
                           const std::vector<std::string>& names, const at::Tensor& ids) {
      H5Handle g(H5Gcreate2(file.get(), group_name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Gclose, group_name);
      auto write_1d = [&](const std::string& name, const at::Tensor& col, hid_t type) {
        at::Tensor c = col.contiguous();
        hsize_t n = static_cast<hsize_t>(c.numel());
        H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, name);
        H5Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "plist");
        if (n > 0) {
          hsize_t chunk = std::min(n, kChunkRows);
          H5Pset_chunk(plist.get(), 1, &chunk);
          H5Pset_deflate(plist.get(), 4);
        }
        H5Handle ds(H5Dcreate2(g.get(), name.c_str(), type, space.get(), H5P_DEFAULT, plist.get(),
                               H5P_DEFAULT),
                    H5Dclose, name);
        if (n > 0 && H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.data_ptr()) < 0) {
          fail(Status::Io, "star table: cannot write " + name);
        }
      };
      for (size_t j = 0; j < names.size(); ++j) {
        write_1d(h5_name(names[j]), values.select(1, static_cast<int64_t>(j)).to(at::kDouble),
                 H5T_NATIVE_DOUBLE);
      }
      write_1d("galaxy_id", ids.to(at::kLong), H5T_NATIVE_INT64);
    };
    write_group("stars", t.data, t.columns, t.galaxy);
    if (t.galaxy_ids.defined()) {
      write_group("galaxies", t.galaxy_conditions, t.condition_names, t.galaxy_ids);
    }
  }
  commit_star_table(output);
}

namespace {

// Rows arrive galaxy by galaxy; each column grows in its own extendible
// dataset, and the galaxy table is written once at commit.
class Hdf5StarWriter final : public StarTableWriter {
 public:
  Hdf5StarWriter(const std::string& path, std::vector<std::string> columns,
                 std::vector<std::string> condition_names, const std::string& provenance)
      : output_(path), columns_(std::move(columns)), condition_names_(std::move(condition_names)) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    H5ErrorSilencer silence;
    file_ = H5Fcreate(output_.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file_ < 0) fail(Status::Io, "cannot create '" + path + "' (directory not writable?)");
    h5_write_string_attr(file_, "columns", nlohmann::json(columns_).dump());
    h5_write_string_attr(file_, "conditions", nlohmann::json(condition_names_).dump());
    h5_write_string_attr(file_, "gml_library_version", library_version());
    h5_write_string_attr(file_, "provenance", provenance);
    group_ = H5Gcreate2(file_, "stars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5RowLayout layout;
    layout.chunk_rows = kChunkRows;
    layout.file_type = H5T_NATIVE_FLOAT;
    for (const auto& c : columns_) {
      datasets_.push_back(H5ExtendibleDataset::create(group_, h5_name(c), layout, path));
    }
    layout.file_type = H5T_NATIVE_INT64;
    datasets_.push_back(H5ExtendibleDataset::create(group_, "galaxy_id", layout, path));
  }
  ~Hdf5StarWriter() override { close(); }
  void append(const float* rows, int64_t n, int64_t galaxy) override {
    if (n <= 0) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    H5ErrorSilencer silence;
    std::vector<float> col(static_cast<size_t>(n));
    const size_t d = columns_.size();
    for (size_t j = 0; j < d; ++j) {
      for (int64_t i = 0; i < n; ++i)
        col[static_cast<size_t>(i)] = rows[static_cast<size_t>(i) * d + j];
      datasets_[j].append(col.data(), H5T_NATIVE_FLOAT, n);
    }
    std::vector<int64_t> ids(static_cast<size_t>(n), galaxy);
    datasets_.back().append(ids.data(), H5T_NATIVE_INT64, n);
  }
  void commit(const at::Tensor& galaxy_ids, const at::Tensor& galaxy_conditions) override {
    {
      std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
      H5ErrorSilencer silence;
      H5Handle g(H5Gcreate2(file_, "galaxies", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                 "/galaxies");
      auto write = [&](const std::string& name, const at::Tensor& v, hid_t type) {
        at::Tensor c = v.contiguous();
        hsize_t n = static_cast<hsize_t>(c.numel());
        H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, name);
        H5Handle ds(H5Dcreate2(g.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT),
                    H5Dclose, name);
        if (n > 0) H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.data_ptr());
      };
      write("galaxy_id", galaxy_ids.to(at::kLong), H5T_NATIVE_INT64);
      for (size_t j = 0; j < condition_names_.size(); ++j) {
        write(h5_name(condition_names_[j]),
              galaxy_conditions.select(1, static_cast<int64_t>(j)).to(at::kDouble),
              H5T_NATIVE_DOUBLE);
      }
    }
    close();
    commit_star_table(output_);
  }

 private:
  void close() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    datasets_.clear();
    if (group_ >= 0) H5Gclose(group_);
    if (file_ >= 0) H5Fclose(file_);
    group_ = file_ = -1;
  }
  // Declared first, so the HDF5 handles close before the temporary goes.
  fits::AtomicOutput output_;
  std::vector<std::string> columns_, condition_names_;
  hid_t file_ = -1, group_ = -1;
  std::vector<H5ExtendibleDataset> datasets_;
};

}  // namespace

std::unique_ptr<StarTableWriter> open_hdf5_star_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& condition_names, const std::string& provenance_json) {
  return std::make_unique<Hdf5StarWriter>(path, columns, condition_names, provenance_json);
}

}  // namespace gml::flow
