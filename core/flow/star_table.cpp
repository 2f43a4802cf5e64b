#include "core/flow/star_table.h"

#include <ATen/ATen.h>
#include <hdf5.h>

#include <unistd.h>
#include <cctype>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/hdf5_handle.h"
#include "core/common/version.h"
#include "core/flow/simspin_snapshot.h"
#include "core/flow/star_sources.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/table.h"
#include "fits_io/temp_path.h"

namespace gml::flow {

namespace {

constexpr hsize_t kChunkRows = 65536;

// The output format follows the extension. An extension that names neither
// format is an error rather than a silent HDF5 file under a FITS-looking or
// misspelt name ("stars.fist", "stars.csv").
bool is_fits_path(const std::string& path) {
  std::string lower = path;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends = [&](const char* s) {
    const size_t n = std::strlen(s);
    return lower.size() > n && lower.compare(lower.size() - n, n, s) == 0;
  };
  for (const char* e : {".fits", ".fit", ".fts", ".fits.gz"}) {
    if (ends(e)) return true;
  }
  for (const char* e : {".h5", ".hdf5", ".he5"}) {
    if (ends(e)) return false;
  }
  throw Error(Status::InvalidArgument,
              "star table '" + path +
                  "': unknown extension; use .fits, .fit, .fts or .fits.gz for FITS, "
                  ".h5, .hdf5 or .he5 for HDF5");
}

// HDF5 link names cannot contain '/', which "[Fe/H]" does; the "columns"
// attribute keeps the true names.
std::string h5_name(const std::string& column) {
  std::string out = column;
  std::replace(out.begin(), out.end(), '/', '_');
  return out == "." ? "_" : out;
}

bool looks_like_hdf5(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char sig[8] = {0};
  in.read(sig, 8);
  return in.gcount() == 8 && std::memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0;
}

// ---------------------------------------------------------------- HDF5 --

std::string h5_string_attr(hid_t loc, const char* name) {
  return h5_read_string_attribute(loc, name).value_or("");
}

void h5_write_string_attr(hid_t loc, const char* name, const std::string& value) {
  h5_write_string_attribute(loc, name, value);
}

std::vector<std::string> h5_list(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_CRT_ORDER, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  if (names.empty()) {
    H5Literate(
        group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
          static_cast<std::vector<std::string>*>(out)->emplace_back(name);
          return 0;
        },
        &names);
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

StarTable read_hdf5(const std::string& path) {
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

void write_hdf5(const std::string& path, const StarTable& t) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  H5ErrorSilencer silence;
  const std::string tmp = fits::temp_path_for(path);
  try {
    {
      H5Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
                    "'" + path + "' for writing", Status::Io);
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
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      fail(Status::Io, "star table: cannot rename " + tmp + " to " + path);
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

// ---------------------------------------------------------------- FITS --

// True column names from GMLCOLS when it matches the table.
void restore_names(fits::FitsFile& f, std::vector<std::string>& names) {
  if (!fits::has_key(f, "GMLCOLS")) return;
  try {
    auto saved =
        nlohmann::json::parse(fits::read_key_string(f, "GMLCOLS")).get<std::vector<std::string>>();
    if (saved.size() == names.size()) names = saved;
  } catch (const std::exception&) {
    // A damaged keyword leaves the FITS names, which are still usable.
  }
}

StarTable read_fits(const std::string& path) {
  auto f = fits::FitsFile::open(path);
  StarTable t;
  f.move_to("STARS");
  fits::Table stars(f);
  const int64_t n = stars.nrows();
  std::vector<at::Tensor> cols;
  for (const auto& c : stars.columns()) {
    if (c.name == "GALAXY_ID") continue;
    require(c.is_numeric() && c.repeat == 1,
            "star table '" + path + "': column " + c.name + " must be a numeric scalar");
    at::Tensor col = at::empty({n}, at::kDouble);
    stars.read_column(c.name, 0, n, col.data_ptr<double>());
    cols.push_back(col);
    t.columns.push_back(c.name);
    t.units.push_back(c.unit);
  }
  require(!cols.empty(), "star table '" + path + "' has no star columns");
  restore_names(f, t.columns);
  t.data = at::stack(cols, 1);
  t.galaxy = at::zeros({n}, at::kLong);
  if (stars.has_column("GALAXY_ID")) {
    stars.read_column("GALAXY_ID", 0, n, t.galaxy.data_ptr<int64_t>());
  }
  if (f.num_hdus() > 2) {
    try {
      f.move_to("GALAXIES");
    } catch (const fits::FitsError&) {
      return t;  // no galaxy table: conditions come from the stars
    }
    fits::Table gal(f);
    const int64_t g = gal.nrows();
    t.galaxy_ids = at::empty({g}, at::kLong);
    gal.read_column("GALAXY_ID", 0, g, t.galaxy_ids.data_ptr<int64_t>());
    std::vector<at::Tensor> conds;
    for (const auto& c : gal.columns()) {
      if (c.name == "GALAXY_ID") continue;
      at::Tensor col = at::empty({g}, at::kDouble);
      gal.read_column(c.name, 0, g, col.data_ptr<double>());
      conds.push_back(col);
      t.condition_names.push_back(c.name);
      t.condition_units.push_back(c.unit);
    }
    if (!conds.empty()) t.galaxy_conditions = at::stack(conds, 1);
    restore_names(f, t.condition_names);
  }
  return t;
}

std::string fits_column_name(const std::string& name) {
  // FITS TTYPE: keep it readable but free of characters tools choke on.
  std::string out;
  for (char c : name) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_')
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  while (!out.empty() && out.front() == '_') out.erase(out.begin());
  return out.empty() ? "COL" : out;
}

// FITS column names are case-insensitive, so "z" (height) and "Z"
// (metallicity) collide; later duplicates get a numeric suffix. The true
// names travel in the GMLCOLS keyword and are restored on reading.
std::vector<std::string> fits_column_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    std::string base = fits_column_name(n), candidate = base;
    for (int k = 2;
         std::find(out.begin(), out.end(), candidate) != out.end() || candidate == "GALAXY_ID";
         ++k) {
      candidate = base + "_" + std::to_string(k);
    }
    out.push_back(candidate);
  }
  return out;
}

void write_galaxy_hdu(fits::FitsFile& f, const std::vector<std::string>& names,
                      const std::vector<std::string>& units, const at::Tensor& ids,
                      const at::Tensor& conditions) {
  std::vector<fits::ColumnSpec> specs{{"GALAXY_ID", fits::ColumnType::Int64, 1, "", {}}};
  const auto fits_names = fits_column_names(names);
  for (size_t j = 0; j < names.size(); ++j) {
    specs.push_back(
        {fits_names[j], fits::ColumnType::Float64, 1, j < units.size() ? units[j] : "", {}});
  }
  fits::Table gal = fits::create_table(f, "GALAXIES", specs);
  fits::write_key_string(f, "GMLCOLS", nlohmann::json(names).dump(), "condition names");
  at::Tensor id = ids.to(at::kLong).contiguous();
  gal.write_column("GALAXY_ID", 0, id.numel(), id.data_ptr<int64_t>());
  for (size_t j = 0; j < names.size(); ++j) {
    at::Tensor col = conditions.select(1, static_cast<int64_t>(j)).to(at::kDouble).contiguous();
    gal.write_column(specs[j + 1].name, 0, col.numel(), col.data_ptr<double>());
  }
}

void write_fits(const std::string& path, const StarTable& t) {
  auto f = fits::FitsFile::create(path);
  std::vector<fits::ColumnSpec> specs;
  const auto fits_names = fits_column_names(t.columns);
  for (size_t j = 0; j < t.columns.size(); ++j) {
    specs.push_back(
        {fits_names[j], fits::ColumnType::Float64, 1, j < t.units.size() ? t.units[j] : "", {}});
  }
  specs.push_back({"GALAXY_ID", fits::ColumnType::Int64, 1, "", {}});
  fits::Table stars = fits::create_table(f, "STARS", specs);
  fits::write_key_string(f, "GMLVERS", library_version(), "galaxyml version");
  fits::write_key_string(f, "GMLCOLS", nlohmann::json(t.columns).dump(), "star column names");
  for (size_t j = 0; j < t.columns.size(); ++j) {
    at::Tensor col = t.data.select(1, static_cast<int64_t>(j)).to(at::kDouble).contiguous();
    stars.write_column(specs[j].name, 0, col.numel(), col.data_ptr<double>());
  }
  at::Tensor gid = t.galaxy.to(at::kLong).contiguous();
  stars.write_column("GALAXY_ID", 0, gid.numel(), gid.data_ptr<int64_t>());
  if (t.galaxy_ids.defined()) {
    write_galaxy_hdu(f, t.condition_names, t.condition_units, t.galaxy_ids, t.galaxy_conditions);
  }
  f.commit();
}

// Conditions measured from the stars of each galaxy: log10 of the summed
// "mass" column, mass-weighted median and 10th percentile of "age", and the
// mass-weighted mean of "Z" (uniform weights without a mass column, and then
// no stellar mass).
void compute_conditions(StarTable& t, const std::string& path) {
  auto col = [&](const char* name) -> int64_t {
    for (size_t j = 0; j < t.columns.size(); ++j) {
      std::string c = t.columns[j];
      std::transform(c.begin(), c.end(), c.begin(), ::tolower);
      if (c == name) return static_cast<int64_t>(j);
    }
    return -1;
  };
  const int64_t age = col("age"), z = col("z_metal") >= 0 ? col("z_metal") : col("metallicity");
  const int64_t zz = z >= 0 ? z : col("z");
  const int64_t mass = col("mass");
  if (age < 0 || zz < 0 || mass < 0) {
    fail(Status::Format, "star table '" + path +
                             "' has no galaxy table, and conditions can only be computed from "
                             "stars with 'mass', 'age' and 'Z' columns");
  }
  at::Tensor ids = std::get<0>(at::_unique(t.galaxy, true));
  const int64_t g = ids.size(0);
  t.galaxy_ids = ids;
  t.galaxy_conditions = at::empty({g, 4}, at::kDouble);
  t.condition_names = {"log10_mstar", "tau50", "tau10", "mean_Z"};
  t.condition_units = {"log10(Msun)", "Gyr", "Gyr", ""};
  for (int64_t i = 0; i < g; ++i) {
    at::Tensor rows = at::nonzero(t.galaxy == ids[i]).flatten();
    at::Tensor m = t.data.index_select(0, rows).select(1, mass);
    at::Tensor a = t.data.index_select(0, rows).select(1, age);
    at::Tensor zc = t.data.index_select(0, rows).select(1, zz);
    auto [sorted, order] = a.sort();
    at::Tensor cw = m.index_select(0, order).cumsum(0);
    const double total = cw[-1].item<double>();
    require(total > 0, "star table '" + path + "': galaxy with non-positive total mass");
    auto quantile = [&](double q) {
      const int64_t k = at::searchsorted(cw, at::full({1}, q * total, at::kDouble)).item<int64_t>();
      return sorted[std::min<int64_t>(k, sorted.size(0) - 1)].item<double>();
    };
    t.galaxy_conditions[i][0] = std::log10(total);
    t.galaxy_conditions[i][1] = quantile(0.5);
    t.galaxy_conditions[i][2] = quantile(0.1);
    t.galaxy_conditions[i][3] = (m * zc).sum().item<double>() / total;
  }
}

class Hdf5StarWriter final : public StarTableWriter {
 public:
  Hdf5StarWriter(const std::string& path, std::vector<std::string> columns,
                 std::vector<std::string> condition_names, const std::string& provenance)
      : path_(path),
        tmp_(fits::temp_path_for(path)),
        columns_(std::move(columns)),
        condition_names_(std::move(condition_names)) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    H5ErrorSilencer silence;
    file_ = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file_ < 0) fail(Status::Io, "cannot create '" + path + "' (directory not writable?)");
    h5_write_string_attr(file_, "columns", nlohmann::json(columns_).dump());
    h5_write_string_attr(file_, "conditions", nlohmann::json(condition_names_).dump());
    h5_write_string_attr(file_, "gml_library_version", library_version());
    h5_write_string_attr(file_, "provenance", provenance);
    group_ = H5Gcreate2(file_, "stars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (const auto& c : columns_) {
      datasets_.push_back(create_extendible(h5_name(c), H5T_NATIVE_FLOAT));
    }
    datasets_.push_back(create_extendible("galaxy_id", H5T_NATIVE_INT64));
  }
  ~Hdf5StarWriter() override {
    close();
    if (!committed_) std::remove(tmp_.c_str());
  }
  void append(const float* rows, int64_t n, int64_t galaxy) override {
    if (n <= 0) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    H5ErrorSilencer silence;
    std::vector<float> col(static_cast<size_t>(n));
    const size_t d = columns_.size();
    for (size_t j = 0; j < d; ++j) {
      for (int64_t i = 0; i < n; ++i)
        col[static_cast<size_t>(i)] = rows[static_cast<size_t>(i) * d + j];
      extend_write(datasets_[j], H5T_NATIVE_FLOAT, col.data(), n);
    }
    std::vector<int64_t> ids(static_cast<size_t>(n), galaxy);
    extend_write(datasets_.back(), H5T_NATIVE_INT64, ids.data(), n);
    rows_ += n;
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
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      fail(Status::Io, "cannot rename " + tmp_ + " to " + path_);
    }
    committed_ = true;
  }

