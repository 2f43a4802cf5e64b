// Image HDUs: every BITPIX with BSCALE/BZERO/BLANK, sections, windows past
// the edge, cubes, and float round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "test_util.h"

namespace gml::fits {
namespace {

struct BitpixCase {
  int bitpix;
  int datatype;  // CFITSIO type of the raw values we write
  double bscale, bzero;
  bool has_blank;
};

// Writes a 5x3 image of raw stored values 0..14 (pixel 7 = BLANK for
// integer types, NaN for float types) with the given scaling keywords.
void write_raw(const std::string& path, const BitpixCase& c) {
  fitsfile* fp = nullptr;
  int status = 0;
  fits_create_diskfile(&fp, path.c_str(), &status);
  long naxes[2] = {5, 3};
  fits_create_img(fp, c.bitpix, 2, naxes, &status);
  fits_write_key_dbl(fp, "BSCALE", c.bscale, -17, "", &status);
  fits_write_key_dbl(fp, "BZERO", c.bzero, -17, "", &status);
  if (c.has_blank) {
    long long blank = 3;
    fits_write_key(fp, TLONGLONG, "BLANK", &blank, "", &status);
  }
  // Write the stored values verbatim, bypassing CFITSIO's scaling.
  fits_set_imgnull(fp, 0, &status);
  fits_set_bscale(fp, 1.0, 0.0, &status);
  std::vector<double> raw(15);
  for (int i = 0; i < 15; ++i) raw[i] = i;
  if (c.has_blank) raw[7] = 3;
  if (c.bitpix < 0) raw[7] = std::numeric_limits<double>::quiet_NaN();
  fits_write_img(fp, TDOUBLE, 1, 15, raw.data(), &status);
  fits_close_file(fp, &status);
  ASSERT_EQ(status, 0);
}

class ImageBitpix : public ::testing::TestWithParam<BitpixCase> {};

TEST_P(ImageBitpix, ScalingAndBlankToNaN) {
  const BitpixCase c = GetParam();
  test::ScratchDir dir;
  const std::string path = dir.file("img.fits");
  write_raw(path, c);
  FitsFile f = FitsFile::open(path);
  ImageInfo info = image_info(f);
  EXPECT_EQ(info.bitpix, c.bitpix);
  EXPECT_EQ(info.naxes, (std::vector<int64_t>{5, 3}));
  auto d = read_image_f64(f);
  auto s = read_image_f32(f);
  ASSERT_EQ(d.size(), 15u);
  for (int i = 0; i < 15; ++i) {
    if (i == 7) {
      EXPECT_TRUE(std::isnan(d[i]));
      EXPECT_TRUE(std::isnan(s[i]));
      continue;
    }
    const double expect = (c.has_blank && i == 3) ? NAN : i * c.bscale + c.bzero;
    if (std::isnan(expect)) {
      // Stored value 3 is the BLANK value: it must read as undefined too.
      EXPECT_TRUE(std::isnan(d[i])) << i;
    } else {
      EXPECT_DOUBLE_EQ(d[i], expect) << i;
      EXPECT_FLOAT_EQ(s[i], static_cast<float>(expect)) << i;
    }
  }
  // Section (1-based inclusive) = row 2 (y = 2), x = 2..4.
  std::vector<double> sec(3);
  read_section(f, {2, 2}, {4, 2}, sec.data());
  EXPECT_DOUBLE_EQ(sec[0], 6 * c.bscale + c.bzero);
  EXPECT_TRUE(std::isnan(sec[1]));  // stored index 7
  EXPECT_DOUBLE_EQ(sec[2], 8 * c.bscale + c.bzero);
}

INSTANTIATE_TEST_SUITE_P(AllBitpix, ImageBitpix,
                         ::testing::Values(BitpixCase{8, TBYTE, 2.0, -100.0, true},
                                           BitpixCase{16, TSHORT, 0.5, 32768.0, true},
                                           BitpixCase{32, TINT, 1e-3, 5.0, true},
                                           BitpixCase{64, TLONGLONG, 3.0, -7.0, true},
                                           BitpixCase{-32, TFLOAT, 1.0, 0.0, false},
                                           BitpixCase{-64, TDOUBLE, 2.0, 1.0, false}),
                         [](const ::testing::TestParamInfo<BitpixCase>& p) {
                           int b = p.param.bitpix;
                           return (b < 0 ? "m" : "p") + std::to_string(std::abs(b));
                         });

TEST(ImageIo, FloatRoundTripCubesAndWindows) {
  test::ScratchDir dir;
  const std::string path = dir.file("cube.fits");
  const int64_t nx = 6, ny = 4, nz = 3, nw = 2;
  std::vector<float> cube(nx * ny * nz);
  for (size_t i = 0; i < cube.size(); ++i) cube[i] = static_cast<float>(i) * 0.5f;
  cube[5] = std::numeric_limits<float>::quiet_NaN();
  std::vector<double> hyper(nx * ny * nz * nw);
  for (size_t i = 0; i < hyper.size(); ++i) hyper[i] = 1e300 / (1.0 + static_cast<double>(i));
  {
    FitsFile f = FitsFile::create(path);
    write_image(f, {nx, ny, nz}, cube.data());
    write_image(f, {nx, ny, nz, nw}, hyper.data());
    EXPECT_THROW(write_image(f, {nx, 0}, cube.data()), std::invalid_argument);
    f.commit();
  }
  FitsFile f = FitsFile::open(path);
  EXPECT_EQ(f.num_hdus(), 2);
  auto back = read_image_f32(f);
  ASSERT_EQ(back.size(), cube.size());
  for (size_t i = 0; i < cube.size(); ++i) {
    if (i == 5) {
      EXPECT_TRUE(std::isnan(back[i]));
    } else {
      EXPECT_EQ(back[i], cube[i]);
    }
  }
  // Plane 2 of the cube.
  auto plane = read_plane_f32(f, 2);
  ASSERT_EQ(plane.size(), static_cast<size_t>(nx * ny));
  EXPECT_EQ(plane[0], cube[2 * nx * ny]);
  EXPECT_THROW(read_plane_f32(f, 3), std::invalid_argument);

  // A 4x4 window starting at (-1, 3): columns x = -1, 0 and row y = 5, 6 are
  // off the image and must be NaN; the rest is image data.
  std::vector<float> win(16);
  EXPECT_EQ(read_window(f, -1, 3, 4, 4, win.data(), 1), 4);
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 4; ++i) {
      const int64_t x = -1 + i, y = 3 + j;
      const float v = win[j * 4 + i];
      if (x < 1 || y > ny) {
        EXPECT_TRUE(std::isnan(v));
      } else {
        EXPECT_EQ(v, cube[nx * ny + (y - 1) * nx + (x - 1)]);
      }
    }
  }
  EXPECT_EQ(read_window(f, 100, 100, 4, 4, win.data()), 0);  // wholly off: all NaN
  for (float v : win) EXPECT_TRUE(std::isnan(v));

