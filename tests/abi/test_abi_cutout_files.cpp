// Cutouts through libgalaxyml.so beyond the astropy golden values: flags of
// bad positions, several bands, resampling and its WCS, FITS output read
// back, error statuses, cancellation and atomic output.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

const std::string kFilesData = GML_TEST_DATA;
const std::string kFilesR = kFilesData + "/images/sdss_r.fits.gz";
const std::string kG = kFilesData + "/images/sdss_g.fits.gz";
const std::string kI = kFilesData + "/images/sdss_i.fits.gz";

std::string scratch_dir() {
  const std::string dir = ::testing::TempDir() + "gml_abi_cutfiles_" + std::to_string(getpid());
  mkdir(dir.c_str(), 0755);
  return dir;
}
std::string files_scratch(const std::string& name) {
  return scratch_dir() + "/" + name;
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    closedir(d);
  }
  return names;
}

double files_sep_mas(double ra1, double dec1, double ra2, double dec2) {
  const double d2r = M_PI / 180.0;
  const double s = std::sin((dec2 - dec1) * d2r / 2), t = std::sin((ra2 - ra1) * d2r / 2);
  const double h = s * s + std::cos(dec1 * d2r) * std::cos(dec2 * d2r) * t * t;
  return 2 * std::asin(std::sqrt(std::min(1.0, h))) / d2r * 3.6e6;
}

// Minimal FITS writer for inputs the library must handle but does not write
// itself: HDUs of big-endian float32 images with the given extra cards.
struct Hdu {
  std::vector<std::string> cards;  // beyond the structural ones
  int64_t nx = 0, ny = 0;          // 0: no data
  std::vector<float> data;
};

void write_fits(const std::string& path, const std::vector<Hdu>& hdus) {
  std::string bytes;
  auto card = [&](std::string text) {
    text.resize(80, ' ');
    bytes += text;
  };
  for (size_t h = 0; h < hdus.size(); ++h) {
    const Hdu& u = hdus[h];
    card(h == 0 ? "SIMPLE  =                    T" : "XTENSION= 'IMAGE   '");
    card("BITPIX  =                  -32");
    card(u.nx > 0 ? "NAXIS   =                    2" : "NAXIS   =                    0");
    if (u.nx > 0) {
      char buf[81];
      std::snprintf(buf, sizeof buf, "NAXIS1  = %20lld", static_cast<long long>(u.nx));
      card(buf);
      std::snprintf(buf, sizeof buf, "NAXIS2  = %20lld", static_cast<long long>(u.ny));
      card(buf);
    }
    if (h == 0) card("EXTEND  =                    T");
    if (h > 0) {
      card("PCOUNT  =                    0");
      card("GCOUNT  =                    1");
    }
    for (const auto& c : u.cards) card(c);
    card("END");
    bytes.resize((bytes.size() + 2879) / 2880 * 2880, ' ');
    for (float v : u.data) {
      uint32_t b;
      std::memcpy(&b, &v, 4);
      b = __builtin_bswap32(b);
      bytes.append(reinterpret_cast<const char*>(&b), 4);
    }
    bytes.resize((bytes.size() + 2879) / 2880 * 2880, '\0');
  }
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Hdu ramp_image(int64_t nx, int64_t ny, float offset, bool with_wcs) {
  Hdu u;
  u.nx = nx;
  u.ny = ny;
  for (int64_t y = 0; y < ny; ++y) {
    for (int64_t x = 0; x < nx; ++x) u.data.push_back(offset + static_cast<float>(y * nx + x));
  }
  if (with_wcs) {
    u.cards = {"CTYPE1  = 'RA---TAN'",           "CTYPE2  = 'DEC--TAN'",
               "CRPIX1  =                 50.5", "CRPIX2  =                 40.5",
               "CRVAL1  =                150.0", "CRVAL2  =                  2.0",
               "CD1_1   =            -0.0002",   "CD2_2   =             0.0002"};
  }
  return u;
}

gml_cutout_options files_pixel_options(int64_t w, int64_t h) {
  gml_cutout_options o;
  gml_cutout_options_default(&o);
  o.position_type = GML_CUTOUT_PIXEL;
  o.width = w;
  o.height = h;
  return o;
}

}  // namespace