 private:
  hid_t create_extendible(const std::string& name, hid_t type) {
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = kChunkRows;
    H5Handle space(H5Screate_simple(1, &zero, &unlimited), H5Sclose, name);
    H5Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "plist");
    H5Pset_chunk(plist.get(), 1, &chunk);
    H5Pset_deflate(plist.get(), 4);
    hid_t ds =
        H5Dcreate2(group_, name.c_str(), type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT);
    if (ds < 0) fail(Status::Io, "cannot create dataset " + name + " in " + path_);
    return ds;
  }
  void extend_write(hid_t ds, hid_t type, const void* data, int64_t n) {
    hsize_t size = static_cast<hsize_t>(rows_ + n), offset = static_cast<hsize_t>(rows_),
            count = static_cast<hsize_t>(n);
    if (H5Dset_extent(ds, &size) < 0) fail(Status::Io, "cannot extend a dataset in " + path_);
    H5Handle fspace(H5Dget_space(ds), H5Sclose, "file space");
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &offset, nullptr, &count, nullptr);
    H5Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose, "memory space");
    if (H5Dwrite(ds, type, mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0) {
      fail(Status::Io, "cannot write to " + path_ + " (disk full?)");
    }
  }
  void close() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    for (hid_t d : datasets_) H5Dclose(d);
    datasets_.clear();
    if (group_ >= 0) H5Gclose(group_);
    if (file_ >= 0) H5Fclose(file_);
    group_ = file_ = -1;
  }
  std::string path_, tmp_;
  std::vector<std::string> columns_, condition_names_;
  hid_t file_ = -1, group_ = -1;
  std::vector<hid_t> datasets_;
  int64_t rows_ = 0;
  bool committed_ = false;
};

