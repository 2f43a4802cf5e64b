// NULL and invalid arguments of the WCS and cutout entry points: each
// returns GML_ERR_INVALID_ARGUMENT (or is a documented no-op), writes
// nothing, and never crashes.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

// Each name below has a case in the test bodies.
const char* const kCoveredCutout[] = {
    "gml_wcs_open",
    "gml_wcs_open_header",
    "gml_wcs_free",
    "gml_wcs_pix2sky",
    "gml_wcs_sky2pix",
    "gml_wcs_pixel_scale",
    "gml_wcs_header",
    "gml_cutout_options_default",
    "gml_cutouts_shape",
    "gml_cutouts_extract",
    "gml_cutouts_write",
    "gml_cutouts_read_shape",
    "gml_cutouts_read",
    "gml_wcs_open_alternate",
    "gml_wcs_open_header_alternate",
};

const std::string kR = std::string(GML_TEST_DATA) + "/images/sdss_r.fits.gz";

void cutout_expect_invalid(gml_status s, const char* what) {
  EXPECT_EQ(s, GML_ERR_INVALID_ARGUMENT) << what << ": " << gml_last_error();
  EXPECT_STRNE(gml_last_error(), "") << what;
}

}  // namespace

TEST(AbiArgumentsCutout, WcsEntryPointsRejectNullAndInvalidArguments) {
  ASSERT_EQ(sizeof kCoveredCutout / sizeof kCoveredCutout[0], 15u);
  gml_wcs_free(nullptr);
  gml_wcs* w = nullptr;
  cutout_expect_invalid(gml_wcs_open(nullptr, nullptr, &w), "open path NULL");
  cutout_expect_invalid(gml_wcs_open(kR.c_str(), nullptr, nullptr), "open out NULL");
  cutout_expect_invalid(gml_wcs_open(kR.c_str(), "", &w), "open hdu empty");
  EXPECT_EQ(w, nullptr);
  const char card[81] =
      "SIMPLE  =                    T                                                  ";
  cutout_expect_invalid(gml_wcs_open_header(nullptr, 80, &w), "open_header NULL");
  cutout_expect_invalid(gml_wcs_open_header(card, 80, nullptr), "open_header out NULL");
  cutout_expect_invalid(gml_wcs_open_header(card, 79, &w), "open_header length");
  cutout_expect_invalid(gml_wcs_open_header(card, 0, &w), "open_header length 0");
  EXPECT_EQ(gml_wcs_open_header(card, 80, &w), GML_ERR_WCS);
  EXPECT_EQ(w, nullptr);
  cutout_expect_invalid(gml_wcs_open_alternate(nullptr, nullptr, 'A', &w),
                        "open_alternate path NULL");
  cutout_expect_invalid(gml_wcs_open_alternate(kR.c_str(), nullptr, 'A', nullptr),
                        "open_alternate out NULL");
  cutout_expect_invalid(gml_wcs_open_alternate(kR.c_str(), nullptr, 'a', &w), "open_alternate 'a'");
  cutout_expect_invalid(gml_wcs_open_alternate(kR.c_str(), "", 'A', &w),
                        "open_alternate hdu empty");
  cutout_expect_invalid(gml_wcs_open_header_alternate(nullptr, 80, 'A', &w),
                        "header_alternate NULL");
  cutout_expect_invalid(gml_wcs_open_header_alternate(card, 80, '1', &w), "header_alternate '1'");
  cutout_expect_invalid(gml_wcs_open_header_alternate(card, 81, 'A', &w),
                        "header_alternate length");
  cutout_expect_invalid(gml_wcs_open_header_alternate(card, 80, 'A', nullptr),
                        "header_alternate out");
  EXPECT_EQ(w, nullptr);

  double x = 1, y = 1, a = -7, b = -7, s = -7;
  int32_t st = -7;
  cutout_expect_invalid(gml_wcs_pix2sky(nullptr, &x, &y, 1, 0, &a, &b, &st), "pix2sky wcs NULL");
  cutout_expect_invalid(gml_wcs_sky2pix(nullptr, &x, &y, 1, 0, &a, &b, &st), "sky2pix wcs NULL");
  cutout_expect_invalid(gml_wcs_pixel_scale(nullptr, &s), "pixel_scale wcs NULL");
  size_t len = 0;
  cutout_expect_invalid(gml_wcs_header(nullptr, nullptr, 0, &len), "header wcs NULL");

  ASSERT_EQ(gml_wcs_open(kR.c_str(), nullptr, &w), GML_OK) << gml_last_error();
  cutout_expect_invalid(gml_wcs_pix2sky(w, nullptr, &y, 1, 0, &a, &b, &st), "pix2sky x NULL");
  cutout_expect_invalid(gml_wcs_pix2sky(w, &x, &y, 1, 0, nullptr, &b, &st), "pix2sky ra NULL");
  cutout_expect_invalid(gml_wcs_pix2sky(w, &x, &y, -1, 0, &a, &b, &st), "pix2sky n < 0");
  cutout_expect_invalid(gml_wcs_pix2sky(w, &x, &y, 1, 2, &a, &b, &st), "pix2sky origin 2");
  cutout_expect_invalid(gml_wcs_sky2pix(w, &x, nullptr, 1, 1, &a, &b, &st), "sky2pix dec NULL");
  cutout_expect_invalid(gml_wcs_sky2pix(w, &x, &y, 1, 1, &a, nullptr, &st), "sky2pix y NULL");
  cutout_expect_invalid(gml_wcs_sky2pix(w, &x, &y, 1, -1, &a, &b, &st), "sky2pix origin -1");
  EXPECT_EQ(a, -7);  // outputs untouched on error
  EXPECT_EQ(st, -7);
  EXPECT_EQ(gml_wcs_pix2sky(w, nullptr, nullptr, 0, 0, nullptr, nullptr, nullptr), GML_OK);
  cutout_expect_invalid(gml_wcs_pixel_scale(w, nullptr), "pixel_scale out NULL");
  cutout_expect_invalid(gml_wcs_header(w, nullptr, 0, nullptr), "header length NULL");
  cutout_expect_invalid(gml_wcs_header(w, nullptr, 10, &len), "header buf NULL cap>0");
  char small[8];
  EXPECT_EQ(gml_wcs_header(w, small, sizeof small, &len), GML_ERR_CAPACITY);
  gml_wcs_free(w);
  w = nullptr;
  EXPECT_EQ(gml_wcs_open("/nonexistent/x.fits", nullptr, &w), GML_ERR_FITS);
  EXPECT_EQ(gml_wcs_open(kR.c_str(), "NOSUCHHDU", &w), GML_ERR_FITS);
  EXPECT_EQ(w, nullptr);
}

