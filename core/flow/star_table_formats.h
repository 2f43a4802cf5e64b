// The two file formats of a star table (layout in star_table.h), behind
// read_star_table / write_star_table / open_star_table_writer. Internal to
// the flow family.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/flow/star_table.h"
#include "fits_io/atomic_output.h"

namespace gml::flow {

// True for a FITS extension, false for an HDF5 one; Error(InvalidArgument)
// for any other, rather than a silent HDF5 file under a misspelt name.
bool is_fits_path(const std::string& path);
// By the HDF5 signature, whatever the extension.
bool looks_like_hdf5(const std::string& path);

// Renames a finished star table into place; Error(Io) when that fails.
void commit_star_table(fits::AtomicOutput& output);

StarTable read_star_table_hdf5(const std::string& path);
void write_star_table_hdf5(const std::string& path, const StarTable& table);
std::unique_ptr<StarTableWriter> open_hdf5_star_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& condition_names, const std::string& provenance_json);

StarTable read_star_table_fits(const std::string& path);
void write_star_table_fits(const std::string& path, const StarTable& table);
std::unique_ptr<StarTableWriter> open_fits_star_writer(
    const std::string& path, const std::vector<std::string>& columns,
    const std::vector<std::string>& units, const std::vector<std::string>& condition_names,
    const std::string& provenance_json);

}  // namespace gml::flow