class FitsStarWriter final : public StarTableWriter {
 public:
  FitsStarWriter(const std::string& path, const std::vector<std::string>& columns,
                 const std::vector<std::string>& units, std::vector<std::string> condition_names,
                 const std::string& provenance)
      : file_(fits::FitsFile::create(path)), condition_names_(std::move(condition_names)) {
    const auto fits_names = fits_column_names(columns);
    for (size_t j = 0; j < columns.size(); ++j) {
      specs_.push_back(
          {fits_names[j], fits::ColumnType::Float32, 1, j < units.size() ? units[j] : "", {}});
    }
    specs_.push_back({"GALAXY_ID", fits::ColumnType::Int64, 1, "", {}});
    table_ = std::make_unique<fits::Table>(fits::create_table(file_, "STARS", specs_));
    fits::write_key_string(file_, "GMLVERS", library_version(), "galaxyml version");
    fits::write_key_string(file_, "GMLPROV", provenance, "provenance (JSON)");
    fits::write_key_string(file_, "GMLCOLS", nlohmann::json(columns).dump(), "star column names");
  }
  void append(const float* rows, int64_t n, int64_t galaxy) override {
    if (n <= 0) return;
    const size_t d = specs_.size() - 1;
    std::vector<float> col(static_cast<size_t>(n));
    for (size_t j = 0; j < d; ++j) {
      for (int64_t i = 0; i < n; ++i)
        col[static_cast<size_t>(i)] = rows[static_cast<size_t>(i) * d + j];
      table_->write_column(specs_[j].name, rows_, n, col.data());
    }
    std::vector<int64_t> ids(static_cast<size_t>(n), galaxy);
    table_->write_column("GALAXY_ID", rows_, n, ids.data());
    rows_ += n;
  }
  void commit(const at::Tensor& galaxy_ids, const at::Tensor& galaxy_conditions) override {
    write_galaxy_hdu(file_, condition_names_, {}, galaxy_ids, galaxy_conditions);
    file_.commit();
  }