TEST(AbiArgumentsCutout, CutoutEntryPointsRejectNullAndInvalidArguments) {
  gml_cutout_options_default(nullptr);
  gml_cutout_options o;
  gml_cutout_options_default(&o);
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_EQ(o.width, 64);
  EXPECT_TRUE(std::isnan(o.fill_value));

  const char* paths[] = {kR.c_str()};
  const char* null_path[] = {nullptr};
  int64_t h = -1, wd = -1;
  cutout_expect_invalid(gml_cutouts_shape(nullptr, 1, &o, &h, &wd), "shape paths NULL");
  cutout_expect_invalid(gml_cutouts_shape(null_path, 1, &o, &h, &wd), "shape paths[0] NULL");
  cutout_expect_invalid(gml_cutouts_shape(paths, 0, &o, &h, &wd), "shape n_bands 0");
  cutout_expect_invalid(gml_cutouts_shape(paths, 1, &o, nullptr, &wd), "shape height NULL");
  auto bad = [&](void (*edit)(gml_cutout_options*), const char* what) {
    gml_cutout_options b;
    gml_cutout_options_default(&b);
    edit(&b);
    cutout_expect_invalid(gml_cutouts_shape(paths, 1, &b, &h, &wd), what);
  };
  bad([](gml_cutout_options* b) { b->struct_size = 4; }, "struct_size");
  bad([](gml_cutout_options* b) { b->width = 0; }, "width 0");
  bad([](gml_cutout_options* b) { b->height = -3; }, "height < 0");
  bad([](gml_cutout_options* b) { b->size_arcsec = -1; }, "size_arcsec < 0");
  bad([](gml_cutout_options* b) { b->resample = 9; }, "resample unknown");
  bad([](gml_cutout_options* b) { b->position_type = 5; }, "position_type unknown");
  bad([](gml_cutout_options* b) { b->layout = 5; }, "layout unknown");
  bad([](gml_cutout_options* b) { b->out_width = 32; }, "out_height missing");
  bad([](gml_cutout_options* b) { b->out_width = b->out_height = 32; }, "resize w/o mode");
  bad(
      [](gml_cutout_options* b) {
        b->out_width = 32;
        b->out_height = 16;
        b->resample = GML_RESAMPLE_MEAN;
      },
      "unequal scale");
  EXPECT_EQ(h, -1);
  const std::string sip = std::string(GML_TEST_DATA) + "/wcs/sipsample.fits";
  const char* two[] = {kR.c_str(), sip.c_str()};
  cutout_expect_invalid(gml_cutouts_shape(two, 2, &o, &h, &wd), "bands of different shapes");

  const double ra[] = {313.17}, dec[] = {-5.69};
  std::vector<float> buf(64 * 64, -7.0f);
  int32_t flag = -7;
  cutout_expect_invalid(gml_cutouts_extract(nullptr, nullptr, 1, ra, dec, 1, &o, buf.data(),
                                            buf.size(), nullptr, &flag),
                        "extract paths NULL");
  cutout_expect_invalid(gml_cutouts_extract(nullptr, paths, 1, nullptr, dec, 1, &o, buf.data(),
                                            buf.size(), nullptr, &flag),
                        "extract ra NULL");
  cutout_expect_invalid(
      gml_cutouts_extract(nullptr, paths, 1, ra, dec, 1, &o, nullptr, buf.size(), nullptr, &flag),
      "extract stamps NULL");
  cutout_expect_invalid(gml_cutouts_extract(nullptr, paths, 1, ra, dec, -1, &o, buf.data(),
                                            buf.size(), nullptr, &flag),
                        "extract n < 0");
  EXPECT_EQ(gml_cutouts_extract(nullptr, paths, 1, ra, dec, 1, &o, buf.data(), buf.size() - 1,
                                nullptr, &flag),
            GML_ERR_CAPACITY);
  EXPECT_EQ(buf[0], -7.0f);
  EXPECT_EQ(flag, -7);

  cutout_expect_invalid(gml_cutouts_write(nullptr, paths, 1, ra, dec, 1, &o, nullptr, &flag),
                        "write output NULL");
  cutout_expect_invalid(gml_cutouts_write(nullptr, paths, 1, ra, dec, 1, &o, "", &flag),
                        "write output empty");
  cutout_expect_invalid(gml_cutouts_write(nullptr, paths, 1, ra, dec, 0, &o, "/tmp/x.fits", &flag),
                        "write n 0");
  cutout_expect_invalid(
      gml_cutouts_write(nullptr, paths, 1, ra, nullptr, 1, &o, "/tmp/x.fits", &flag),
      "write dec NULL");
  cutout_expect_invalid(gml_cutouts_write(nullptr, paths, 0, ra, dec, 1, &o, "/tmp/x.fits", &flag),
                        "write n_bands 0");
  EXPECT_EQ(flag, -7);

  int64_t shape[4] = {-1, -1, -1, -1};
  cutout_expect_invalid(gml_cutouts_read_shape(nullptr, shape), "read_shape path NULL");
  cutout_expect_invalid(gml_cutouts_read_shape(kR.c_str(), nullptr), "read_shape shape NULL");
  cutout_expect_invalid(gml_cutouts_read(nullptr, buf.data(), buf.size()), "read path NULL");
  cutout_expect_invalid(gml_cutouts_read(kR.c_str(), nullptr, 10), "read out NULL");
  EXPECT_EQ(gml_cutouts_read(kR.c_str(), buf.data(), buf.size()), GML_ERR_CAPACITY);
  EXPECT_EQ(gml_cutouts_read_shape("/nonexistent.fits", shape), GML_ERR_FITS);
  EXPECT_EQ(shape[0], -1);
  EXPECT_EQ(buf[0], -7.0f);
}

