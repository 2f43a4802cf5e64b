#include "core/flow/star_sources.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

#include "core/common/error.h"

namespace gml::flow {

namespace {

bool has_star_extension(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".hdf5" || e == ".h5" || e == ".fits" || e == ".fit";
}

}  // namespace

bool is_star_source_list(const std::string& spec) {
  return spec.find(',') != std::string::npos || std::filesystem::is_directory(spec);
}

std::vector<std::string> star_source_files(const std::string& spec) {
  std::vector<std::string> files;
  if (std::filesystem::is_directory(spec)) {
    for (const auto& e : std::filesystem::directory_iterator(spec)) {
      if (e.is_regular_file() && has_star_extension(e.path())) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) fail(Status::Io, "directory '" + spec + "' holds no .hdf5/.h5/.fits files");
    return files;
  }
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    if (end > start) files.push_back(spec.substr(start, end - start));
    start = end + 1;
  }
  require(!files.empty(), "empty list of star files");
  return files;
}

StarTable read_star_sources(const std::vector<std::string>& files, int64_t max_stars_per_galaxy,
                            at::Generator* generator) {
  require(!files.empty(), "no star files given");
  StarTable out;
  std::vector<at::Tensor> data, galaxy, ids, conds;
  int64_t next_id = 0;
  for (const auto& f : files) {
    require(!is_star_source_list(f), "'" + f + "': star file lists do not nest");
    StarTable t = read_star_table(f, max_stars_per_galaxy, generator);
    if (out.columns.empty()) {
      out.columns = t.columns;
      out.units = t.units;
      out.condition_names = t.condition_names;
      out.condition_units = t.condition_units;
    } else if (t.columns != out.columns || t.condition_names != out.condition_names) {
      fail(Status::Format, "'" + f + "' has other star columns or conditions than '" +
                               files.front() + "'; files trained together must match");
    }
    // Renumber this file's galaxies after those already read.
    auto [sorted, order] = t.galaxy_ids.sort();
    at::Tensor pos = at::searchsorted(sorted, t.galaxy);
    const int64_t g = t.galaxy_ids.size(0);
    at::Tensor new_ids = at::arange(next_id, next_id + g, at::kLong);
    data.push_back(t.data);
    galaxy.push_back(new_ids.index_select(0, pos));
    ids.push_back(new_ids);
    conds.push_back(t.galaxy_conditions.index_select(0, order));
    next_id += g;
  }
  out.data = at::cat(data);
  out.galaxy = at::cat(galaxy);
  out.galaxy_ids = at::cat(ids);
  out.galaxy_conditions = at::cat(conds);
  return out;
}

}  // namespace gml::flow
