// Several star files as one training table: a directory or a
// comma-separated list of star tables and particle snapshots, each file
// contributing its galaxies (a snapshot is one galaxy).
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/flow/star_table.h"

namespace gml::flow {

// True for a directory or a comma-separated list.
bool is_star_source_list(const std::string& spec);

// The files of `spec`: a directory's *.hdf5, *.h5, *.fits, *.fit files in
// name order, or the list's entries in order.
std::vector<std::string> star_source_files(const std::string& spec);

// Concatenates the tables of `files` (read with read_star_table). Galaxy ids
// are renumbered 0, 1, ... in file order. Every file must have the same star
// columns and condition names; Error(Format) names the first that differs.
StarTable read_star_sources(const std::vector<std::string>& files, int64_t max_stars_per_galaxy,
                            at::Generator* generator);

}  // namespace gml::flow