 private:
  fits::FitsFile file_;
  std::vector<std::string> condition_names_;
  std::vector<fits::ColumnSpec> specs_;
  std::unique_ptr<fits::Table> table_;
  int64_t rows_ = 0;
};

}  // namespace

StarSet StarTable::to_star_set() const {
  require(galaxy_ids.defined() && galaxy_conditions.defined(),
          "star table has no galaxy conditions");
  // Map each star's galaxy id to its row in the galaxy table.
  auto [sorted_ids, order] = galaxy_ids.sort();
  at::Tensor pos = at::searchsorted(sorted_ids, galaxy).clamp_max(sorted_ids.size(0) - 1);
  at::Tensor found = sorted_ids.index_select(0, pos) == galaxy;
  if (!found.all().item<bool>()) {
    const int64_t bad = galaxy[at::nonzero(found.logical_not())[0][0]].item<int64_t>();
    fail(Status::Format,
         "star table: galaxy " + std::to_string(bad) + " has stars but no conditions");
  }
  StarSet s;
  s.data = data;
  s.galaxy = galaxy;
  s.conditions = galaxy_conditions.index_select(0, order.index_select(0, pos));
  return s;
}

StarTable read_star_table(const std::string& path, int64_t max_stars_per_galaxy,
                          at::Generator* generator) {
  require(!path.empty(), "star table path is empty");
  if (is_star_source_list(path)) {
    return read_star_sources(star_source_files(path), max_stars_per_galaxy, generator);
  }
  if (::access(path.c_str(), R_OK) != 0) {
    fail(Status::Io, "star table '" + path + "' does not exist or is not readable");
  }
  // Simulation snapshots (a /PartType4 group) are one galaxy each.
  StarTable t = !looks_like_hdf5(path)       ? read_fits(path)
                : is_particle_snapshot(path) ? read_particle_snapshot(path)
                                             : read_hdf5(path);
  require(t.data.size(0) > 0, "star table '" + path + "' has no stars");
  if (!t.galaxy_ids.defined()) compute_conditions(t, path);
  if (max_stars_per_galaxy > 0) {
    at::Generator gen = generator ? *generator : at::detail::createCPUGenerator(0);
    std::vector<at::Tensor> keep;
    at::Tensor ids = std::get<0>(at::_unique(t.galaxy, true));
    for (int64_t i = 0; i < ids.size(0); ++i) {
      at::Tensor rows = at::nonzero(t.galaxy == ids[i]).flatten();
      if (rows.numel() > max_stars_per_galaxy) {
        rows = rows.index_select(
            0, at::randperm(rows.numel(), gen, at::kLong).slice(0, 0, max_stars_per_galaxy));
      }
      keep.push_back(rows);
    }
    at::Tensor rows = std::get<0>(at::cat(keep).sort());
    t.data = t.data.index_select(0, rows);
    t.galaxy = t.galaxy.index_select(0, rows);
  }
  return t;
}

void write_star_table(const std::string& path, const StarTable& table) {
  require(!path.empty(), "star table path is empty");
  if (is_fits_path(path)) {
    write_fits(path, table);
  } else {
    write_hdf5(path, table);
  }
}

std::unique_ptr<StarTableWriter> open_star_table_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& units, const std::vector<std::string>& condition_names,
    const std::string& provenance_json) {
  require(!path.empty(), "output path is empty");
  if (is_fits_path(path)) {
    return std::make_unique<FitsStarWriter>(path, columns, units, condition_names, provenance_json);
  }
  return std::make_unique<Hdf5StarWriter>(path, columns, condition_names, provenance_json);
}

}  // namespace gml::flow
