// Two-body orbit of the galaxy centres with dynamical friction (the
// approximations are described in orbit.h and docs/merger_simulator.md).
#include "core/merger/sim/orbit.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/common/error.h"

namespace gml::merger {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoOverSqrtPi = 1.1283791670955126;

}  // namespace

double interaction_scale(const GalaxyModel& g1, const GalaxyModel& g2) {
  return std::hypot(g1.halo.scale, g2.halo.scale);
}

double relative_potential(const GalaxyModel& g1, const GalaxyModel& g2, double r) {
  const double gm = kGravity * (g1.total_mass() + g2.total_mass());
  const double a = interaction_scale(g1, g2);
  const double e2 = g1.softening * g1.softening;
  if (g1.profile == Profile::Hernquist) return -gm / (std::sqrt(r * r + e2) + a);
  return -gm / std::sqrt(r * r + a * a + e2);
}

double relative_acceleration(const GalaxyModel& g1, const GalaxyModel& g2, double r) {
  const double gm = kGravity * (g1.total_mass() + g2.total_mass());
  const double a = interaction_scale(g1, g2);
  const double e2 = g1.softening * g1.softening;
  if (g1.profile == Profile::Hernquist) {
    const double d = std::sqrt(r * r + e2);
    return gm * r / (d * (d + a) * (d + a));
  }
  const double s = r * r + a * a + e2;
  return gm * r / (s * std::sqrt(s));
}

RelativeOrbitStart relative_orbit_start(const GalaxyModel& g1, const GalaxyModel& g2,
                                        const OrbitParams& p) {
  require(std::isfinite(p.pericentre_kpc) && p.pericentre_kpc > 0.0,
          "orbit pericentre must be > 0 kpc, got " + std::to_string(p.pericentre_kpc));
  require(p.eccentricity >= 0.0 && p.eccentricity <= 1.0,
          "orbit eccentricity must be in [0, 1], got " + std::to_string(p.eccentricity));
  require(std::isfinite(p.initial_separation_kpc) && p.initial_separation_kpc >= p.pericentre_kpc,
          "orbit initial separation must be >= the pericentre (" +
              std::to_string(p.pericentre_kpc) + " kpc), got " +
              std::to_string(p.initial_separation_kpc));
  const double rp = p.pericentre_kpc;
  const double e = p.eccentricity;
  auto phi = [&](double r) { return relative_potential(g1, g2, r); };

  RelativeOrbitStart s;
  double l2;
  if (e >= 1.0) {  // parabolic: zero energy, Phi(inf) = 0
    s.apocentre = std::numeric_limits<double>::infinity();
    l2 = -2.0 * phi(rp) * rp * rp;
    s.specific_energy = 0.0;
  } else if (e < 1e-9) {  // circular
    s.apocentre = rp;
    l2 = rp * rp * rp * relative_acceleration(g1, g2, rp);
    s.specific_energy = phi(rp) + 0.5 * l2 / (rp * rp);
  } else {
    const double ra = rp * (1.0 + e) / (1.0 - e);
    s.apocentre = ra;
    l2 = 2.0 * (phi(ra) - phi(rp)) / (1.0 / (rp * rp) - 1.0 / (ra * ra));
    s.specific_energy = phi(rp) + 0.5 * l2 / (rp * rp);
  }
  const double d = std::fmin(p.initial_separation_kpc, s.apocentre);
  s.separation = d;
  s.specific_angular_momentum = std::sqrt(l2);
  s.tangential_velocity = s.specific_angular_momentum / d;
  const double vr2 = 2.0 * (s.specific_energy - phi(d)) - l2 / (d * d);
  s.radial_velocity = -std::sqrt(std::fmax(0.0, vr2));
  return s;
}

double chandrasekhar_g_over_x3(double x) {
  if (x < 0.1) {
    const double x2 = x * x;
    return kTwoOverSqrtPi * (2.0 / 3.0 + x2 * (-2.0 / 5.0 + x2 * (1.0 / 7.0 + x2 * (-1.0 / 27.0))));
  }
  return (std::erf(x) - kTwoOverSqrtPi * x * std::exp(-x * x)) / (x * x * x);
}

double chandrasekhar_g(double x) {
  if (x < 0.1) return x * x * x * chandrasekhar_g_over_x3(x);
  return std::erf(x) - kTwoOverSqrtPi * x * std::exp(-x * x);
}