namespace {

std::string card(const std::string& key, const std::string& value) {
  std::string c = key;
  c.resize(8, ' ');
  c += "= " + value;
  c.resize(80, ' ');
  return c;
}

// A primary WCS with a projection WCSLIB does not know, and a valid
// alternate 'O' (as HST headers keep the pointing before distortion
// correction): the alternate is never used unless asked for.
std::string primary_broken_alternate_valid() {
  std::string h =
      card("SIMPLE", "T") + card("BITPIX", "-32") + card("NAXIS", "2") + card("NAXIS1", "100") +
      card("NAXIS2", "100") + card("WCSAXES", "2") + card("CTYPE1", "'RA---XYZ'") +
      card("CTYPE2", "'DEC--XYZ'") + card("CRPIX1", "50.0") + card("CRPIX2", "50.0") +
      card("CRVAL1", "150.0") + card("CRVAL2", "2.0") + card("CDELT1", "-0.0001") +
      card("CDELT2", "0.0001") + card("WCSAXESO", "2") + card("WCSNAMEO", "'OPUS'") +
      card("CTYPE1O", "'RA---TAN'") + card("CTYPE2O", "'DEC--TAN'") + card("CRPIX1O", "50.0") +
      card("CRPIX2O", "50.0") + card("CRVAL1O", "150.0005") + card("CRVAL2O", "2.0005") +
      card("CDELT1O", "-0.0001") + card("CDELT2O", "0.0001");
  std::string end = "END";
  end.resize(80, ' ');
  return h + end;
}

}  // namespace

