// The built-in galaxy generator: the conditions measured back from its stars
// agree with the conditions that drove it, and the physics it documents
// (docs/flow_generator.md) shows up in the stars.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/common/error.h"
#include "core/flow/galaxy_generator.h"

namespace {

using gml::flow::GalaxyConditions;
namespace gf = gml::flow;

at::Tensor col(const at::Tensor& stars, int64_t c) {
  return stars.select(1, c);
}

TEST(GalaxyGenerator, MeasuredConditionsMatchTheDrivingConditions) {
  const GalaxyConditions cases[] = {
      {10.8, 6.0, 2.0, 0.015},  // Milky-Way-like
      {9.6, 3.0, 0.8, 0.004},   // young dwarf
      {11.4, 10.5, 7.0, 0.03},  // old, massive, metal-rich
      {10.2, 8.0, 1.0, 0.009},  // extended star formation
  };
  uint64_t seed = 100;
  for (const auto& c : cases) {
    const at::Tensor stars = gf::generate_galaxy(c, 200000, at::detail::createCPUGenerator(seed++));
    const GalaxyConditions m = gf::measure_conditions(stars);
    std::cout << "[ measure ] logM " << c.log10_mstar << "->" << m.log10_mstar << "  tau50 "
              << c.tau50 << "->" << m.tau50 << "  tau10 " << c.tau10 << "->" << m.tau10 << "  Z "
              << c.mean_z << "->" << m.mean_z << "\n";
    EXPECT_NEAR(m.tau50, c.tau50, 0.02 * c.tau50);
    EXPECT_NEAR(m.tau10, c.tau10, 0.02 * c.tau10);
    EXPECT_NEAR(m.mean_z, c.mean_z, 0.02 * c.mean_z);
    EXPECT_NEAR(m.log10_mstar, c.log10_mstar, 0.05);
  }
}

TEST(GalaxyGenerator, IsDeterministicForASeedAndInRange) {
  const GalaxyConditions c{10.5, 5.0, 1.5, 0.012};
  const at::Tensor a = gf::generate_galaxy(c, 5000, at::detail::createCPUGenerator(1));
  const at::Tensor b = gf::generate_galaxy(c, 5000, at::detail::createCPUGenerator(1));
  const at::Tensor other = gf::generate_galaxy(c, 5000, at::detail::createCPUGenerator(2));
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, other));
  EXPECT_EQ(a.sizes(), at::IntArrayRef({5000, gf::kNumStarColumns}));
  EXPECT_TRUE(at::isfinite(a).all().item<bool>());
  EXPECT_TRUE((col(a, gf::kColAge) > 0).all().item<bool>());
  EXPECT_TRUE((col(a, gf::kColAge) < gf::kUniverseAgeGyr).all().item<bool>());
  EXPECT_TRUE((col(a, gf::kColZ) > 0).all().item<bool>());
  // [M/H] from Z equals [Fe/H] plus the alpha correction of [O/Fe].
  const at::Tensor mh = at::log10(col(a, gf::kColZ) / gf::kSolarZ);
  const at::Tensor rhs =
      col(a, gf::kColFeH) + at::log10(0.694 * at::pow(10.0, col(a, gf::kColOFe)) + 0.306);
  EXPECT_LE((mh - rhs).abs().max().item<double>(), 1e-9);
}

TEST(GalaxyGenerator, ShowsDiskRotationHeatingAndChemistry) {
  const GalaxyConditions c{10.8, 6.0, 2.0, 0.015};
  const gf::GalaxyStructure s = gf::galaxy_structure(c);
  const at::Tensor stars = gf::generate_galaxy(c, 100000, at::detail::createCPUGenerator(3));
  const at::Tensor age = col(stars, gf::kColAge);
  const at::Tensor x = col(stars, gf::kColX), y = col(stars, gf::kColY);
  const at::Tensor radius = at::sqrt(x * x + y * y);
  const at::Tensor v_phi = (x * col(stars, gf::kColVy) - y * col(stars, gf::kColVx)) / radius;
  const at::Tensor young = age<2.0, old = age> 9.0;
  const at::Tensor outer = (radius > 2 * s.disk_scale_length) & (radius < 4 * s.disk_scale_length);

  // Young disk stars rotate at close to v_c; old stars lag and are hotter.
  const double v_young = v_phi.index({young & outer}).mean().item<double>();
  const double v_old = v_phi.index({old & outer}).mean().item<double>();
  EXPECT_NEAR(v_young, s.circular_velocity, 0.05 * s.circular_velocity);
  EXPECT_LT(v_old, v_young - 5.0);
  const double sz_young = col(stars, gf::kColVz).index({young & outer}).std().item<double>();
  const double sz_old = col(stars, gf::kColVz).index({old & outer}).std().item<double>();
  EXPECT_GT(sz_old, 1.5 * sz_young);
  const double h_young =
      col(stars, gf::kColZPos).index({young & outer}).abs().mean().item<double>();
  const double h_old = col(stars, gf::kColZPos).index({old & outer}).abs().mean().item<double>();
  EXPECT_GT(h_old, 2.0 * h_young);

  // Age-metallicity relation: young stars are more metal-rich.
  EXPECT_GT(col(stars, gf::kColFeH).index({young}).mean().item<double>(),
            col(stars, gf::kColFeH).index({old}).mean().item<double>() + 0.2);
}