double CentrePair::energy() const {
  const double m1 = mass(0), m2 = mass(1);
  const double mu = m1 * m2 / (m1 + m2);
  return 0.5 * m1 * dot(vel[0], vel[0]) + 0.5 * m2 * dot(vel[1], vel[1]) +
         mu * relative_potential(galaxy[0], galaxy[1], separation());
}

Vec3 CentrePair::angular_momentum() const {
  return cross(pos[0], vel[0]) * mass(0) + cross(pos[1], vel[1]) * mass(1);
}

double CentrePair::friction_rate() const {
  if (friction_scale <= 0.0) return 0.0;
  const double r = separation();
  const double eps = galaxy[0].softening;
  const double d = std::sqrt(r * r + eps * eps);
  const double v = norm(vel[1] - vel[0]);
  // Drag on `sat` moving through `host`, divided by v^3 (finite as v -> 0).
  auto drag = [&](const GalaxyModel& host, const GalaxyModel& sat) {
    const double vc = host.circular_velocity(d);
    const double ln_lambda = std::log1p(d / sat.halo.scale);
    const double m = sat.total_mass();
    return m * m * ln_lambda * host.density(d) * chandrasekhar_g_over_x3(v / vc) / (vc * vc * vc);
  };
  const double m1 = mass(0), m2 = mass(1);
  const double mu = m1 * m2 / (m1 + m2);
  return 4.0 * kPi * kGravity * kGravity * friction_scale *
         (drag(galaxy[0], galaxy[1]) + drag(galaxy[1], galaxy[0])) / mu;
}

CentrePair make_centre_pair(const GalaxyModel& g1, const GalaxyModel& g2, const OrbitParams& params,
                            const Vec3& axis, const Vec3& normal, double friction_scale) {
  const RelativeOrbitStart s = relative_orbit_start(g1, g2, params);
  const Vec3 r = axis * s.separation;
  const Vec3 v = axis * s.radial_velocity + cross(normal, axis) * s.tangential_velocity;
  CentrePair pair;
  pair.galaxy[0] = g1;
  pair.galaxy[1] = g2;
  pair.friction_scale = friction_scale;
  const double m1 = g1.total_mass(), m2 = g2.total_mass(), m = m1 + m2;
  pair.pos[0] = r * (-m2 / m);
  pair.pos[1] = r * (m1 / m);
  pair.vel[0] = v * (-m2 / m);
  pair.vel[1] = v * (m1 / m);
  return pair;
}

void kick_centres(CentrePair& pair, double h) {
  const double m1 = pair.mass(0), m2 = pair.mass(1), m = m1 + m2;
  const Vec3 r = pair.pos[1] - pair.pos[0];
  const double rr = norm(r);
  if (rr > 0.0) {
    const Vec3 a_rel = r * (-relative_acceleration(pair.galaxy[0], pair.galaxy[1], rr) / rr);
    pair.vel[1] += a_rel * (h * m1 / m);
    pair.vel[0] -= a_rel * (h * m2 / m);
  }
  const double gamma = pair.friction_rate();
  if (gamma > 0.0) {
    const Vec3 v_cm = (pair.vel[0] * m1 + pair.vel[1] * m2) * (1.0 / m);
    const Vec3 v_rel = (pair.vel[1] - pair.vel[0]) * std::exp(-gamma * h);
    pair.vel[0] = v_cm - v_rel * (m2 / m);
    pair.vel[1] = v_cm + v_rel * (m1 / m);
  }
}

void drift_centres(CentrePair& pair, double h) {
  pair.pos[0] += pair.vel[0] * h;
  pair.pos[1] += pair.vel[1] * h;
}

void leapfrog_centres(CentrePair& pair, double dt, int64_t steps,
                      std::vector<double>* separations) {
  for (int64_t i = 0; i < steps; ++i) {
    kick_centres(pair, 0.5 * dt);
    drift_centres(pair, dt);
    kick_centres(pair, 0.5 * dt);
    if (separations) separations->push_back(pair.separation());
  }
}

void MergeTracker::update(double t, double separation) {
  if (separation < radius_) {
    if (!inside_) entered_ = t;
    inside_ = true;
  } else {
    inside_ = false;
  }
}

double MergeTracker::merge_time() const {
  return inside_ ? entered_ : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace gml::merger
