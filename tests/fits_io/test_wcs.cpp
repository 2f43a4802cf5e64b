// Wcs behaviour beyond the golden grids: bad headers, non-finite and
// out-of-domain points, header output, cutout/resampled headers, threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/wcs.h"
#include "test_util.h"

namespace gml::fits {
namespace {

using test::Contains;
using test::sep_mas;

std::string wcs_card(const std::string& text) {
  std::string c = text;
  c.resize(80, ' ');
  return c;
}

Wcs load(const std::string& rel) {
  FitsFile f = FitsFile::open(test::data_path(rel));
  return Wcs::from_file(f);
}

TEST(Wcs, HeaderWithoutCelestialAxesIsWcsError) {
  const std::string spectral =
      wcs_card("NAXIS   =                    1") + wcs_card("CTYPE1  = 'FREQ    '") +
      wcs_card("CRVAL1  =           1.4E9") + wcs_card("CDELT1  =           1.0E6") +
      wcs_card("CRPIX1  =             1.0") + wcs_card("CUNIT1  = 'Hz      '");
  try {
    Wcs w(spectral);
    FAIL();
  } catch (const WcsError& e) {
    EXPECT_TRUE(Contains(e.what(), "no celestial WCS"));
    EXPECT_TRUE(Contains(e.what(), "FREQ"));
  }
  // A catalog's primary header has no WCS keywords at all.
  FitsFile f = FitsFile::open(test::data_path("sdss/gst_tests_small.fits"));
  try {
    Wcs::from_file(f);
    FAIL();
  } catch (const WcsError& e) {
    EXPECT_TRUE(Contains(e.what(), "no celestial WCS"));
  }
  // Invalid parameters (singular CD matrix) report WCSLIB's reason.
  const std::string singular =
      wcs_card("NAXIS   =                    2") + wcs_card("CTYPE1  = 'RA---TAN'") +
      wcs_card("CTYPE2  = 'DEC--TAN'") + wcs_card("CRVAL1  = 10.0") + wcs_card("CRVAL2  = 20.0") +
      wcs_card("CRPIX1  = 1.0") + wcs_card("CRPIX2  = 1.0") + wcs_card("CD1_1   = 1.0") +
      wcs_card("CD1_2   = 1.0") + wcs_card("CD2_1   = 1.0") + wcs_card("CD2_2   = 1.0");
  try {
    Wcs w(singular);
    FAIL();
  } catch (const WcsError& e) {
    EXPECT_NE(e.status(), 0);
    EXPECT_TRUE(Contains(e.what(), "ingular"));
  }
  EXPECT_THROW(Wcs{std::string(400, '\x01')}, WcsError);
  // An unterminated string value (which crashes WCSLIB 7.12's parser in IRAF
  // WAT cards) is refused up front.
  try {
    Wcs w(wcs_card("CTYPE1  = 'RA---TNX'") + wcs_card("CTYPE2  = 'DEC--TNX'") +
          wcs_card("WAT1_001= 'wtype=tnx axtype=ra lngcor = \"1. 4. 4. 2."));
    FAIL();
  } catch (const WcsError& e) {
    EXPECT_TRUE(Contains(e.what(), "unterminated"));
  }
}

TEST(Wcs, NonFiniteAndOutOfDomainPointsAreFlaggedPerPoint) {
  Wcs w = load("wcs/1904-66_TAN.fits");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> x = {10, nan, 50, inf, 96.5}, y = {20, 5, nan, 1, 96.5};
  std::vector<double> ra(5), dec(5);
  std::vector<int32_t> st(5, -1);
  EXPECT_EQ(w.pix2sky(x.data(), y.data(), 5, ra.data(), dec.data(), st.data()), 3u);
  EXPECT_EQ(st,
            (std::vector<int32_t>{kWcsOk, kWcsNonFinite, kWcsNonFinite, kWcsNonFinite, kWcsOk}));
  EXPECT_TRUE(std::isnan(ra[1]) && std::isnan(dec[2]) && std::isnan(ra[3]));
  // Good points are unaffected by bad neighbours.
  auto lone = w.pix2sky(10, 20);
  EXPECT_EQ(lone[0], ra[0]);
  EXPECT_EQ(lone[1], dec[0]);

  // The far side of the sky has no TAN projection.
  auto c = w.crval();
  std::vector<double> a = {c[0], std::fmod(c[0] + 180, 360), nan}, d = {c[1], -c[1], 0};
  std::vector<double> px(3), py(3);
  EXPECT_EQ(w.sky2pix(a.data(), d.data(), 3, px.data(), py.data(), st.data()), 2u);
  EXPECT_EQ(st[0], kWcsOk);
  EXPECT_EQ(st[1], kWcsInvalid);
  EXPECT_EQ(st[2], kWcsNonFinite);
  EXPECT_NEAR(px[0], w.crpix()[0], 1e-9);
  EXPECT_TRUE(std::isnan(px[1]) && std::isnan(py[1]));
  EXPECT_THROW(w.pix2sky(nullptr, y.data(), 1, ra.data(), dec.data()), std::invalid_argument);
  EXPECT_EQ(w.pix2sky(nullptr, nullptr, 0, nullptr, nullptr), 0u);
}

TEST(Wcs, AccessorsDescribeTheHeader) {
  Wcs hst = load("images/147246.0_150.416558_1.998697_masknoise.fits");
  EXPECT_NEAR(hst.pixel_scale_arcsec(), 0.03, 1e-6);
  EXPECT_EQ(hst.projection(), "TAN");
  EXPECT_FALSE(hst.has_distortion());
  auto sky = hst.pix2sky(272, 272);
  EXPECT_LT(sep_mas(sky[0], sky[1], 150.416558, 1.998698), 3.6e3 * 0.001 * 1000);

  Wcs sdss = load("images/sdss_g.fits.gz");
  EXPECT_NEAR(sdss.pixel_scale_arcsec(), 1.188, 1e-3);
  EXPECT_EQ(sdss.radesys(), "ICRS");
  auto cd = sdss.cd();
  EXPECT_NEAR(3600 * std::sqrt(std::fabs(cd[0] * cd[3] - cd[1] * cd[2])), sdss.pixel_scale_arcsec(),
              1e-12);

  EXPECT_TRUE(load("wcs/sipsample.fits").has_distortion());
  EXPECT_TRUE(load("wcs/tpv.fits").has_distortion());
  EXPECT_TRUE(load("wcs/tnx.fits").has_distortion());
  EXPECT_EQ(load("wcs/zpx.fits").projection(), "ZPN");
  EXPECT_EQ(load("wcs/1904-66_HPX.fits").projection(), "HPX");
  EXPECT_EQ(load("wcs/DECam_00154912_12_header.fits").naxis(), 2);
}

const char* const kAllFiles[] = {"wcs/1904-66_ARC.fits", "wcs/1904-66_HPX.fits",
                                 "wcs/1904-66_STG.fits", "wcs/1904-66_TAN.fits",
                                 "wcs/1904-66_TSC.fits", "wcs/1904-66_ZEA.fits",
                                 "wcs/1904-66_ZPN.fits", "wcs/DECam_00154912_12_header.fits",
                                 "wcs/sipsample.fits",   "wcs/tnx.fits",
                                 "wcs/tpv.fits",         "wcs/zpx.fits",
                                 "images/sdss_g.fits.gz"};

// wcshdo output, including distortions, must describe the same WCS.
TEST(Wcs, ToHeaderReparsesToTheSameTransform) {
  for (const char* rel : kAllFiles) {
    SCOPED_TRACE(rel);
    Wcs w = load(rel);
    Wcs back(w.to_header());
    EXPECT_EQ(back.has_distortion(), w.has_distortion());
    double worst = 0;
    for (double x = 1; x <= 200; x += 19) {
      for (double y = 1; y <= 200; y += 23) {
        auto a = w.pix2sky(x, y), b = back.pix2sky(x, y);
        worst = std::max(worst, sep_mas(a[0], a[1], b[0], b[1]));
      }
    }
    EXPECT_LE(worst, 0.01);
  }
}

// cutout_header(x0, y0, s): stamp pixel u sits at original x0-0.5+(u-0.5)s.
TEST(Wcs, CutoutAndResampledHeadersKeepDistortions) {
  for (const char* rel : kAllFiles) {
    for (double scale : {1.0, 2.0, 0.5, 3.0}) {
      SCOPED_TRACE(std::string(rel) + " scale " + std::to_string(scale));
      Wcs w = load(rel);
      const double x0 = 37, y0 = 61;
      Wcs stamp(w.cutout_header(x0, y0, scale));
      double worst = 0, worst_pix = 0;
      for (double u = 1; u <= 40; u += 3.5) {
        for (double v = 1; v <= 40; v += 4.5) {
          const double x = x0 - 0.5 + (u - 0.5) * scale, y = y0 - 0.5 + (v - 0.5) * scale;
          auto a = w.pix2sky(x, y), b = stamp.pix2sky(u, v);
          worst = std::max(worst, sep_mas(a[0], a[1], b[0], b[1]));
          auto back = stamp.sky2pix(a[0], a[1]);
          worst_pix = std::max({worst_pix, std::fabs(back[0] - u), std::fabs(back[1] - v)});
        }
      }
      EXPECT_LE(worst, 0.1);
      EXPECT_LE(worst_pix, 1e-6);
      EXPECT_NEAR(stamp.pixel_scale_arcsec(), w.pixel_scale_arcsec() * scale,
                  1e-9 * w.pixel_scale_arcsec() * scale);
    }
  }
  Wcs w = load("wcs/1904-66_TAN.fits");
  EXPECT_THROW(w.cutout_header(1, 1, 0), std::invalid_argument);
  EXPECT_THROW(w.cutout_header(std::nan(""), 1, 1), std::invalid_argument);
}

// One clone per thread: concurrent transforms give identical results.
TEST(Wcs, ClonesWorkConcurrently) {
  Wcs base = load("wcs/tpv.fits");
  const size_t n = 20000;
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = 1 + static_cast<double>(i % 512);
    y[i] = 1 + static_cast<double>(i / 40);
  }
  std::vector<double> ra0(n), dec0(n);
  base.pix2sky(x.data(), y.data(), n, ra0.data(), dec0.data());
  std::vector<std::vector<double>> ra(4, std::vector<double>(n)), dec = ra;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t, w = base.clone()]() mutable {
      for (int rep = 0; rep < 3; ++rep) {
        w.pix2sky(x.data(), y.data(), n, ra[t].data(), dec[t].data());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(ra[t], ra0);
    EXPECT_EQ(dec[t], dec0);
  }
  Wcs moved = std::move(base);
  EXPECT_EQ(moved.pix2sky(x[7], y[7])[0], ra0[7]);
  EXPECT_THROW(base.naxis(), std::logic_error);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace gml::fits