TEST(GalaxyGenerator, OxygenToIronFollowsTheKnee) {
  // A metal-poor dwarf populates the alpha-enhanced plateau, a metal-rich
  // giant the solar-ratio branch, and an intermediate galaxy the decline.
  const at::Tensor poor =
      gf::generate_galaxy({9.6, 8.0, 2.0, 0.0012}, 30000, at::detail::createCPUGenerator(7));
  const at::Tensor middle =
      gf::generate_galaxy({10.2, 6.0, 2.0, 0.006}, 30000, at::detail::createCPUGenerator(9));
  const at::Tensor rich =
      gf::generate_galaxy({11.4, 6.0, 2.0, 0.04}, 30000, at::detail::createCPUGenerator(8));
  const at::Tensor stars = at::cat({poor, middle, rich});
  const at::Tensor feh = col(stars, gf::kColFeH), ofe = col(stars, gf::kColOFe);
  const at::Tensor low = feh<-1.1, high = feh> 0.35, mid = (feh > -0.6) & (feh < -0.2);
  ASSERT_GT(low.sum().item<int64_t>(), 1000);
  ASSERT_GT(high.sum().item<int64_t>(), 1000);
  ASSERT_GT(mid.sum().item<int64_t>(), 1000);
  EXPECT_NEAR(ofe.index({low}).mean().item<double>(), 0.4, 0.02);
  EXPECT_NEAR(ofe.index({high}).mean().item<double>(), 0.0, 0.02);
  const double ofe_mid = ofe.index({mid}).mean().item<double>();
  EXPECT_GT(ofe_mid, 0.1);
  EXPECT_LT(ofe_mid, 0.3);
}

TEST(GalaxyGenerator, BulgeFractionFollowsTheStructure) {
  const GalaxyConditions c{11.2, 9.0, 4.0, 0.02};
  const gf::GalaxyStructure s = gf::galaxy_structure(c);
  const at::Tensor stars = gf::generate_galaxy(c, 100000, at::detail::createCPUGenerator(4));
  // Half of a Plummer sphere lies inside 1.305 a; the exponential disk puts
  // only ~3% of its stars there.
  const at::Tensor r3 = at::sqrt(col(stars, gf::kColX).pow(2) + col(stars, gf::kColY).pow(2) +
                                 col(stars, gf::kColZPos).pow(2));
  const double plummer_half_mass = 1.3048 * s.bulge_scale_radius;
  const double inner = (r3 < plummer_half_mass).to(at::kDouble).mean().item<double>();
  EXPECT_GT(inner, 0.45 * s.bulge_fraction);
  EXPECT_LT(inner, 0.5 * s.bulge_fraction + 0.05);
}

TEST(GalaxyGenerator, TrainingSetRepeatsConditionsPerStar) {
  auto gen = at::detail::createCPUGenerator(5);
  const at::Tensor conds = gf::random_conditions(8, gen);
  ASSERT_EQ(conds.sizes(), at::IntArrayRef({8, gf::kNumConditions}));
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_NO_THROW(GalaxyConditions::from_tensor(conds[i]).validate());
  }
  auto [data, c] = gf::make_training_set(conds, 50, gen);
  EXPECT_EQ(data.sizes(), at::IntArrayRef({400, gf::kNumStarColumns}));
  EXPECT_TRUE(at::equal(c.narrow(0, 50, 50), conds[1].unsqueeze(0).expand({50, 4})));
}

TEST(GalaxyGenerator, RejectsUnphysicalConditions) {
  auto gen = at::detail::createCPUGenerator(6);
  EXPECT_THROW(gf::generate_galaxy({10.5, 2.0, 3.0, 0.01}, 10, gen), gml::Error);  // tau10 > tau50
  EXPECT_THROW(gf::generate_galaxy({10.5, 14.0, 3.0, 0.01}, 10, gen), gml::Error);
  EXPECT_THROW(gf::generate_galaxy({10.5, 5.0, 3.0, -0.01}, 10, gen), gml::Error);
  EXPECT_THROW(gf::generate_galaxy({20.0, 5.0, 3.0, 0.01}, 10, gen), gml::Error);
}

}  // namespace
