// Real simulated galaxies (data/stars: EAGLE, IllustrisTNG, Magneticum,
// Horizon-AGN) read from each code's snapshot layout into physical units.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/common/error.h"
#include "core/flow/simspin_snapshot.h"
#include "core/flow/star_sources.h"
#include "core/flow/star_table.h"

namespace {

using gml::flow::read_particle_snapshot;
using gml::flow::StarTable;

const std::string kStars = std::string(GML_TEST_DATA) + "/stars";
const char* const kCodes[] = {"EAGLE", "IllustrisTNG", "Magneticum", "HorizonAGN"};

std::string file_of(const char* code) {
  return kStars + "/SimSpin_example_" + code + ".hdf5";
}

at::Tensor column(const StarTable& t, const std::string& name) {
  for (size_t j = 0; j < t.columns.size(); ++j)
    if (t.columns[j] == name) return t.data.select(1, static_cast<int64_t>(j));
  ADD_FAILURE() << "no column " << name;
  return at::zeros({t.data.size(0)}, at::kDouble);
}

TEST(SimSpinSnapshot, FlatLcdmAgeMatchesAstropy) {
  // astropy FlatLambdaCDM(H0=67.77, Om0=0.307, Tcmb0=0).age(z) at a = 1 and
  // at the EAGLE snapshot's a = 0.7868433; (70.4, 0.272) at a = 0.5.
  EXPECT_NEAR(gml::flow::flat_lcdm_age_gyr(1.0, 0.307, 0.6777), 13.8205, 2e-3);
  EXPECT_NEAR(gml::flow::flat_lcdm_age_gyr(0.7868433, 0.307, 0.6777), 10.5765, 2e-3);
  EXPECT_NEAR(gml::flow::flat_lcdm_age_gyr(0.5, 0.272, 0.704), 5.9711, 2e-3);
}

TEST(SimSpinSnapshot, EachCodeLoadsWithPhysicallySaneValues) {
  for (const char* code : kCodes) {
    SCOPED_TRACE(code);
    const std::string path = file_of(code);
    ASSERT_TRUE(gml::flow::is_particle_snapshot(path));
    StarTable t = read_particle_snapshot(path, 7);
    const std::vector<std::string> cols = {"x", "y", "z", "vx", "vy", "vz", "Z", "age", "mass"};
    ASSERT_EQ(t.columns, cols);
    // 2,000 particles, minus IllustrisTNG's wind particles, minus the 5%
    // beyond the radius cut.
    EXPECT_GE(t.data.size(0), 1890);
    EXPECT_LE(t.data.size(0), 1901);
    EXPECT_TRUE(at::isfinite(t.data).all().item<bool>());
    EXPECT_TRUE((t.galaxy == 7).all().item<bool>());

    const double mstar = column(t, "mass").sum().item<double>();
    EXPECT_GT(mstar, 1e8);
    EXPECT_LT(mstar, 1e12);
    const at::Tensor age = column(t, "age");
    EXPECT_GE(age.min().item<double>(), 0.0);
    EXPECT_LE(age.max().item<double>(), 13.8);
    EXPECT_GT(age.median().item<double>(), 0.5);  // not all newborn
    const at::Tensor r = at::stack({column(t, "x"), column(t, "y"), column(t, "z")}, 1).norm(2, 1);
    const double r_median = r.median().item<double>();
    // kpc-scale, neither pc nor Mpc: 0.7 (Magneticum) to ~80 kpc (the
    // IllustrisTNG example is a sparse subsample spread over ~200 ckpc/h).
    EXPECT_GT(r_median, 0.1);
    EXPECT_LT(r_median, 200.0);
    const at::Tensor v = at::stack({column(t, "vx"), column(t, "vy"), column(t, "vz")}, 1);
    EXPECT_GT(v.norm(2, 1).median().item<double>(), 10.0);
    EXPECT_LT(v.norm(2, 1).max().item<double>(), 3000.0);
    const at::Tensor z = column(t, "Z");
    EXPECT_GE(z.min().item<double>(), 0.0);
    EXPECT_GT(z.median().item<double>(), 1e-4);
    EXPECT_LT(z.median().item<double>(), 0.08);
    // Centred on the mass-weighted centre and mean velocity.
    const at::Tensor m = column(t, "mass");
    for (const char* c : {"x", "y", "z", "vx", "vy", "vz"}) {
      EXPECT_NEAR((column(t, c) * m).sum().item<double>() / mstar, 0.0, 1e-6) << c;
    }
    // Conditions from the stars: log10 M*, tau50 >= tau10, mean Z.
    ASSERT_EQ(t.galaxy_conditions.sizes(), (at::IntArrayRef{1, 4}));
    EXPECT_NEAR(t.galaxy_conditions[0][0].item<double>(), std::log10(mstar), 1e-9);
    EXPECT_GE(t.galaxy_conditions[0][1].item<double>(), t.galaxy_conditions[0][2].item<double>());
    EXPECT_GT(t.galaxy_conditions[0][3].item<double>(), 0.0);
    std::cout << "[ " << code << " ] stars " << t.data.size(0) << "  log10 M* " << std::log10(mstar)
              << "  median r " << r_median << " kpc  median age " << age.median().item<double>()
              << " Gyr  mean Z " << t.galaxy_conditions[0][3].item<double>() << "\n";
  }
}

TEST(SimSpinSnapshot, CleaningIsConfigurable) {
  gml::flow::SnapshotOptions keep_all;
  keep_all.radius_quantile = 1.0;
  EXPECT_EQ(read_particle_snapshot(file_of("EAGLE"), 0, keep_all).data.size(0), 2000);
  // IllustrisTNG: the four wind particles (formation time < 0) are not stars.
  EXPECT_EQ(read_particle_snapshot(file_of("IllustrisTNG"), 0, keep_all).data.size(0), 1996);
  gml::flow::SnapshotOptions tight;
  tight.radius_quantile = 0.5;
  const StarTable half = read_particle_snapshot(file_of("EAGLE"), 0, tight);
  EXPECT_NEAR(static_cast<double>(half.data.size(0)), 1000.0, 2.0);
  gml::flow::SnapshotOptions too_few;
  too_few.min_stars = 5000;
  try {
    read_particle_snapshot(file_of("EAGLE"), 0, too_few);
    FAIL() << "expected an error";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Format);
    EXPECT_NE(std::string(e.what()).find("minimum"), std::string::npos) << e.what();
  }
}

