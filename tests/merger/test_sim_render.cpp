// Cameras and rendering: the 14 camera frames, mirror symmetry of opposite
// cameras, flux conservation and the numpy / scipy references of the
// cloud-in-cell deposit and the Gaussian PSF.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/merger/sim/camera.h"
#include "core/merger/sim/render.h"
#include "core/merger/sim/run.h"
#include "test_sim_golden.h"

namespace {

using gml::merger::Camera;
using gml::merger::MergerSimConfig;
using gml::merger::RenderParams;
using gml::merger::Vec3;
using gml::merger::testing::golden;

TEST(MergerCamera, FourteenDistinctRightHandedFrames) {
  std::set<std::string> names;
  for (int i = 0; i < gml::merger::kMaxCameras; ++i) {
    const Camera c = gml::merger::camera(i);
    EXPECT_NEAR(norm(c.direction), 1.0, 1e-15);
    EXPECT_NEAR(norm(c.right), 1.0, 1e-15);
    EXPECT_NEAR(norm(c.up), 1.0, 1e-15);
    EXPECT_NEAR(dot(c.right, c.up), 0.0, 1e-15);
    EXPECT_NEAR(dot(c.right, c.direction), 0.0, 1e-15);
    EXPECT_NEAR(dot(c.up, c.direction), 0.0, 1e-15);
    const Vec3 d = cross(c.right, c.up);
    EXPECT_NEAR(norm(d - c.direction), 0.0, 1e-15);
    for (int j = 0; j < i; ++j) {
      EXPECT_LT(dot(c.direction, gml::merger::camera(j).direction), 1.0 - 1e-6)
          << "cameras " << i << " and " << j;
    }
    names.insert(gml::merger::camera_name(i));
  }
  EXPECT_EQ(names.size(), 14u);
  EXPECT_EQ(gml::merger::camera_name(0), "+x");
  EXPECT_EQ(gml::merger::camera_name(5), "-z");
  EXPECT_EQ(gml::merger::camera_name(13), "-x-y-z");
  const Camera diag = gml::merger::camera(6);
  EXPECT_NEAR(diag.direction.x, 1.0 / std::sqrt(3.0), 1e-15);
  // Axis cameras other than z keep world z up.
  EXPECT_NEAR(gml::merger::camera(0).up.z, 1.0, 1e-15);
  EXPECT_THROW(gml::merger::camera(14), gml::Error);
  EXPECT_THROW(gml::merger::camera(-1), gml::Error);
}

TEST(MergerRender, OppositeCamerasSeeMirrorImages) {
  MergerSimConfig c;
  c.particles_per_disk = 3000;
  gml::merger::MergerRun run(c, gml::merger::draw_simulation(c, 13));
  run.advance_to(200.0);  // approaching, tidally perturbed, both in the field
  RenderParams rp;
  rp.size = 48;
  rp.fov_kpc = 100.0;
  rp.noise_sigma = 0.0;
  gml::merger::Renderer r(rp);
  const int n = rp.size;
  std::vector<float> a(n * n), b(n * n);
  for (const auto& [plus, minus] : std::vector<std::pair<int, int>>{{4, 5}, {0, 1}, {2, 3}}) {
    r.render(run.particles(), gml::merger::camera(plus), run.light_centre(), 1, a.data());
    r.render(run.particles(), gml::merger::camera(minus), run.light_centre(), 1, b.data());
    double diff = 0.0, total = 0.0;
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < n; ++i) {
        diff = std::max(diff, double(std::fabs(a[j * n + i] - b[j * n + (n - 1 - i)])));
        total += a[j * n + i];
      }
    }
    EXPECT_LT(diff, 1e-4) << "cameras " << plus << " / " << minus;
    EXPECT_GT(total, 1.0);  // not an empty image
  }
}

TEST(MergerRender, CloudInCellMatchesNumpyAndConservesFlux) {
  const int size = static_cast<int>(golden("cic_size")[0]);
  const auto& gu = golden("cic_u");
  const auto& gv = golden("cic_v");
  const auto& gw = golden("cic_w");
  const auto& want = golden("cic_image");
  std::vector<float> u(gu.begin(), gu.end()), v(gv.begin(), gv.end()), w(gw.begin(), gw.end());
  std::vector<float> img(size * size, 0.0f);
  gml::merger::deposit_cic(u.data(), v.data(), w.data(), static_cast<int64_t>(u.size()), size,
                           img.data());
  for (size_t i = 0; i < img.size(); ++i) EXPECT_NEAR(img[i], want[i], 2e-6) << "pixel " << i;

  // Everything whose cloud lies inside the image is conserved exactly.
  gml::merger::SimRng rng(3);
  std::vector<float> iu, iv, iw;
  for (int k = 0; k < 5000; ++k) {
    iu.push_back(static_cast<float>(rng.uniform(0.5, size - 0.5)));
    iv.push_back(static_cast<float>(rng.uniform(0.5, size - 0.5)));
    iw.push_back(static_cast<float>(rng.uniform(0.1, 1.0)));
  }
  std::fill(img.begin(), img.end(), 0.0f);
  gml::merger::deposit_cic(iu.data(), iv.data(), iw.data(), 5000, size, img.data());
  const double in = std::accumulate(iw.begin(), iw.end(), 0.0);
  const double out = std::accumulate(img.begin(), img.end(), 0.0);
  EXPECT_NEAR(out, in, 1e-5 * in);
  // A particle on a pixel centre lands in that pixel only.
  std::fill(img.begin(), img.end(), 0.0f);
  const float cu = 3.5f, cv = 7.5f, one = 1.0f;
  gml::merger::deposit_cic(&cu, &cv, &one, 1, size, img.data());
  EXPECT_FLOAT_EQ(img[7 * size + 3], 1.0f);
  EXPECT_FLOAT_EQ(std::accumulate(img.begin(), img.end(), 0.0f), 1.0f);
}

