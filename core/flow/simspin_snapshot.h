// Star particles of one simulated galaxy from a Gadget-style HDF5 snapshot
// (the layout SimSpin reads: EAGLE, IllustrisTNG, Magneticum, Horizon-AGN),
// converted to a star table in physical units (docs/flow.md, "Simulation
// snapshots"):
//
//   x, y, z [kpc]      centred on the stars' mass-weighted centre
//   vx, vy, vz [km/s]  relative to the stars' mass-weighted mean velocity
//   Z                  metallicity, mass fraction
//   age [Gyr]          from the formation expansion factor, flat LambdaCDM
//                      with the file's Omega0 and HubbleParam
//   mass [Msun]        current particle mass
//
// Only the columns the file provides appear. Stored values are converted as
// physical CGS = stored * a^aexp * h^hexp * factor, from each dataset's own
// attributes (CGSConversionFactor / aexp-scale-exponent / h-scale-exponent,
// or IllustrisTNG's to_cgs / a_scaling / h_scaling).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/flow/star_table.h"

namespace gml::flow {

// The reference cleaning of a galaxy's stars before training.
struct SnapshotOptions {
  // Stars beyond this quantile of the 3-D radius from the mass-weighted
  // centre are dropped (satellites, stripped streams, unbound particles).
  // 1 keeps every star.
  double radius_quantile = 0.95;
  // Galaxies with fewer stars left are rejected: a flow cannot learn a
  // distribution from a handful of particles.
  int64_t min_stars = 100;
};

// True when `path` is an HDF5 file with a /PartType4 group.
bool is_particle_snapshot(const std::string& path);

// Reads the star particles of `path` as galaxy `galaxy_id`, conditions
// computed from the stars (log10 M*, tau50, tau10, mean Z). Throws
// Error(Format) naming the file and dataset when a required part (positions)
// is missing or malformed, or when fewer than min_stars stars remain.
StarTable read_particle_snapshot(const std::string& path, int64_t galaxy_id = 0,
                                 const SnapshotOptions& options = {});

// Universe age [Gyr] at expansion factor a in a flat LambdaCDM cosmology.
double flat_lcdm_age_gyr(double a, double omega_m, double hubble_param);

}  // namespace gml::flow
