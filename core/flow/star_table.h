// Star tables: the files a flow trains on and samples into. One row per star,
// one column per quantity, plus a galaxy id; galaxy conditions either in a
// per-galaxy table or computed from the stars. Layout (docs/flow.md):
//
//   HDF5:  /stars/<column> (N) float64, /stars/galaxy_id (N) int64,
//          /galaxies/galaxy_id (G) int64, /galaxies/<condition> (G) float64;
//          attributes "columns" and "conditions" (JSON lists) give the order.
//   FITS:  binary table STARS (columns + GALAXY_ID), binary table GALAXIES
//          (GALAXY_ID + conditions), TUNIT on every column.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "core/flow/training.h"

namespace gml::flow {

struct StarTable {
  std::vector<std::string> columns, units;
  at::Tensor data;    // (N, D) float64
  at::Tensor galaxy;  // (N) int64
  std::vector<std::string> condition_names, condition_units;
  at::Tensor galaxy_ids;         // (G) int64
  at::Tensor galaxy_conditions;  // (G, C) float64

  // Rows with the conditions of their galaxy. Throws Error(Format) when a
  // star's galaxy has no conditions.
  StarSet to_star_set() const;
};

// Reads a star table (.h5/.hdf5 or .fits/.fit, by content). When the file has
// no galaxy table, conditions are computed from the stars (docs/flow.md).
// A simulation snapshot with /PartType4 is read as one galaxy in physical
// units (simspin_snapshot.h). A directory or a comma-separated list of files
// gives all their galaxies (star_sources.h).
// max_stars_per_galaxy > 0 subsamples larger galaxies with `generator`.
StarTable read_star_table(const std::string& path, int64_t max_stars_per_galaxy = 0,
                          at::Generator* generator = nullptr);

// Writes a whole star table atomically, format by extension.
void write_star_table(const std::string& path, const StarTable& table);

// Appends star rows chunk by chunk (bounded memory) and commits atomically.
class StarTableWriter {
 public:
  virtual ~StarTableWriter() = default;
  // rows: (n, D) float32 contiguous CPU; galaxy: the id of all these rows.
  virtual void append(const float* rows, int64_t n, int64_t galaxy) = 0;
  // Writes the galaxy table and renames the file into place.
  virtual void commit(const at::Tensor& galaxy_ids, const at::Tensor& galaxy_conditions) = 0;
};

std::unique_ptr<StarTableWriter> open_star_table_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& units, const std::vector<std::string>& condition_names,
    const std::string& provenance_json);

}  // namespace gml::flow