TEST(AbiCutoutFlags, BadPositionsAreFlaggedAndFilledNotFatal) {
  gml_wcs* wcs = nullptr;
  ASSERT_EQ(gml_wcs_open(kFilesR.c_str(), nullptr, &wcs), GML_OK);
  double cx = 341, cy = 248, cra = 0, cdec = 0;
  ASSERT_EQ(gml_wcs_pix2sky(wcs, &cx, &cy, 1, 0, &cra, &cdec, nullptr), GML_OK);
  gml_wcs_free(wcs);
  // Valid centre, NaN RA, infinite Dec, Dec beyond the pole, the antipode
  // (outside the TAN hemisphere), far off the image, valid centre again.
  const double ra[] = {cra, NAN, cra, cra, std::fmod(cra + 180.0, 360.0), cra + 2.0, cra};
  const double dec[] = {cdec, cdec, INFINITY, 95.0, -cdec, cdec, cdec};
  const int64_t n = 7;
  const char* paths[] = {kFilesR.c_str()};
  gml_cutout_options o;
  gml_cutout_options_default(&o);
  o.width = o.height = 16;
  o.fill_value = -99.0f;
  std::vector<float> stamps(n * 256, 0.0f);
  std::vector<uint8_t> mask(n * 256, 7);
  std::vector<int32_t> flags(n, -1);
  ASSERT_EQ(gml_cutouts_extract(nullptr, paths, 1, ra, dec, n, &o, stamps.data(), stamps.size(),
                                mask.data(), flags.data()),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(flags[0], 0);
  EXPECT_EQ(flags[1], GML_CUTOUT_BAD_COORD);
  EXPECT_EQ(flags[2], GML_CUTOUT_BAD_COORD);
  EXPECT_EQ(flags[3], GML_CUTOUT_BAD_COORD);
  EXPECT_EQ(flags[4], GML_CUTOUT_WCS_FAILED);
  EXPECT_EQ(flags[5], GML_CUTOUT_OFF_IMAGE);
  EXPECT_EQ(flags[6], 0);
  for (int64_t i = 1; i <= 5; ++i) {
    for (int64_t k = 0; k < 256; ++k) {
      ASSERT_EQ(stamps[i * 256 + k], -99.0f) << "stamp " << i;
      ASSERT_EQ(mask[i * 256 + k], 1) << "stamp " << i;
    }
  }
  for (int64_t k = 0; k < 256; ++k) {
    ASSERT_EQ(mask[k], 0);
    ASSERT_EQ(stamps[k], stamps[6 * 256 + k]);  // same position, same stamp
  }
}

TEST(AbiCutoutBands, ThreeBandsStackInCallerOrder) {
  const double x[] = {120.0, 400.2, 670.0}, y[] = {100.0, 300.7, 20.0};
  const char* gri[] = {kG.c_str(), kFilesR.c_str(), kI.c_str()};
  gml_cutout_options o = files_pixel_options(32, 24);
  std::vector<float> all(3 * 3 * 24 * 32);
  std::vector<int32_t> flags(3);
  ASSERT_EQ(gml_cutouts_extract(nullptr, gri, 3, x, y, 3, &o, all.data(), all.size(), nullptr,
                                flags.data()),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(flags[2], GML_CUTOUT_PARTIAL);
  for (int b = 0; b < 3; ++b) {
    std::vector<float> one(3 * 24 * 32);
    ASSERT_EQ(gml_cutouts_extract(nullptr, &gri[b], 1, x, y, 3, &o, one.data(), one.size(), nullptr,
                                  nullptr),
              GML_OK);
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 24 * 32; ++k) {
        const float a = all[(i * 3 + b) * 768 + k], e = one[i * 768 + k];
        ASSERT_TRUE(a == e || (std::isnan(a) && std::isnan(e))) << "band " << b << " stamp " << i;
      }
    }
  }
}

