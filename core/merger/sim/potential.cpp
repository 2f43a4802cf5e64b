// Analytic Hernquist / Plummer spheres and the softened force of a galaxy
// model (formulas in potential.h).
#include "core/merger/sim/potential.h"

#include <cmath>

#include "core/common/error.h"

namespace gml::merger {
namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

Profile parse_profile(const std::string& name) {
  if (name == "hernquist") return Profile::Hernquist;
  if (name == "plummer") return Profile::Plummer;
  fail(Status::InvalidArgument,
       "unknown galaxy profile \"" + name + "\" (expected \"hernquist\" or \"plummer\")");
}

const char* to_string(Profile profile) {
  return profile == Profile::Hernquist ? "hernquist" : "plummer";
}

double sphere_density(Profile p, const Sphere& s, double r) {
  const double a = s.scale;
  if (p == Profile::Hernquist) return s.mass * a / (2.0 * kPi * r * std::pow(r + a, 3));
  return 3.0 * s.mass / (4.0 * kPi * a * a * a) * std::pow(1.0 + r * r / (a * a), -2.5);
}

double sphere_enclosed_mass(Profile p, const Sphere& s, double r) {
  const double a = s.scale;
  if (p == Profile::Hernquist) return s.mass * r * r / ((r + a) * (r + a));
  return s.mass * r * r * r / std::pow(r * r + a * a, 1.5);
}

double sphere_potential(Profile p, const Sphere& s, double r) {
  if (p == Profile::Hernquist) return -kGravity * s.mass / (r + s.scale);
  return -kGravity * s.mass / std::sqrt(r * r + s.scale * s.scale);
}

double GalaxyModel::enclosed_mass(double r) const {
  return sphere_enclosed_mass(profile, halo, r) + sphere_enclosed_mass(profile, bulge, r);
}

double GalaxyModel::density(double r) const {
  return sphere_density(profile, halo, r) + sphere_density(profile, bulge, r);
}

double GalaxyModel::potential(double r) const {
  return sphere_potential(profile, halo, r) + sphere_potential(profile, bulge, r);
}

double GalaxyModel::circular_velocity(double r) const {
  if (r <= 0.0) return 0.0;
  return std::sqrt(kGravity * enclosed_mass(r) / r);
}

double GalaxyModel::softened_potential(double r) const {
  const double e2 = softening * softening;
  if (profile == Profile::Hernquist) {
    const double d = std::sqrt(r * r + e2);
    return -kGravity * (halo.mass / (d + halo.scale) + bulge.mass / (d + bulge.scale));
  }
  return -kGravity * (halo.mass / std::sqrt(r * r + halo.scale * halo.scale + e2) +
                      bulge.mass / std::sqrt(r * r + bulge.scale * bulge.scale + e2));
}

double GalaxyModel::softened_acceleration(double r) const {
  const double e2 = softening * softening;
  if (profile == Profile::Hernquist) {
    const double d = std::sqrt(r * r + e2);
    const double dh = d + halo.scale, db = d + bulge.scale;
    return kGravity * r / d * (halo.mass / (dh * dh) + bulge.mass / (db * db));
  }
  const double sh = r * r + halo.scale * halo.scale + e2;
  const double sb = r * r + bulge.scale * bulge.scale + e2;
  return kGravity * r * (halo.mass / (sh * std::sqrt(sh)) + bulge.mass / (sb * std::sqrt(sb)));
}

double GalaxyModel::softened_circular_velocity(double r) const {
  return std::sqrt(r * softened_acceleration(r));
}

double length_factor(double q) {
  return std::cbrt(q);
}

GalaxyModel make_galaxy(const MergerSimConfig& config, double q) {
  const double f = length_factor(q);
  GalaxyModel g;
  g.profile = parse_profile(config.profile);
  g.halo = {config.halo_mass * q, config.halo_scale_kpc * f};
  g.bulge = {config.bulge_mass * q, config.bulge_scale_kpc * f};
  g.softening = config.softening_kpc;
  return g;
}

}  // namespace gml::merger
