// Test-particle disks: the set-up draws the documented distribution, and a
// disk in a single rigid galaxy stays a rotationally supported disk with the
// default step over many rotation periods.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/merger/sim/config.h"
#include "core/merger/sim/particles.h"
#include "core/merger/sim/potential.h"
#include "core/merger/sim/random.h"

namespace {

using gml::merger::DiskParams;
using gml::merger::GalaxyModel;
using gml::merger::MergerSimConfig;
using gml::merger::ParticleSet;
using gml::merger::Vec3;

DiskParams default_disk() {
  const MergerSimConfig c;
  DiskParams d;
  d.scale_length = c.disk_scale_kpc;
  d.height = c.disk_height_kpc;
  d.truncation = c.disk_truncation;
  d.dispersion = c.disk_dispersion;
  return d;
}

struct DiskStats {
  std::vector<double> radius;  // cylindrical, in the disk plane
  double mean_abs_z = 0.0;
  double mean_rotation = 0.0;  // <v_phi / v_c(R)>
  Vec3 spin_direction;
};

DiskStats measure(const ParticleSet& p, const GalaxyModel& g, const Vec3& spin) {
  DiskStats s;
  Vec3 l;
  for (int64_t i = 0; i < p.size(); ++i) {
    const Vec3 r{p.x[i], p.y[i], p.z[i]}, v{p.vx[i], p.vy[i], p.vz[i]};
    const double z = gml::merger::dot(r, spin);
    const Vec3 rp = r - spin * z;
    const double rr = gml::merger::norm(rp);
    s.radius.push_back(rr);
    s.mean_abs_z += std::fabs(z);
    const Vec3 e_phi = gml::merger::normalized(gml::merger::cross(spin, rp));
    s.mean_rotation += gml::merger::dot(v, e_phi) / g.softened_circular_velocity(rr);
    l += gml::merger::cross(r, v);
  }
  std::sort(s.radius.begin(), s.radius.end());
  s.mean_abs_z /= static_cast<double>(p.size());
  s.mean_rotation /= static_cast<double>(p.size());
  s.spin_direction = gml::merger::normalized(l);
  return s;
}

double quantile(const std::vector<double>& sorted, double f) {
  return sorted[static_cast<size_t>(f * static_cast<double>(sorted.size() - 1))];
}

TEST(MergerDisk, SetUpDrawsTruncatedExponentialDisk) {
  const GalaxyModel g = gml::merger::make_galaxy(MergerSimConfig(), 1.0);
  const DiskParams d = default_disk();
  const Vec3 spin = gml::merger::normalized({0.3, -0.5, 0.8});
  ParticleSet p;
  gml::merger::SimRng rng(11);
  gml::merger::add_disk(p, g, d, {}, {}, spin, 20000, 0.5f, rng);
  ASSERT_EQ(p.size(), 20000);
  const DiskStats s = measure(p, g, spin);
  // p(R) ~ R exp(-R/Rd) on [0, 5 Rd]: <R> = Rd (2 - 37 e^-5) / (1 - 6 e^-5).
  double mean = 0.0;
  for (double r : s.radius) mean += r;
  mean /= static_cast<double>(s.radius.size());
  const double e5 = std::exp(-5.0);
  EXPECT_NEAR(mean, d.scale_length * (2 - 37 * e5) / (1 - 6 * e5), 0.02 * d.scale_length);
  EXPECT_LE(s.radius.back(), d.truncation * d.scale_length + 1e-4);
  // Gaussian z: <|z|> = z0 sqrt(2/pi).
  EXPECT_NEAR(s.mean_abs_z, d.height * std::sqrt(2.0 / 3.141592653589793), 0.03 * d.height);
  EXPECT_GT(s.mean_rotation, 0.97);
  EXPECT_GT(gml::merger::dot(s.spin_direction, spin), 0.999);
  for (float w : p.light) EXPECT_EQ(w, 0.5f);
}

TEST(MergerDisk, StaysRotationallySupportedInRigidGalaxy) {
  const MergerSimConfig c;
  const GalaxyModel g = gml::merger::make_galaxy(c, 1.0);
  const DiskParams d = default_disk();
  const Vec3 spin = gml::merger::normalized({-0.2, 0.9, 0.4});
  ParticleSet p;
  gml::merger::SimRng rng(5);
  gml::merger::add_disk(p, g, d, {}, {}, spin, 4000, 1.0f, rng);
  auto energies = [&] {
    std::vector<double> e(static_cast<size_t>(p.size()));
    for (int64_t i = 0; i < p.size(); ++i) {
      const double r =
          std::sqrt(double(p.x[i]) * p.x[i] + double(p.y[i]) * p.y[i] + double(p.z[i]) * p.z[i]);
      const double v2 =
          double(p.vx[i]) * p.vx[i] + double(p.vy[i]) * p.vy[i] + double(p.vz[i]) * p.vz[i];
      e[static_cast<size_t>(i)] = 0.5 * v2 + g.softened_potential(r);
    }
    return e;
  };
  const DiskStats before = measure(p, g, spin);
  const std::vector<double> e0 = energies();

  // 2 Gyr with the default step: ~13 rotations at 2 Rd, ~5 at 5 Rd.
  gml::merger::PotentialField field;
  field.n = 1;
  field.galaxy[0] = &g;
  const double h = c.dt_myr;
  const int steps = static_cast<int>(2000.0 / h);
  for (int s = 0; s < steps; ++s) gml::merger::kick_drift(p, field, s == 0 ? 0.5 * h : h, h);
  gml::merger::kick_drift(p, field, 0.5 * h, 0.0);

  const DiskStats after = measure(p, g, spin);
  for (double f : {0.25, 0.5, 0.75, 0.9}) {
    const double r0 = quantile(before.radius, f), r1 = quantile(after.radius, f);
    EXPECT_NEAR(r1, r0, 0.03 * r0) << "radius quantile " << f;
  }
  EXPECT_NEAR(after.mean_abs_z, before.mean_abs_z, 0.15 * before.mean_abs_z);
  EXPECT_GT(after.mean_rotation, 0.95);
  EXPECT_GT(gml::merger::dot(after.spin_direction, spin), 0.999);
  // Leapfrog energy error per particle stays small.
  const std::vector<double> e1 = energies();
  std::vector<double> de(e0.size());
  for (size_t i = 0; i < e0.size(); ++i) de[i] = std::fabs((e1[i] - e0[i]) / e0[i]);
  std::sort(de.begin(), de.end());
  EXPECT_LT(de[de.size() / 2], 1e-3);
  EXPECT_LT(de[de.size() * 99 / 100], 1e-2);
}

}  // namespace
