#include "core/flow/star_table.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/common/error.h"
#include "core/flow/simspin_snapshot.h"
#include "core/flow/star_sources.h"
#include "core/flow/star_table_formats.h"
#include "fits_io/atomic_output.h"

namespace gml::flow {

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

bool looks_like_hdf5(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char sig[8] = {0};
  in.read(sig, 8);
  return in.gcount() == 8 && std::memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0;
}

namespace {

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

}  // namespace

void commit_star_table(fits::AtomicOutput& output) {
  try {
    output.commit();
  } catch (const std::system_error& e) {
    fail(Status::Io, std::string("star table: ") + e.what());
  }
}

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
  StarTable t = !looks_like_hdf5(path)       ? read_star_table_fits(path)
                : is_particle_snapshot(path) ? read_particle_snapshot(path)
                                             : read_star_table_hdf5(path);
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
    write_star_table_fits(path, table);
  } else {
    write_star_table_hdf5(path, table);
  }
}

std::unique_ptr<StarTableWriter> open_star_table_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& units, const std::vector<std::string>& condition_names,
    const std::string& provenance_json) {
  require(!path.empty(), "output path is empty");
  if (is_fits_path(path)) {
    return open_fits_star_writer(path, columns, units, condition_names, provenance_json);
  }
  return open_hdf5_star_writer(path, columns, condition_names, provenance_json);
}

}  // namespace gml::flow