  EXPECT_THROW(read_section(f, {1, 1, 1}, {7, 1, 1}, win.data()), std::invalid_argument);
  EXPECT_THROW(read_section(f, {1, 1}, {2, 2}, win.data()), std::invalid_argument);

  f.move_to(2);
  ImageInfo info = image_info(f);
  EXPECT_EQ(info.bitpix, -64);
  EXPECT_EQ(info.naxes, (std::vector<int64_t>{nx, ny, nz, nw}));
  EXPECT_EQ(read_image_f64(f), hyper);
}

TEST(ImageIo, EmptyAxisIsAnErrorNotACrash) {
  test::ScratchDir dir;
  const std::string path = dir.file("empty.fits");
  fitsfile* fp = nullptr;
  int status = 0;
  long naxes[2] = {0, 5};
  fits_create_diskfile(&fp, path.c_str(), &status);
  fits_create_img(fp, FLOAT_IMG, 2, naxes, &status);
  fits_close_file(fp, &status);
  ASSERT_EQ(status, 0);
  FitsFile f = FitsFile::open(path);
  EXPECT_EQ(image_info(f).num_pixels(), 0);
  EXPECT_TRUE(read_image_f32(f).empty());
  std::vector<float> win(4);
  EXPECT_THROW(read_window(f, 1, 1, 2, 2, win.data()), std::invalid_argument);
}

TEST(ImageIo, RealGzipImageAndSectionSyntax) {
  FitsFile f = FitsFile::open(test::data_path("images/sdss_r.fits.gz"));
  ImageInfo info = image_info(f);
  EXPECT_EQ(info.naxes, (std::vector<int64_t>{682, 496}));
  auto all = read_image_f32(f);
  // CFITSIO's image-section syntax gives the same pixels as read_section.
  FitsFile s = FitsFile::open(test::data_path("images/sdss_r.fits.gz") + "[101:110,201:205]");
  auto sub = read_image_f32(s);
  ASSERT_EQ(sub.size(), 50u);
  std::vector<float> sec(50);
  read_section(f, {101, 201}, {110, 205}, sec.data());
  EXPECT_EQ(sub, sec);
  EXPECT_EQ(sec[0], all[200 * 682 + 100]);
  EXPECT_EQ(read_key_string(f, "BUNIT"), "nanomaggy");
}

}  // namespace
}  // namespace gml::fits
