// One restricted N-body merger simulation: the random draws that define it
// (orbit, orientations, disks), and its time integration.
//
// Galaxy 1 is the configured model, galaxy 2 the same model scaled to
// q = M2/M1 (potential.h). Each galaxy carries particles_per_disk test
// particles; a particle's light is M_galaxy / (M1 particles_per_disk), so
// light follows mass. The two centres start on the orbit of orbit.h in
// the centre-of-mass frame, with the orbital plane and the two disks' spins
// oriented at random. Particles and centres advance together with the
// fused kick-drift-kick leapfrog; snapshot times are hit exactly (the step
// is the snapshot interval divided by ceil(interval / dt_myr)).
#pragma once

#include <cstdint>

#include "core/merger/sim/config.h"
#include "core/merger/sim/orbit.h"
#include "core/merger/sim/particles.h"

namespace gml::merger {

/// Indices that separate the random streams of one seed.
enum StreamPurpose : uint64_t { kStreamSetup = 1, kStreamParticles = 2, kStreamNoise = 3 };

/// Everything drawn for simulation `sim_id`.
struct SimulationSetup {
  int32_t sim_id = 0;
  double mass_ratio = 1.0;
  OrbitParams orbit;
  Vec3 orbit_axis{1.0, 0.0, 0.0};                     ///< direction of x2 - x1 at t = 0
  Vec3 orbit_normal{0.0, 0.0, 1.0};                   ///< direction of the orbital angular momentum
  Vec3 spin[2] = {{0.0, 0.0, 1.0}, {0.0, 0.0, 1.0}};  ///< disk spin axes
};

/// The draws of simulation `sim_id` (0 <= sim_id < num_simulations): its
/// mass ratio is mass_ratios[sim_id / sims_per_ratio]; pericentre and
/// eccentricity are uniform in their configured ranges; the orbital plane
/// and the disk spins are isotropic. Depends only on (seed, sim_id).
SimulationSetup draw_simulation(const MergerSimConfig& config, int32_t sim_id);

class MergerRun {
 public:
  /// Builds the galaxies, the centre orbit and the disks at t = 0.
  /// Throws Error(InvalidArgument) for an invalid config.
  MergerRun(const MergerSimConfig& config, const SimulationSetup& setup);

  /// Integrates from time() to t_myr >= time() with steps <= dt_myr.
  void advance_to(double t_myr);

  double time() const { return time_; }
  const ParticleSet& particles() const { return particles_; }
  const CentrePair& centres() const { return pair_; }
  /// Light-weighted mean of the two centres (the image centre).
  Vec3 light_centre() const;
  /// Time (Myr) since which the centres have stayed within merge_radius_kpc;
  /// NaN if they are apart now.
  double merge_time() const { return tracker_.merge_time(); }

 private:
  double dt_max_;
  double time_ = 0.0;
  double light_[2];
  CentrePair pair_;
  ParticleSet particles_;
  MergeTracker tracker_;
};

}  // namespace gml::merger
