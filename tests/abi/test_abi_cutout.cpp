// WCS and cutouts through libgalaxyml.so: astropy Cutout2D and all_pix2world
// golden values, per-stamp flags, resampling with its WCS, FITS output and
// cube read-back, error statuses and atomic output.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

const std::string kData = GML_TEST_DATA;
const std::string kGolden = std::string(GML_GOLDEN) + "/fits/";
const std::string kCutoutR = kData + "/images/sdss_r.fits.gz";

nlohmann::json cutout_load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

template <typename T>
std::vector<T> load_bin(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

double sep_mas(double ra1, double dec1, double ra2, double dec2) {
  const double d2r = M_PI / 180.0;
  const double s = std::sin((dec2 - dec1) * d2r / 2), t = std::sin((ra2 - ra1) * d2r / 2);
  const double h = s * s + std::cos(dec1 * d2r) * std::cos(dec2 * d2r) * t * t;
  return 2 * std::asin(std::sqrt(std::min(1.0, h))) / d2r * 3.6e6;
}

std::string scratch(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "gml_abi_cutout_" + std::to_string(getpid());
  mkdir(dir.c_str(), 0755);
  return dir + "/" + name;
}

// Bit-level float equality that treats NaN == NaN.
bool same(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

struct Golden {
  nlohmann::json doc;
  std::vector<float> stamps;  // (20, 64, 64)
  std::vector<double> px, py;
};

Golden golden_cutouts() {
  Golden g;
  g.doc = cutout_load_json(kGolden + "cutouts.json");
  g.stamps = load_bin<float>(kGolden + "cutouts_sdss_r.bin");
  for (const auto& c : g.doc["cutouts"]) {
    g.px.push_back(c["position"][0]);
    g.py.push_back(c["position"][1]);
  }
  return g;
}

// Compares one extraction with the astropy stamps; returns mismatching pixels.
int64_t compare_with_golden(const Golden& g, const std::vector<float>& got,
                            const std::vector<int32_t>& flags) {
  int64_t bad = 0;
  const size_t n = g.px.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& c = g.doc["cutouts"][i];
    for (size_t k = 0; k < 64 * 64; ++k) {
      if (!same(got[i * 4096 + k], g.stamps[i * 4096 + k])) ++bad;
    }
    const bool overlaps = c["overlaps"];
    const int nan_count = c["nan_count"];
    EXPECT_EQ((flags[i] & GML_CUTOUT_OFF_IMAGE) != 0, !overlaps) << "stamp " << i;
    EXPECT_EQ((flags[i] & GML_CUTOUT_PARTIAL) != 0, overlaps && nan_count > 0) << "stamp " << i;
  }
  return bad;
}

gml_cutout_options pixel_options() {
  gml_cutout_options o;
  gml_cutout_options_default(&o);
  o.position_type = GML_CUTOUT_PIXEL;
  return o;
}

}  // namespace

