// FITS files of merger image sets.
//
// Primary HDU: the images as a float32 cube, NAXIS = 4 with (NAXIS1,
// NAXIS2, NAXIS3, NAXIS4) = (W, H, 1, N), i.e. numpy/astropy shape
// (N, 1, H, W); header keywords GMLKIND = 'MERGERS' and the configuration
// that made it (NCLASS, NCAMERA, FOVKPC, PSFFWHM, NOISE, SEED, PROFILE, ...;
// docs/merger_simulator.md lists them).
// Extension 'LABELS': a binary table with one row per image, in cube order:
//   SIM_ID (J), TIME_CLASS (J), TIME (E, Myr), CAMERA (J), MASS_RATIO (E),
//   PERICENTRE (E, kpc), ECCENTRICITY (E), SEPARATION (E, kpc),
//   MERGE_TIME (E, Myr; NaN when the centres had not merged by t_end).
// Both HDUs carry CHECKSUM/DATASUM. Files are written under a temporary
// name and renamed into place when complete.
#pragma once

#include <string>

#include "core/merger/sim/config.h"
#include "core/merger/sim/dataset.h"

namespace gml::merger {

/// Writes `set` with `config` recorded in the primary header.
/// Throws Error(InvalidArgument) for an empty or inconsistent set or an
/// invalid config, Error(Io) if the file cannot be written (the target
/// path is then untouched).
void write_merger_fits(const std::string& path, const MergerImageSet& set,
                       const MergerSimConfig& config);

/// Reads a file written by write_merger_fits back (cube and labels).
/// Throws Error(Io) if the file does not exist, Error(Format) if it is not
/// a FITS file, not a merger image set (no GMLKIND = 'MERGERS', a cube of
/// another shape), has no LABELS table, lacks a label column or has a
/// label row count other than the number of images.
MergerImageSet read_merger_fits(const std::string& path);

}  // namespace gml::merger
