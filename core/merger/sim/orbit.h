// The orbit of the two galaxy centres: set-up from (pericentre,
// eccentricity, separation), their softened mutual gravity, and
// Chandrasekhar-style dynamical friction that makes them sink and merge.
//
// Mutual gravity. The rigid spheres interact as if their halos were one
// profile of the summed mass with scale a12 = sqrt(a_halo1^2 + a_halo2^2):
//   Hernquist: U(r) = -G M1 M2 / (d + a12),           d = sqrt(r^2 + eps^2)
//   Plummer:   U(r) = -G M1 M2 / sqrt(r^2 + a12^2 + eps^2)
// (M = halo + bulge). Forces are equal and opposite, so without friction
// the leapfrog conserves momentum, angular momentum and (to O(dt^2)) E.
//
// Dynamical friction. Each centre moving through the other galaxy feels
// the drag of Chandrasekhar (1943) with an isotropic Maxwellian host of
// dispersion sigma = v_c(d)/sqrt(2):
//   F = 4 pi G^2 M_sat^2 lnL rho_host(d) [erf X - 2X/sqrt(pi) exp(-X^2)] / v^2,
//   X = v / v_c,host(d),  lnL = ln(1 + d / a_halo,sat),
// times friction_scale. The two drags are applied as an equal and opposite
// pair along the relative velocity (the rigid halos absorb the reaction),
// which keeps the centre of mass at rest. Within a kick of length h the
// relative velocity decays as exp(-gamma h), gamma evaluated at the start
// of the kick, so the drag never reverses the motion however close the
// centres come.
#pragma once

#include <cstdint>
#include <vector>

#include "core/merger/sim/potential.h"
#include "core/merger/sim/vec3.h"

namespace gml::merger {

struct OrbitParams {
  double pericentre_kpc = 8.0;
  double eccentricity = 1.0;  ///< 0 <= e <= 1; 1 = parabolic
  double initial_separation_kpc = 60.0;
};

/// Start of the relative orbit r = x2 - x1 in the orbit plane.
struct RelativeOrbitStart {
  double separation = 0.0;                 ///< kpc (the requested one, capped at the apocentre)
  double radial_velocity = 0.0;            ///< kpc/Myr, < 0 (approaching) unless at the apocentre
  double tangential_velocity = 0.0;        ///< kpc/Myr
  double specific_energy = 0.0;            ///< v^2/2 + Phi_rel(r), kpc^2/Myr^2
  double specific_angular_momentum = 0.0;  ///< kpc^2/Myr
  double apocentre = 0.0;                  ///< kpc; +inf for e = 1
};

/// Relative-orbit potential Phi_rel(r) = U(r) / mu (mu = M1 M2 / (M1 + M2)),
/// i.e. -G (M1 + M2) / (d + a12) for Hernquist.
double relative_potential(const GalaxyModel& g1, const GalaxyModel& g2, double r);
/// |dPhi_rel/dr| at separation r.
double relative_acceleration(const GalaxyModel& g1, const GalaxyModel& g2, double r);
/// a12 = sqrt(a_halo1^2 + a_halo2^2).
double interaction_scale(const GalaxyModel& g1, const GalaxyModel& g2);

/// The orbit in Phi_rel (no friction) whose turning points are the
/// pericentre r_p and the apocentre r_a = r_p (1 + e)/(1 - e) (for e = 1:
/// zero energy), entered at the requested separation on the way in.
/// Throws Error(InvalidArgument) for r_p <= 0, e outside [0, 1] or a
/// separation below r_p.
RelativeOrbitStart relative_orbit_start(const GalaxyModel& g1, const GalaxyModel& g2,
                                        const OrbitParams& params);

/// Chandrasekhar's G(X) = erf X - 2X/sqrt(pi) exp(-X^2), and G(X)/X^3
/// (finite at X = 0, where it tends to 4/(3 sqrt(pi))).
double chandrasekhar_g(double x);
double chandrasekhar_g_over_x3(double x);

/// Both centres, in the centre-of-mass frame at t = 0.
struct CentrePair {
  GalaxyModel galaxy[2];
  Vec3 pos[2];
  Vec3 vel[2];
  double friction_scale = 0.0;

  double mass(int i) const { return galaxy[i].total_mass(); }
  double separation() const { return norm(pos[1] - pos[0]); }
  /// Kinetic + mutual potential energy (1e10 Msun kpc^2 / Myr^2).
  double energy() const;
  /// Total angular momentum about the origin.
  Vec3 angular_momentum() const;
  /// Rate gamma (1/Myr) at which friction damps the relative velocity now.
  double friction_rate() const;
};

/// Places the pair on the orbit of relative_orbit_start: the relative
/// position along `axis`, the orbital angular momentum along `normal`
/// (both unit vectors, orthogonal), centre of mass at rest at the origin.
CentrePair make_centre_pair(const GalaxyModel& g1, const GalaxyModel& g2, const OrbitParams& params,
                            const Vec3& axis, const Vec3& normal, double friction_scale);

/// Kick: v += a h for both centres (mutual gravity at the current
/// positions), then friction damping over h.
void kick_centres(CentrePair& pair, double h);
/// Drift: x += v h.
void drift_centres(CentrePair& pair, double h);
/// `steps` kick-drift-kick leapfrog steps of length dt; if `separations` is
/// given, the separation after each step is appended to it.
void leapfrog_centres(CentrePair& pair, double dt, int64_t steps,
                      std::vector<double>* separations = nullptr);

/// Follows the separation over time and reports when the centres merged:
/// the time at which they last came within `radius`, if they are still
/// within it; NaN otherwise.
class MergeTracker {
 public:
  explicit MergeTracker(double radius) : radius_(radius) {}
  void update(double t, double separation);
  double merge_time() const;

 private:
  double radius_;
  bool inside_ = false;
  double entered_ = 0.0;
};

}  // namespace gml::merger