TEST(AbiCutoutBands, MultiExtensionFileWithOneBandPerHdu) {
  const std::string mef = files_scratch("mef.fits");
  write_fits(mef, {Hdu{}, ramp_image(100, 80, 0.0f, true), ramp_image(100, 80, 1e5f, true)});
  const std::string b1 = mef + "[1]", b2 = mef + "[2]";
  const char* paths[] = {b1.c_str(), b2.c_str()};
  const char* primary_only[] = {mef.c_str()};  // empty primary: first image extension
  const double x[] = {10.0}, y[] = {20.0};
  gml_cutout_options o = files_pixel_options(4, 4);
  std::vector<float> s(2 * 16), s1(16);
  ASSERT_EQ(
      gml_cutouts_extract(nullptr, paths, 2, x, y, 1, &o, s.data(), s.size(), nullptr, nullptr),
      GML_OK)
      << gml_last_error();
  ASSERT_EQ(gml_cutouts_extract(nullptr, primary_only, 1, x, y, 1, &o, s1.data(), s1.size(),
                                nullptr, nullptr),
            GML_OK)
      << gml_last_error();
  // Stamp pixel (0, 0) is image pixel (ceil(10 - 2), ceil(20 - 2)) = (8, 18).
  EXPECT_EQ(s[0], 18.0f * 100 + 8);
  EXPECT_EQ(s[16], 1e5f + 18.0f * 100 + 8);
  EXPECT_EQ(s[5], 19.0f * 100 + 9);
  EXPECT_EQ(s1[0], s[0]);
}