TEST(AbiCutout, PixelPositionsMatchAstropyCutout2DExactly) {
  const Golden g = golden_cutouts();
  const int64_t n = static_cast<int64_t>(g.px.size());
  const char* paths[] = {kCutoutR.c_str()};
  gml_cutout_options o = pixel_options();
  int64_t h = 0, w = 0;
  ASSERT_EQ(gml_cutouts_shape(paths, 1, &o, &h, &w), GML_OK) << gml_last_error();
  ASSERT_EQ(h, 64);
  ASSERT_EQ(w, 64);
  std::vector<float> stamps(static_cast<size_t>(n * h * w));
  std::vector<uint8_t> mask(stamps.size());
  std::vector<int32_t> flags(static_cast<size_t>(n), -1);
  ASSERT_EQ(gml_cutouts_extract(nullptr, paths, 1, g.px.data(), g.py.data(), n, &o, stamps.data(),
                                stamps.size(), mask.data(), flags.data()),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(compare_with_golden(g, stamps, flags), 0);
  // With a NaN fill the mask is exactly the NaN layout of astropy's stamps.
  for (size_t k = 0; k < stamps.size(); ++k) {
    ASSERT_EQ(mask[k], std::isnan(g.stamps[k]) ? 1 : 0) << "pixel " << k;
  }
}

TEST(AbiCutout, SkyPositionsMatchAstropyCutout2DExactly) {
  const Golden g = golden_cutouts();
  const int64_t n = static_cast<int64_t>(g.px.size());
  gml_wcs* wcs = nullptr;
  ASSERT_EQ(gml_wcs_open(kCutoutR.c_str(), nullptr, &wcs), GML_OK) << gml_last_error();
  std::vector<double> ra(n), dec(n);
  ASSERT_EQ(gml_wcs_pix2sky(wcs, g.px.data(), g.py.data(), n, 0, ra.data(), dec.data(), nullptr),
            GML_OK);
  gml_wcs_free(wcs);

  const char* paths[] = {kCutoutR.c_str()};
  gml_cutout_options o;
  gml_cutout_options_default(&o);
  std::vector<float> stamps(static_cast<size_t>(n * 4096));
  std::vector<int32_t> flags(static_cast<size_t>(n));
  ASSERT_EQ(gml_cutouts_extract(nullptr, paths, 1, ra.data(), dec.data(), n, &o, stamps.data(),
                                stamps.size(), nullptr, flags.data()),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(compare_with_golden(g, stamps, flags), 0);
}

TEST(AbiCutout, StampWcsMapsLikeAstropyCutoutWcs) {
  const Golden g = golden_cutouts();
  const int64_t n = static_cast<int64_t>(g.px.size());
  const char* paths[] = {kCutoutR.c_str()};
  gml_cutout_options o = pixel_options();
  o.write_mask = 0;  // stamp i is then extension i + 1
  const std::string out = scratch("golden_stamps.fits");
  std::vector<int32_t> flags(static_cast<size_t>(n));
  ASSERT_EQ(gml_cutouts_write(nullptr, paths, 1, g.px.data(), g.py.data(), n, &o, out.c_str(),
                              flags.data()),
            GML_OK)
      << gml_last_error();
  double worst = 0;
  int checked = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto& c = g.doc["cutouts"][static_cast<size_t>(i)];
    if (!c["overlaps"]) continue;
    gml_wcs* wcs = nullptr;
    const std::string hdu = std::to_string(i + 1);
    ASSERT_EQ(gml_wcs_open(out.c_str(), hdu.c_str(), &wcs), GML_OK) << gml_last_error();
    for (size_t k = 0; k < c["stamp_pixels_0based"].size(); ++k) {
      const double x = c["stamp_pixels_0based"][k][0], y = c["stamp_pixels_0based"][k][1];
      double ra = 0, dec = 0;
      ASSERT_EQ(gml_wcs_pix2sky(wcs, &x, &y, 1, 0, &ra, &dec, nullptr), GML_OK);
      worst = std::max(worst, sep_mas(ra, dec, c["stamp_world"][k][0], c["stamp_world"][k][1]));
      ++checked;
    }
    gml_wcs_free(wcs);
  }
  EXPECT_EQ(checked, 19 * 6);
  std::printf("stamp WCS vs astropy Cutout2D.wcs: worst %.3g mas\n", worst);
  EXPECT_LE(worst, 1.0) << "worst separation " << worst << " mas";
  std::remove(out.c_str());
}

class AbiWcsGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(AbiWcsGolden, Pix2SkyMatchesAstropyAndRoundTrips) {
  const auto doc = cutout_load_json(kGolden + "wcs.json");
  nlohmann::json entry;
  for (const auto& e : doc["wcs_grids"]) {
    if (e["file"] == GetParam()) entry = e;
  }
  ASSERT_FALSE(entry.is_null());
  const int grid = entry["grid"];
  const double nx = entry["nx"], ny = entry["ny"];
  const int64_t n = static_cast<int64_t>(grid) * grid;
  std::vector<double> x(n), y(n), ra(n), dec(n), x2(n), y2(n);
  for (int j = 0; j < grid; ++j) {
    for (int i = 0; i < grid; ++i) {
      x[j * grid + i] = i == grid - 1 ? nx : 1.0 + i * (nx - 1) / (grid - 1);
      y[j * grid + i] = j == grid - 1 ? ny : 1.0 + j * (ny - 1) / (grid - 1);
    }
  }
  const auto ref = load_bin<double>(kGolden + entry["bin"].get<std::string>());
  ASSERT_EQ(ref.size(), static_cast<size_t>(2 * n));
  gml_wcs* wcs = nullptr;
  ASSERT_EQ(gml_wcs_open((kData + "/" + GetParam()).c_str(), nullptr, &wcs), GML_OK)
      << gml_last_error();
  std::vector<int32_t> st(n, -1);
  ASSERT_EQ(gml_wcs_pix2sky(wcs, x.data(), y.data(), n, 1, ra.data(), dec.data(), st.data()),
            GML_OK);
  double worst = 0, worst_pix = 0;
  for (int64_t k = 0; k < n; ++k) {
    ASSERT_EQ(st[k], GML_WCS_POINT_OK);
    worst = std::max(worst, sep_mas(ra[k], dec[k], ref[k], ref[n + k]));
  }
  ASSERT_EQ(gml_wcs_sky2pix(wcs, ra.data(), dec.data(), n, 1, x2.data(), y2.data(), st.data()),
            GML_OK);
  for (int64_t k = 0; k < n; ++k) {
    worst_pix = std::max(worst_pix, std::hypot(x2[k] - x[k], y2[k] - y[k]));
  }
  gml_wcs_free(wcs);
  std::printf("%s: worst %.3g mas vs astropy, round trip %.3g pix\n", GetParam().c_str(), worst,
              worst_pix);
  EXPECT_LE(worst, 1.0) << GetParam() << ": " << worst << " mas";
  EXPECT_LE(worst_pix, 1e-4) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Files, AbiWcsGolden,
                         ::testing::Values("images/sdss_g.fits.gz", "wcs/sipsample.fits",
                                           "wcs/tpv.fits", "wcs/1904-66_ZPN.fits"));

TEST(AbiWcs, NonFinitePointsAreFlaggedNotFatal) {
  gml_wcs* wcs = nullptr;
  ASSERT_EQ(gml_wcs_open(kCutoutR.c_str(), "0", &wcs), GML_OK) << gml_last_error();
  const double x[3] = {100, NAN, 200}, y[3] = {100, 50, INFINITY};
  double ra[3], dec[3];
  int32_t st[3];
  ASSERT_EQ(gml_wcs_pix2sky(wcs, x, y, 3, 0, ra, dec, st), GML_OK);
  EXPECT_EQ(st[0], GML_WCS_POINT_OK);
  EXPECT_TRUE(std::isfinite(ra[0]) && std::isfinite(dec[0]));
  EXPECT_EQ(st[1], GML_WCS_POINT_NONFINITE);
  EXPECT_EQ(st[2], GML_WCS_POINT_NONFINITE);
  EXPECT_TRUE(std::isnan(ra[1]) && std::isnan(dec[2]));
  double scale = 0;
  ASSERT_EQ(gml_wcs_pixel_scale(wcs, &scale), GML_OK);
  EXPECT_NEAR(scale, 1.1883, 0.01);  // SDSS: 0.396 arcsec x 3 binning
  size_t len = 0;
  ASSERT_EQ(gml_wcs_header(wcs, nullptr, 0, &len), GML_OK);
  std::string text(len, '\0');
  ASSERT_EQ(gml_wcs_header(wcs, &text[0], len, &len), GML_OK);
  text.resize(len - 1);
  gml_wcs_free(wcs);
  // The header text parses back to the same transform.
  ASSERT_EQ(gml_wcs_open_header(text.data(), text.size(), &wcs), GML_OK) << gml_last_error();
  double ra2 = 0, dec2 = 0;
  ASSERT_EQ(gml_wcs_pix2sky(wcs, x, y, 1, 0, &ra2, &dec2, nullptr), GML_OK);
  EXPECT_LE(sep_mas(ra[0], dec[0], ra2, dec2), 1e-3);
  gml_wcs_free(wcs);
}

// HST lookup-table distortions and astropy's header repairs through the ABI:
// the tables are applied (the transform round-trips through its iterative
// inverse), a header text cannot carry them, and a repaired header opens
// with a logged warning.
TEST(AbiWcs, LookupTableDistortionsAndRepairsAsAstropy) {
  gml_wcs* wcs = nullptr;
  ASSERT_EQ(gml_wcs_open((kData + "/wcs/dist_lookup.fits.gz").c_str(), nullptr, &wcs), GML_OK)
      << gml_last_error();
  const double x[3] = {10.5, 200.0, 1000.25}, y[3] = {20.0, 400.5, 1500.0};
  double ra[3], dec[3], x2[3], y2[3];
  int32_t st[3];
  ASSERT_EQ(gml_wcs_pix2sky(wcs, x, y, 3, 1, ra, dec, st), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_wcs_sky2pix(wcs, ra, dec, 3, 1, x2, y2, st), GML_OK) << gml_last_error();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(st[i], GML_WCS_POINT_OK);
    EXPECT_NEAR(x2[i], x[i], 1e-6);
    EXPECT_NEAR(y2[i], y[i], 1e-6);
  }
  size_t len = 0;
  EXPECT_EQ(gml_wcs_header(wcs, nullptr, 0, &len), GML_ERR_WCS)
      << "header cards cannot hold lookup tables";
  gml_wcs_free(wcs);

  struct Sink {
    std::vector<std::string> lines;
  } sink;
  gml_init_options o;
  gml_init_options_default(&o);
  o.log_fn = [](int32_t level, const char* msg, void* user) {
    if (level == GML_LOG_WARNING) static_cast<Sink*>(user)->lines.emplace_back(msg);
  };
  o.log_user = &sink;
  ASSERT_EQ(gml_init(&o), GML_OK);
  const std::string dss = kData + "/wcs/dss.14.29.56-62.41.05.fits.gz";
  EXPECT_EQ(gml_wcs_open(dss.c_str(), nullptr, &wcs), GML_OK) << gml_last_error();
  gml_wcs_free(wcs);
  gml_init_options_default(&o);
  ASSERT_EQ(gml_init(&o), GML_OK);  // back to stderr
  ASSERT_FALSE(sink.lines.empty()) << "the malformed SKEW card is left out with a warning";
  EXPECT_NE(sink.lines[0].find("SKEW"), std::string::npos) << sink.lines[0];
}
