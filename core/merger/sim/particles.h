// Test-particle disks of the merger simulator, stored as structure-of-arrays
// float buffers, and the leapfrog kernel that moves them through the
// potentials of both (moving, rigid) galaxies.
//
// Disk set-up (per galaxy): exponential surface density of scale length
// R_d truncated at disk_truncation R_d (R drawn as -R_d ln(u1 u2), i.e.
// p(R) ~ R exp(-R/R_d)); Gaussian thickness z0; uniform azimuth. Each
// particle starts on the circular speed of the softened force of its own
// galaxy, plus Gaussian velocity noise: sigma_R = disk_dispersion v_c,
// sigma_phi = sigma_R / sqrt(2), and sigma_z = Omega z0 (Omega = v_c/R,
// the vertical frequency of a spherical potential), which is the vertical
// equilibrium of a Gaussian layer of thickness z0. The disk's spin axis is
// given (drawn isotropically by the caller). Particles are massless: they
// feel both galaxies and act on nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "core/merger/sim/orbit.h"
#include "core/merger/sim/random.h"
#include "core/merger/sim/vec3.h"

namespace gml::merger {

struct ParticleSet {
  std::vector<float> x, y, z;     ///< kpc
  std::vector<float> vx, vy, vz;  ///< kpc/Myr
  std::vector<float> light;       ///< weight in the images (arbitrary units)

  int64_t size() const { return static_cast<int64_t>(x.size()); }
  void reserve(int64_t n);
};

struct DiskParams {
  double scale_length = 2.5;  ///< kpc
  double height = 0.25;       ///< kpc (Gaussian sigma of z)
  double truncation = 5.0;    ///< in scale lengths
  double dispersion = 0.05;   ///< sigma_R / v_c
};

/// An orthonormal frame (e1, e2, spin) for a disk whose angular momentum
/// points along the unit vector `spin`.
void disk_frame(const Vec3& spin, Vec3& e1, Vec3& e2);

/// Appends `n` particles of a disk of `galaxy` centred at `centre` moving
/// with `centre_velocity`, rotating about `spin` (unit vector), each with
/// light `light_per_particle`. Consumes random numbers from `rng` only.
void add_disk(ParticleSet& particles, const GalaxyModel& galaxy, const DiskParams& disk,
              const Vec3& centre, const Vec3& centre_velocity, const Vec3& spin, int64_t n,
              float light_per_particle, SimRng& rng);

/// Where the potentials are: up to two galaxies, their centres at the time
/// at which the kick is evaluated.
struct PotentialField {
  const GalaxyModel* galaxy[2] = {nullptr, nullptr};
  Vec3 centre[2];
  int n = 0;  ///< 1 or 2 galaxies
};

/// One fused leapfrog pass over all particles: v += a(x) * kick, then
/// x += v * drift, with a(x) the softened acceleration of the galaxies in
/// `field` (all of one profile). kick-drift-kick is
///   kick_drift(h/2, h), kick_drift(h, h), ..., kick_drift(h, h), kick_drift(h/2, 0).
void kick_drift(ParticleSet& particles, const PotentialField& field, double kick, double drift);

/// Accelerations of `field` at the positions of `particles` (for tests).
void accelerations(const ParticleSet& particles, const PotentialField& field,
                   std::vector<float>& ax, std::vector<float>& ay, std::vector<float>& az);

}  // namespace gml::merger
