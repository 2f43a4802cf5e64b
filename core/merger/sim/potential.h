// The rigid galaxy potentials of the merger simulator: each galaxy is a
// spherical dark halo plus a bulge, both Hernquist (1990) or both Plummer
// (1911) spheres, whose centre moves on the two-body orbit (orbit.h).
//
//   Hernquist: rho = M a / (2 pi r (r + a)^3),  M(<r) = M r^2 / (r + a)^2,
//              Phi = -G M / (r + a)
//   Plummer:   rho = 3 M / (4 pi a^3) (1 + r^2/a^2)^(-5/2),
//              M(<r) = M r^3 / (r^2 + a^2)^(3/2),  Phi = -G M / sqrt(r^2 + a^2)
//
// The forces that are integrated are softened with length eps: Hernquist
// uses d = sqrt(r^2 + eps^2) in place of r in Phi, Plummer adds eps^2 to
// a^2. Both are exact gradients of a softened potential, so the leapfrog
// conserves its energy. Units: kpc, Myr, 1e10 Msun (G = kGravity).
#pragma once

#include <string>

#include "core/merger/sim/config.h"

namespace gml::merger {

enum class Profile { Hernquist, Plummer };

/// "hernquist" / "plummer"; throws Error(InvalidArgument) otherwise.
Profile parse_profile(const std::string& name);
const char* to_string(Profile profile);

/// One spherical component: total mass (1e10 Msun) and scale radius (kpc).
struct Sphere {
  double mass = 0.0;
  double scale = 1.0;
};

/// Unsoftened analytic profile of one sphere at radius r >= 0 (kpc).
double sphere_density(Profile p, const Sphere& s, double r);        ///< 1e10 Msun / kpc^3
double sphere_enclosed_mass(Profile p, const Sphere& s, double r);  ///< 1e10 Msun
double sphere_potential(Profile p, const Sphere& s, double r);      ///< kpc^2 / Myr^2

/// Halo + bulge of one galaxy and the softening of its force.
struct GalaxyModel {
  Profile profile = Profile::Hernquist;
  Sphere halo;
  Sphere bulge;
  double softening = 0.2;  ///< kpc

  double total_mass() const { return halo.mass + bulge.mass; }
  /// Unsoftened M(<r), rho(r), Phi(r) and v_c = sqrt(G M(<r) / r) (kpc/Myr).
  double enclosed_mass(double r) const;
  double density(double r) const;
  double potential(double r) const;
  double circular_velocity(double r) const;
  /// Softened potential and radial acceleration magnitude |dPhi_soft/dr|:
  /// what test particles actually feel at distance r from the centre.
  double softened_potential(double r) const;
  double softened_acceleration(double r) const;
  /// sqrt(r |a_soft(r)|): the circular speed of the integrated force.
  double softened_circular_velocity(double r) const;
};

/// Galaxy 1 of `config` for q = 1; galaxy 2 for q = M2/M1: halo and bulge
/// masses times q, all lengths (scales, disk, not the softening) times
/// q^(1/3), i.e. equal mean density.
GalaxyModel make_galaxy(const MergerSimConfig& config, double q);
/// Length factor q^(1/3) applied to galaxy 2.
double length_factor(double q);

}  // namespace gml::merger