TEST(AbiCutoutResample, FluxMeanAndBilinearWithConsistentWcs) {
  const char* paths[] = {kFilesR.c_str()};
  const double x[] = {300.0, 450.5}, y[] = {250.0, 200.5};
  gml_cutout_options o = files_pixel_options(128, 128);
  std::vector<float> src(2 * 128 * 128);
  ASSERT_EQ(
      gml_cutouts_extract(nullptr, paths, 1, x, y, 2, &o, src.data(), src.size(), nullptr, nullptr),
      GML_OK);
  o.out_width = o.out_height = 64;
  std::vector<float> mean(2 * 64 * 64), flux(mean.size()), bil(mean.size());
  o.resample = GML_RESAMPLE_MEAN;
  ASSERT_EQ(gml_cutouts_extract(nullptr, paths, 1, x, y, 2, &o, mean.data(), mean.size(), nullptr,
                                nullptr),
            GML_OK)
      << gml_last_error();
  o.resample = GML_RESAMPLE_FLUX;
  ASSERT_EQ(gml_cutouts_extract(nullptr, paths, 1, x, y, 2, &o, flux.data(), flux.size(), nullptr,
                                nullptr),
            GML_OK);
  o.resample = GML_RESAMPLE_BILINEAR;
  ASSERT_EQ(
      gml_cutouts_extract(nullptr, paths, 1, x, y, 2, &o, bil.data(), bil.size(), nullptr, nullptr),
      GML_OK);
  double sum_src = 0, sum_flux = 0;
  for (int k = 0; k < 128 * 128; ++k) sum_src += src[k];
  for (int k = 0; k < 64 * 64; ++k) sum_flux += flux[k];
  EXPECT_NEAR(sum_flux, sum_src, 1e-5 * std::abs(sum_src) + 1e-3);  // flux conserved
  for (int v = 0; v < 64; ++v) {
    for (int u = 0; u < 64; ++u) {
      const int k = v * 64 + u;
      const double block = (src[(2 * v) * 128 + 2 * u] + src[(2 * v) * 128 + 2 * u + 1] +
                            src[(2 * v + 1) * 128 + 2 * u] + src[(2 * v + 1) * 128 + 2 * u + 1]) /
                           4.0;
      ASSERT_NEAR(mean[k], block, 1e-5 * std::abs(block) + 1e-6);
      ASSERT_NEAR(flux[k], 4.0 * block, 4e-5 * std::abs(block) + 1e-6);
      // 2x2 binning puts output centres between four input centres.
      ASSERT_NEAR(bil[k], block, 1e-5 * std::abs(block) + 1e-6);
    }
  }

  // Upsampling 64 -> 128 and the stamp WCS of both directions: every stamp
  // pixel centre maps to the sky position of the image coordinate it samples.
  gml_wcs* image = nullptr;
  ASSERT_EQ(gml_wcs_open(kFilesR.c_str(), nullptr, &image), GML_OK);
  for (const auto& sizes : {std::vector<int64_t>{128, 64}, std::vector<int64_t>{64, 128}}) {
    gml_cutout_options r = files_pixel_options(sizes[0], sizes[0]);
    r.out_width = r.out_height = sizes[1];
    r.resample = GML_RESAMPLE_BILINEAR;
    r.write_mask = 0;
    const std::string out = files_scratch("resampled.fits");
    ASSERT_EQ(gml_cutouts_write(nullptr, paths, 1, x, y, 2, &r, out.c_str(), nullptr), GML_OK)
        << gml_last_error();
    const double s = static_cast<double>(sizes[0]) / static_cast<double>(sizes[1]);
    double worst = 0;
    for (int i = 0; i < 2; ++i) {
      gml_wcs* stamp = nullptr;
      ASSERT_EQ(gml_wcs_open(out.c_str(), std::to_string(i + 1).c_str(), &stamp), GML_OK);
      const double x0 = std::ceil(x[i] - sizes[0] / 2.0), y0 = std::ceil(y[i] - sizes[0] / 2.0);
      for (int64_t v = 0; v < sizes[1]; v += 7) {
        for (int64_t u = 0; u < sizes[1]; u += 5) {
          const double su = static_cast<double>(u), sv = static_cast<double>(v);
          const double ix = x0 + (su + 0.5) * s - 0.5, iy = y0 + (sv + 0.5) * s - 0.5;
          double ra1, dec1, ra2, dec2;
          ASSERT_EQ(gml_wcs_pix2sky(stamp, &su, &sv, 1, 0, &ra1, &dec1, nullptr), GML_OK);
          ASSERT_EQ(gml_wcs_pix2sky(image, &ix, &iy, 1, 0, &ra2, &dec2, nullptr), GML_OK);
          worst = std::max(worst, files_sep_mas(ra1, dec1, ra2, dec2));
        }
      }
      gml_wcs_free(stamp);
    }
    std::printf("resampled %lld -> %lld stamp WCS vs image WCS: worst %.3g mas\n",
                static_cast<long long>(sizes[0]), static_cast<long long>(sizes[1]), worst);
    EXPECT_LE(worst, 1.0) << sizes[0] << " -> " << sizes[1];
    std::remove(out.c_str());
  }
  gml_wcs_free(image);
}