TEST(SimSpinSnapshot, ADirectoryOrAListGivesOneGalaxyPerFile) {
  const StarTable all = gml::flow::read_star_table(kStars);
  ASSERT_EQ(all.galaxy_ids.size(0), 4);
  EXPECT_TRUE(at::equal(all.galaxy_ids, at::arange(4, at::kLong)));
  EXPECT_EQ(all.galaxy_conditions.size(0), 4);
  const gml::flow::StarSet set = all.to_star_set();
  EXPECT_EQ(set.conditions.size(0), all.data.size(0));
  // Files sorted by name: EAGLE, HorizonAGN, IllustrisTNG, Magneticum.
  const StarTable eagle = read_particle_snapshot(file_of("EAGLE"));
  EXPECT_TRUE(at::allclose(all.galaxy_conditions[0], eagle.galaxy_conditions[0]));
  const StarTable two =
      gml::flow::read_star_table(file_of("Magneticum") + "," + file_of("EAGLE"), 500);
  ASSERT_EQ(two.galaxy_ids.size(0), 2);
  EXPECT_EQ(two.data.size(0), 1000);
  EXPECT_TRUE(at::allclose(two.galaxy_conditions[1], eagle.galaxy_conditions[0]));
}

TEST(SimSpinSnapshot, NonSnapshotsAndMissingFilesAreClearErrors) {
  EXPECT_FALSE(
      gml::flow::is_particle_snapshot(std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits"));
  EXPECT_FALSE(gml::flow::is_particle_snapshot(kStars + "/missing.hdf5"));
  try {
    gml::flow::read_star_table(file_of("EAGLE") + "," + kStars + "/missing.hdf5");
    FAIL() << "expected an error";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Io);
  }
}

}  // namespace

// A star table whose column declares 2^40 rows it does not store is refused
// before the rows are allocated (it used to ask for 8 TB).
TEST(StarTable, DeclaredRowsTheFileDoesNotStoreAreAFormatError) {
  const std::string path = ::testing::TempDir() + "/gml_declared_rows.h5";
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t g = H5Gcreate2(f, "stars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t rows = hsize_t{1} << 40;
  hid_t s = H5Screate_simple(1, &rows, nullptr);
  hid_t d = H5Dcreate2(g, "x", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Sclose(s);
  H5Gclose(g);
  H5Fclose(f);
  try {
    gml::flow::read_star_table(path);
    ADD_FAILURE() << "a star table declaring 2^40 unstored rows was read";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Format);
    EXPECT_NE(std::string(e.what()).find("declares 8796093022208 bytes but the file stores 0"),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}
