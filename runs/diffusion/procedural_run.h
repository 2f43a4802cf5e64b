// A procedural galaxy set from request to file: galaxies drawn in chunks
// with progress and cancellation, written as one galaxy image set
// (core/diffusion/galaxy_image_set.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/diffusion/procedural_galaxy.h"
#include "runs/fwd.h"

namespace gml::runs {

// Galaxies [first, first + count) of the run `seed`, completing the
// comma-separated morphology `tags` (empty: all drawn from options.mix).
// Memory holds the finished cube (count x bands x size^2 floats) and one
// chunk's working set. Throws Error(InvalidArgument) for a bad tag or
// option or count outside [1, 10^7], Error(Cancelled) (no file is left),
// Error(Io) when the file cannot be written.
void run_procedural_galaxies(const diffusion::ProceduralOptions& options, const std::string& tags,
                             int64_t first, int64_t count, uint64_t seed,
                             const std::string& out_path, RunControl* control);

}  // namespace gml::runs