TEST(AbiCutoutFiles, CubeLayoutReadsBackAsExtracted) {
  const char* gri[] = {kG.c_str(), kFilesR.c_str(), kI.c_str()};
  const double x[] = {50.0, 341.0, 690.0, 200.0}, y[] = {60.0, 248.0, 10.0, 400.0};
  gml_cutout_options o = files_pixel_options(40, 30);
  std::vector<float> expect(4 * 3 * 30 * 40);
  ASSERT_EQ(gml_cutouts_extract(nullptr, gri, 3, x, y, 4, &o, expect.data(), expect.size(), nullptr,
                                nullptr),
            GML_OK);
  o.layout = GML_CUTOUT_LAYOUT_CUBE;
  const std::string out = files_scratch("cube.fits");
  ASSERT_EQ(gml_cutouts_write(nullptr, gri, 3, x, y, 4, &o, out.c_str(), nullptr), GML_OK)
      << gml_last_error();
  int64_t shape[4] = {0, 0, 0, 0};
  ASSERT_EQ(gml_cutouts_read_shape(out.c_str(), shape), GML_OK) << gml_last_error();
  EXPECT_EQ(shape[0], 4);
  EXPECT_EQ(shape[1], 3);
  EXPECT_EQ(shape[2], 30);
  EXPECT_EQ(shape[3], 40);
  std::vector<float> got(expect.size());
  EXPECT_EQ(gml_cutouts_read(out.c_str(), got.data(), got.size() - 1), GML_ERR_CAPACITY);
  ASSERT_EQ(gml_cutouts_read(out.c_str(), got.data(), got.size()), GML_OK) << gml_last_error();
  for (size_t k = 0; k < got.size(); ++k) {
    ASSERT_TRUE(got[k] == expect[k] || (std::isnan(got[k]) && std::isnan(expect[k]))) << k;
  }
  // The mask cube is an extension: NaN exactly where masked.
  std::vector<float> mask(expect.size());
  ASSERT_EQ(gml_cutouts_read((out + "[MASK]").c_str(), mask.data(), mask.size()), GML_OK);
  for (size_t k = 0; k < mask.size(); ++k) ASSERT_EQ(mask[k], std::isnan(expect[k]) ? 1.f : 0.f);
  // The primary cube has no celestial WCS of its own.
  gml_wcs* w = nullptr;
  EXPECT_EQ(gml_wcs_open(out.c_str(), "0", &w), GML_ERR_WCS);
  EXPECT_EQ(w, nullptr);
  EXPECT_EQ(gml_wcs_open(out.c_str(), "STAMPWCS", &w), GML_OK) << gml_last_error();
  gml_wcs_free(w);
  std::remove(out.c_str());
}

TEST(AbiCutoutFiles, ThreeDimensionalCubeFromElsewhere) {
  const std::string path = files_scratch("stack3d.fits");
  Hdu u = ramp_image(6, 5 * 3, 0.0f, false);  // written as 6 x 15, relabelled below
  u.cards = {};
  write_fits(path, {u});
  // A plain 2-D image reads as one stamp with one band.
  int64_t shape[4];
  ASSERT_EQ(gml_cutouts_read_shape(path.c_str(), shape), GML_OK);
  EXPECT_EQ(shape[0], 1);
  EXPECT_EQ(shape[1], 1);
  EXPECT_EQ(shape[2], 15);
  EXPECT_EQ(shape[3], 6);
  std::vector<float> v(90);
  ASSERT_EQ(gml_cutouts_read(path.c_str(), v.data(), v.size()), GML_OK);
  EXPECT_EQ(v[7], 7.0f);
}