TEST(MergerRender, ParticleLightIsConservedBeforeTheStretch) {
  MergerSimConfig c;
  c.particles_per_disk = 2000;
  gml::merger::MergerRun run(c, gml::merger::draw_simulation(c, 12));  // q = 1
  RenderParams rp;
  rp.size = 64;
  rp.fov_kpc = 400.0;  // wide enough to hold both disks whole
  gml::merger::Renderer r(rp);
  std::vector<float> img(64 * 64);
  r.surface_density(run.particles(), gml::merger::camera(7), run.light_centre(), img.data());
  const double pix = rp.fov_kpc / rp.size;
  const double flux = std::accumulate(img.begin(), img.end(), 0.0) * pix * pix;
  double light = 0.0;
  for (float l : run.particles().light) light += l;
  EXPECT_NEAR(light, 2.0, 1e-5);  // galaxy 1 has light 1, galaxy 2 light q = 1
  EXPECT_NEAR(flux, light, 1e-5 * light);
}

TEST(MergerRender, BlurMatchesScipyGaussianFilter) {
  const int size = static_cast<int>(golden("blur_size")[0]);
  const double fwhm = golden("blur_fwhm")[0];
  const auto& in = golden("blur_input");
  const auto& want = golden("blur_output");
  std::vector<float> img(in.begin(), in.end()), scratch;
  gml::merger::gaussian_blur(img.data(), size, fwhm, scratch);
  for (size_t i = 0; i < img.size(); ++i) EXPECT_NEAR(img[i], want[i], 1e-6) << "pixel " << i;
}

TEST(MergerRender, BlurOfPointHasTheGaussianWidth) {
  const int size = 63;
  for (double fwhm : {1.5, 3.0, 6.0}) {
    std::vector<float> img(size * size, 0.0f), scratch;
    img[31 * size + 31] = 1.0f;
    gml::merger::gaussian_blur(img.data(), size, fwhm, scratch);
    double sum = 0.0, var_x = 0.0, var_y = 0.0, peak = 0.0;
    for (int j = 0; j < size; ++j) {
      for (int i = 0; i < size; ++i) {
        const double f = img[j * size + i];
        sum += f;
        var_x += f * (i - 31) * (i - 31);
        var_y += f * (j - 31) * (j - 31);
        peak = std::max(peak, f);
      }
    }
    const double sigma = fwhm / (2.0 * std::sqrt(2.0 * std::log(2.0)));
    EXPECT_NEAR(sum, 1.0, 1e-5);
    // A sampled Gaussian's variance is sigma^2 to far better than 1% here.
    EXPECT_NEAR(std::sqrt(var_x / sum), sigma, 0.01 * sigma) << "FWHM " << fwhm;
    EXPECT_NEAR(std::sqrt(var_y / sum), sigma, 0.01 * sigma) << "FWHM " << fwhm;
    EXPECT_FLOAT_EQ(static_cast<float>(peak), img[31 * size + 31]);
  }
}

TEST(MergerRender, StretchMapsPeakToOneAndKeepsOrder) {
  for (auto s :
       {gml::merger::Stretch::Asinh, gml::merger::Stretch::Log, gml::merger::Stretch::Linear}) {
    std::vector<float> img = {0.0f, 0.01f, 0.2f, 1.0f, 4.0f};
    gml::merger::apply_stretch(img.data(), 5, s, 0.05);
    EXPECT_EQ(img[0], 0.0f);
    EXPECT_NEAR(img[4], 1.0f, 1e-6);
    for (int i = 1; i < 5; ++i) EXPECT_GT(img[i], img[i - 1]);
  }
  std::vector<float> img = {1.0f, 2.0f};
  gml::merger::apply_stretch(img.data(), 2, gml::merger::Stretch::Asinh, 0.05);
  EXPECT_NEAR(img[0], std::asinh(0.5 / 0.05) / std::asinh(1.0 / 0.05), 1e-6);
  std::vector<float> empty(4, 0.0f);
  gml::merger::apply_stretch(empty.data(), 4, gml::merger::Stretch::Log, 0.05);
  for (float v : empty) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(gml::merger::parse_stretch("sqrt"), gml::Error);
}

TEST(MergerRender, NoiseHasTheRequestedSigma) {
  std::vector<float> img(100001, 0.0f);
  gml::merger::SimRng rng(9);
  gml::merger::add_noise(img.data(), static_cast<int64_t>(img.size()), 0.05, rng);
  double m = 0.0, v = 0.0;
  for (float x : img) m += x;
  m /= static_cast<double>(img.size());
  for (float x : img) v += (x - m) * (x - m);
  v /= static_cast<double>(img.size() - 1);
  EXPECT_NEAR(m, 0.0, 5e-4);
  EXPECT_NEAR(std::sqrt(v), 0.05, 5e-4);
}

}  // namespace
