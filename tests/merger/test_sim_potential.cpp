// The rigid galaxy potentials against scipy quadratures of their densities
// (tests/golden/merger/sim_golden.txt), and the softened force that the
// particle kernel integrates.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/merger/sim/particles.h"
#include "core/merger/sim/potential.h"
#include "test_sim_golden.h"

namespace {

using gml::merger::GalaxyModel;
using gml::merger::Profile;
using gml::merger::Sphere;
using gml::merger::testing::golden;

TEST(MergerPotential, GravitationalConstantMatchesAstropy) {
  EXPECT_NEAR(gml::merger::kGravity, golden("gravity")[0], 1e-9 * golden("gravity")[0]);
}

void check_profile(Profile p, const std::string& name) {
  const Sphere s{golden(name + "_mass")[0], golden(name + "_scale")[0]};
  const auto& r = golden(name + "_r");
  GalaxyModel g;
  g.profile = p;
  g.halo = s;
  g.bulge = {0.0, 1.0};
  for (size_t i = 0; i < r.size(); ++i) {
    SCOPED_TRACE(name + " r = " + std::to_string(r[i]));
    EXPECT_NEAR(gml::merger::sphere_density(p, s, r[i]), golden(name + "_rho")[i],
                1e-12 * golden(name + "_rho")[i]);
    EXPECT_NEAR(gml::merger::sphere_enclosed_mass(p, s, r[i]), golden(name + "_menc")[i],
                1e-9 * golden(name + "_menc")[i]);
    EXPECT_NEAR(gml::merger::sphere_potential(p, s, r[i]), golden(name + "_phi")[i],
                1e-9 * std::fabs(golden(name + "_phi")[i]));
    EXPECT_NEAR(g.circular_velocity(r[i]), golden(name + "_vc")[i], 1e-9 * golden(name + "_vc")[i]);
  }
}

TEST(MergerPotential, HernquistMatchesQuadrature) {
  check_profile(Profile::Hernquist, "hernquist");
}

TEST(MergerPotential, PlummerMatchesQuadrature) {
  check_profile(Profile::Plummer, "plummer");
}

TEST(MergerPotential, SoftenedForceIsGradientOfSoftenedPotential) {
  for (Profile p : {Profile::Hernquist, Profile::Plummer}) {
    GalaxyModel g;
    g.profile = p;
    g.halo = {50.0, 12.0};
    g.bulge = {1.0, 0.7};
    g.softening = 0.2;
    for (double r : {0.01, 0.1, 0.5, 2.0, 10.0, 50.0}) {
      const double h = 1e-5 * r;
      const double numeric = (g.softened_potential(r + h) - g.softened_potential(r - h)) / (2 * h);
      EXPECT_NEAR(g.softened_acceleration(r), numeric, 1e-6 * numeric) << "r = " << r;
    }
    // Far outside the softening, the softened force is the true one.
    const double r = 30.0;
    EXPECT_NEAR(g.softened_circular_velocity(r), g.circular_velocity(r),
                1e-4 * g.circular_velocity(r));
  }
}

TEST(MergerPotential, KernelAccelerationMatchesModel) {
  // Seven particles: one SIMD block of four and a scalar tail of three.
  for (Profile p : {Profile::Hernquist, Profile::Plummer}) {
    GalaxyModel g;
    g.profile = p;
    g.halo = {50.0, 12.0};
    g.bulge = {1.0, 0.7};
    gml::merger::ParticleSet ps;
    const gml::merger::Vec3 c{1.0, -2.0, 0.5};
    const double pos[7][3] = {{0.3, 0, 0}, {0, 5, 0},    {0, 0, -20}, {3, 4, 0},
                              {-1, 1, 1},  {0.01, 0, 0}, {40, -30, 2}};
    for (const auto& q : pos) {
      ps.x.push_back(static_cast<float>(c.x + q[0]));
      ps.y.push_back(static_cast<float>(c.y + q[1]));
      ps.z.push_back(static_cast<float>(c.z + q[2]));
      ps.vx.push_back(0.0f);
      ps.vy.push_back(0.0f);
      ps.vz.push_back(0.0f);
      ps.light.push_back(1.0f);
    }
    gml::merger::PotentialField field;
    field.n = 1;
    field.galaxy[0] = &g;
    field.centre[0] = c;
    std::vector<float> ax, ay, az;
    gml::merger::accelerations(ps, field, ax, ay, az);
    for (int i = 0; i < 7; ++i) {
      const double dx = ps.x[i] - c.x, dy = ps.y[i] - c.y, dz = ps.z[i] - c.z;
      const double r = std::sqrt(dx * dx + dy * dy + dz * dz);
      const double a = g.softened_acceleration(r);
      EXPECT_NEAR(ax[i], -a * dx / r, 2e-5 * a) << "particle " << i;
      EXPECT_NEAR(ay[i], -a * dy / r, 2e-5 * a) << "particle " << i;
      EXPECT_NEAR(az[i], -a * dz / r, 2e-5 * a) << "particle " << i;
    }
  }
}

TEST(MergerPotential, SecondGalaxyScalesWithMassRatio) {
  gml::merger::MergerSimConfig c;
  const GalaxyModel g1 = gml::merger::make_galaxy(c, 1.0);
  const GalaxyModel g2 = gml::merger::make_galaxy(c, 0.25);
  EXPECT_DOUBLE_EQ(g1.total_mass(), c.halo_mass + c.bulge_mass);
  EXPECT_NEAR(g2.total_mass(), 0.25 * g1.total_mass(), 1e-12);
  EXPECT_NEAR(g2.halo.scale, std::cbrt(0.25) * g1.halo.scale, 1e-12);
  // Equal mean density inside the scale radius.
  EXPECT_NEAR(g2.enclosed_mass(g2.halo.scale) / std::pow(g2.halo.scale, 3),
              g1.enclosed_mass(g1.halo.scale) / std::pow(g1.halo.scale, 3), 1e-12);
  EXPECT_EQ(gml::merger::parse_profile("plummer"), Profile::Plummer);
  EXPECT_THROW(gml::merger::parse_profile("nfw"), gml::Error);
}

}  // namespace