TEST(AbiCutoutErrors, MissingWcsTruncatedFilesAndUnwritableOutput) {
  const char* paths[1];
  const double ra[] = {150.0}, dec[] = {2.0};
  std::vector<float> buf(64 * 64);
  gml_cutout_options o;
  gml_cutout_options_default(&o);

  const std::string nowcs = files_scratch("nowcs.fits");
  write_fits(nowcs, {ramp_image(100, 80, 0.0f, false)});
  gml_wcs* w = nullptr;
  EXPECT_EQ(gml_wcs_open(nowcs.c_str(), nullptr, &w), GML_ERR_WCS);
  EXPECT_NE(std::string(gml_last_error()).find("celestial"), std::string::npos) << gml_last_error();
  EXPECT_EQ(w, nullptr);
  paths[0] = nowcs.c_str();
  EXPECT_EQ(gml_cutouts_extract(nullptr, paths, 1, ra, dec, 1, &o, buf.data(), buf.size(), nullptr,
                                nullptr),
            GML_ERR_WCS);
  // Pixel positions need no WCS.
  gml_cutout_options po = files_pixel_options(64, 64);
  const double px[] = {50.0}, py[] = {40.0};
  EXPECT_EQ(gml_cutouts_extract(nullptr, paths, 1, px, py, 1, &po, buf.data(), buf.size(), nullptr,
                                nullptr),
            GML_OK)
      << gml_last_error();

  // Truncated files: inside the header, and inside the data.
  std::ifstream in(kFilesData + "/images/147246.0_150.416558_1.998697_masknoise.fits",
                   std::ios::binary);
  const std::vector<char> whole((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(whole.size(), 100000u);
  const std::string cut_header = files_scratch("cut_header.fits"),
                    cut_data = files_scratch("cut_data.fits");
  std::ofstream(cut_header, std::ios::binary).write(whole.data(), 1000);
  std::ofstream(cut_data, std::ios::binary).write(whole.data(), 2880 * 20);
  EXPECT_EQ(gml_wcs_open(cut_header.c_str(), nullptr, &w), GML_ERR_FITS);
  paths[0] = cut_data.c_str();
  const double cx[] = {100.0}, cy[] = {150.0};
  EXPECT_EQ(gml_cutouts_extract(nullptr, paths, 1, cx, cy, 1, &po, buf.data(), buf.size(), nullptr,
                                nullptr),
            GML_ERR_FITS)
      << gml_last_error();

  // Output into a directory that cannot exist (its parent is a file).
  paths[0] = kFilesR.c_str();
  const std::string blocker = files_scratch("not_a_dir");
  std::ofstream(blocker) << "x";
  const std::string bad_out = blocker + "/stamps.fits";
  EXPECT_EQ(gml_cutouts_write(nullptr, paths, 1, px, py, 1, &po, bad_out.c_str(), nullptr),
            GML_ERR_FITS);
  EXPECT_FALSE(exists(bad_out));
}

TEST(AbiCutoutFiles, CancelledWriteLeavesOldFileAndNoTemporary) {
  const std::string dir = scratch_dir() + "/cancel";
  mkdir(dir.c_str(), 0755);
  const std::string out = dir + "/stamps.fits";
  const char* paths[] = {kFilesR.c_str()};
  gml_cutout_options o = files_pixel_options(16, 16);
  const double x[] = {100.0, 200.0}, y[] = {100.0, 200.0};
  ASSERT_EQ(gml_cutouts_write(nullptr, paths, 1, x, y, 2, &o, out.c_str(), nullptr), GML_OK);
  struct stat before;
  ASSERT_EQ(stat(out.c_str(), &before), 0);

  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  ASSERT_EQ(gml_context_create(&co, &ctx), GML_OK);
  ASSERT_EQ(gml_cancel(ctx), GML_OK);
  EXPECT_EQ(gml_cutouts_write(ctx, paths, 1, x, y, 1, &o, out.c_str(), nullptr), GML_ERR_CANCELLED);
  struct stat after;
  ASSERT_EQ(stat(out.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"stamps.fits"});

  // A progress sink that says stop cancels an extraction too, and sees the
  // stage and totals.
  struct Seen {
    int calls = 0;
    int64_t total = 0;
    std::string stage;
  } seen;
  auto stop = [](const gml_progress* p, void* user) -> int32_t {
    auto* s = static_cast<Seen*>(user);
    ++s->calls;
    s->total = p->total;
    s->stage = p->stage;
    return 1;
  };
  ASSERT_EQ(gml_cancel_reset(ctx), GML_OK);
  ASSERT_EQ(gml_context_set_progress(ctx, stop, &seen), GML_OK);
  std::vector<double> many_x(3000, 300.0), many_y(3000, 250.0);
  std::vector<float> buf(3000 * 256);
  EXPECT_EQ(gml_cutouts_extract(ctx, paths, 1, many_x.data(), many_y.data(), 3000, &o, buf.data(),
                                buf.size(), nullptr, nullptr),
            GML_ERR_CANCELLED);
  EXPECT_GE(seen.calls, 1);
  EXPECT_EQ(seen.total, 3000);
  EXPECT_EQ(seen.stage, "cutouts");
  gml_context_free(ctx);
}