TEST(AbiArgumentsCutout, WcsNeverFallsBackToAnAlternateSilently) {
  const std::string h = primary_broken_alternate_valid();
  gml_wcs* w = nullptr;
  EXPECT_EQ(gml_wcs_open_header(h.data(), h.size(), &w), GML_ERR_WCS);
  EXPECT_EQ(w, nullptr);
  const std::string msg = gml_last_error();
  EXPECT_NE(msg.find("primary"), std::string::npos) << msg;
  EXPECT_NE(msg.find("also has WCS O"), std::string::npos) << msg;
  // The keyword at fault is named, not only WCSLIB's status text.
  EXPECT_NE(msg.find("Unrecognized projection code (XYZ in CTYPE1)"), std::string::npos) << msg;
  EXPECT_EQ(gml_wcs_open_header_alternate(h.data(), h.size(), 'B', &w), GML_ERR_WCS);
  EXPECT_NE(std::string(gml_last_error()).find("alternate WCS 'B'"), std::string::npos)
      << gml_last_error();
  ASSERT_EQ(gml_wcs_open_header_alternate(h.data(), h.size(), 'O', &w), GML_OK) << gml_last_error();
  const double x = 50, y = 50;
  double ra = 0, dec = 0;
  ASSERT_EQ(gml_wcs_pix2sky(w, &x, &y, 1, 1, &ra, &dec, nullptr), GML_OK) << gml_last_error();
  EXPECT_NEAR(ra, 150.0005, 1e-9);
  EXPECT_NEAR(dec, 2.0005, 1e-9);
  gml_wcs_free(w);
  // '\0' and ' ' both mean the primary.
  EXPECT_EQ(gml_wcs_open_header_alternate(h.data(), h.size(), '\0', &w), GML_ERR_WCS);
  EXPECT_EQ(gml_wcs_open_header_alternate(h.data(), h.size(), ' ', &w), GML_ERR_WCS);
}
