// FITS files of merger image sets: round trip, header keywords, atomic
// writes, and clear Format errors for files that are not such sets.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/merger/sim/simulator.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"

namespace {

namespace fs = std::filesystem;
using gml::merger::MergerImageSet;
using gml::merger::MergerSimConfig;

class MergerFits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gml_merger_fits_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static MergerSimConfig config() {
    MergerSimConfig c;
    c.mass_ratios = {0.25, 1.5};
    c.sims_per_ratio = 1;
    c.n_time_classes = 3;
    c.n_cameras = 2;
    c.image_size = 16;
    c.particles_per_disk = 200;
    c.t_end_myr = 300.0;
    c.dt_myr = 2.0;
    c.seed = 42;
    return c;
  }

  static void expect_format_error(const std::string& p) {
    try {
      gml::merger::read_merger_fits(p);
      ADD_FAILURE() << "read " << p;
    } catch (const gml::Error& e) {
      EXPECT_EQ(e.status(), gml::Status::Format) << e.what();
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
};

TEST_F(MergerFits, RoundTrip) {
  const MergerSimConfig c = config();
  const MergerImageSet s = gml::merger::simulate_mergers(c);
  const std::string p = path("set.fits");
  gml::merger::write_merger_fits(p, s, c);
  const MergerImageSet r = gml::merger::read_merger_fits(p);
  EXPECT_EQ(r.n, s.n);
  EXPECT_EQ(r.channels, 1);
  EXPECT_EQ(r.height, 16);
  EXPECT_EQ(r.width, 16);
  EXPECT_EQ(r.pixels, s.pixels);
  EXPECT_EQ(r.sim_id, s.sim_id);
  EXPECT_EQ(r.time_class, s.time_class);
  EXPECT_EQ(r.camera, s.camera);
  EXPECT_EQ(r.time_myr, s.time_myr);
  EXPECT_EQ(r.mass_ratio, s.mass_ratio);
  EXPECT_EQ(r.pericentre_kpc, s.pericentre_kpc);
  EXPECT_EQ(r.eccentricity, s.eccentricity);
  EXPECT_EQ(r.separation_kpc, s.separation_kpc);
  // Not merged within 300 Myr: NaN survives the round trip.
  for (size_t i = 0; i < s.merge_time_myr.size(); ++i) {
    EXPECT_EQ(std::isnan(r.merge_time_myr[i]), std::isnan(s.merge_time_myr[i]));
    if (!std::isnan(s.merge_time_myr[i])) {
      EXPECT_EQ(r.merge_time_myr[i], s.merge_time_myr[i]);
    }
  }
}

TEST_F(MergerFits, HeaderRecordsTheConfig) {
  const MergerSimConfig c = config();
  const MergerImageSet s = gml::merger::simulate_mergers(c);
  const std::string p = path("set.fits");
  gml::merger::write_merger_fits(p, s, c);
  auto f = gml::fits::FitsFile::open(p);
  const auto info = gml::fits::image_info(f);
  EXPECT_EQ(info.bitpix, -32);
  EXPECT_EQ(info.naxes, (std::vector<int64_t>{16, 16, 1, s.n}));
  EXPECT_EQ(gml::fits::read_key_string(f, "GMLKIND"), "MERGERS");
  EXPECT_EQ(gml::fits::read_key_int(f, "NCLASS"), 3);
  EXPECT_EQ(gml::fits::read_key_int(f, "NCAMERA"), 2);
  EXPECT_EQ(gml::fits::read_key_int(f, "SEED"), 42);
  EXPECT_EQ(gml::fits::read_key_string(f, "PROFILE"), "hernquist");
  EXPECT_DOUBLE_EQ(gml::fits::read_key_double(f, "FOVKPC"), c.fov_kpc);
  EXPECT_DOUBLE_EQ(gml::fits::read_key_double(f, "PSFFWHM"), c.psf_fwhm_pix);
  EXPECT_DOUBLE_EQ(gml::fits::read_key_double(f, "NOISE"), c.noise_sigma);
  EXPECT_EQ(gml::fits::read_key_string(f, "MRATIOS"), "0.25,1.5");
  EXPECT_TRUE(f.verify_checksum().ok());
  f.move_to("LABELS");
  EXPECT_TRUE(f.verify_checksum().ok());
  gml::fits::Table t(f);
  EXPECT_EQ(t.nrows(), s.n);
  EXPECT_EQ(t.column("TIME").unit, "Myr");
  EXPECT_EQ(t.column("SEPARATION").unit, "kpc");
  EXPECT_EQ(t.column("SIM_ID").type, gml::fits::ColumnType::Int32);
}

TEST_F(MergerFits, FailedWriteLeavesNothingAndSaysIo) {
  const MergerSimConfig c = config();
  const MergerImageSet s = gml::merger::simulate_mergers(c);
  const std::string p = path("missing_dir/set.fits");
  try {
    gml::merger::write_merger_fits(p, s, c);
    FAIL() << "wrote into a missing directory";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Io) << e.what();
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_THROW(gml::merger::write_merger_fits(path("empty.fits"), MergerImageSet{}, c), gml::Error);
  MergerImageSet broken = s;
  broken.camera.pop_back();
  EXPECT_THROW(gml::merger::write_merger_fits(path("broken.fits"), broken, c), gml::Error);
}

TEST_F(MergerFits, FileWithoutLabelsIsAFormatError) {
  const std::string p = path("nolabels.fits");
  auto f = gml::fits::FitsFile::create(p);
  std::vector<float> cube(8 * 8 * 2, 0.5f);
  gml::fits::write_image(f, {8, 8, 1, 2}, cube.data());
  gml::fits::write_key_string(f, "GMLKIND", "MERGERS");
  f.commit();
  expect_format_error(p);
}

TEST_F(MergerFits, OtherFilesAreFormatErrors) {
  // A FITS image that is not a merger set.
  const std::string plain = path("plain.fits");
  {
    auto f = gml::fits::FitsFile::create(plain);
    std::vector<float> img(8 * 8, 1.0f);
    gml::fits::write_image(f, {8, 8}, img.data());
    f.commit();
  }
  expect_format_error(plain);
  // Not FITS at all.
  const std::string text = path("text.fits");
  std::ofstream(text) << "this is not a FITS file\n";
  expect_format_error(text);
  // Labels with the wrong number of rows.
  const MergerSimConfig c = config();
  MergerImageSet s = gml::merger::simulate_mergers(c);
  const std::string short_labels = path("short.fits");
  {
    auto f = gml::fits::FitsFile::create(short_labels);
    gml::fits::write_image(f, {16, 16, 1, s.n}, s.pixels.data());
    gml::fits::write_key_string(f, "GMLKIND", "MERGERS");
    auto t = gml::fits::create_table(
        f, "LABELS", {{"SIM_ID", gml::fits::ColumnType::Int32, 1, "", std::nullopt}});
    const int64_t one = 0;
    t.write_column("SIM_ID", 0, 1, &one);
    f.commit();
  }
  expect_format_error(short_labels);
  // Missing file: an I/O error, not a format error.
  try {
    gml::merger::read_merger_fits(path("nope.fits"));
    FAIL();
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Io);
  }
}

}  // namespace
