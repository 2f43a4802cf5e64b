// Star tables in FITS (layout in star_table.h): binary tables STARS and
// GALAXIES, whole-table reading and writing, and the writer that appends
// rows chunk by chunk.
#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/version.h"
#include "core/flow/star_table.h"
#include "core/flow/star_table_formats.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/table.h"

namespace gml::flow {

namespace {

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

}  // namespace

StarTable read_star_table_fits(const std::string& path) {
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

namespace {

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

}  // namespace

void write_star_table_fits(const std::string& path, const StarTable& t) {
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

namespace {

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

std::unique_ptr<StarTableWriter> open_fits_star_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& units, const std::vector<std::string>& condition_names,
    const std::string& provenance_json) {
  return std::make_unique<FitsStarWriter>(path, columns, units, condition_names, provenance_json);
}

}  // namespace gml::flow
