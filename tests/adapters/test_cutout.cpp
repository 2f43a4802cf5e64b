// Cutout adapter internals: the one-pass strip reader (each row read at most
// once, bounded window), independence of the result from the strip size,
// and the resampler's conservation and masking rules.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "adapters/cutout.h"
#include "adapters/resample.h"

namespace gml::adapters {
namespace {

const std::string kR = std::string(GML_TEST_DATA) + "/images/sdss_r.fits.gz";

std::vector<float> cut(CutoutSource& src, const std::vector<double>& x,
                       const std::vector<double>& y, CutoutSpec spec,
                       std::vector<StampInfo>* infos_out = nullptr) {
  const CutoutPlan plan = src.plan(spec);
  auto infos =
      src.locate(x.data(), y.data(), static_cast<int64_t>(x.size()), PositionKind::Pixel, plan);
  std::vector<float> out(x.size() * static_cast<size_t>(plan.out_w * plan.out_h));
  src.extract(infos, plan, spec, out.data(), nullptr, nullptr);
  if (infos_out) *infos_out = infos;
  return out;
}

bool same(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (!(a[k] == b[k] || (std::isnan(a[k]) && std::isnan(b[k])))) return false;
  }
  return true;
}

TEST(CutoutSource, ReadsEachImageRowAtMostOnceInAnyPositionOrder) {
  CutoutSource src({kR});
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> ux(-40, 720), uy(-40, 530);
  std::vector<double> x(2000), y(2000);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = ux(rng);
    y[i] = uy(rng);
  }
  CutoutSpec spec;
  spec.size_x = spec.size_y = 32;
  spec.chunk_rows = 8;  // many small strips: the window must slide, not restart
  const auto a = cut(src, x, y, spec);
  EXPECT_LE(src.rows_read(), src.ny());
  EXPECT_GE(src.rows_read(), src.ny() - 1);  // dense positions need every row

  spec.chunk_rows = 100000;  // the whole image in one read
  const auto b = cut(src, x, y, spec);
  EXPECT_TRUE(same(a, b));
}

TEST(CutoutSource, SparsePositionsSkipRowsNobodyNeeds) {
  CutoutSource src({kR});
  CutoutSpec spec;
  spec.size_x = spec.size_y = 16;
  spec.chunk_rows = 1;
  cut(src, {100.0, 400.0}, {50.0, 400.0}, spec);
  EXPECT_EQ(src.rows_read(), 32);
}

TEST(CutoutSource, StampOriginFollowsCutout2DIncludingHalfPixels) {
  CutoutSource src({kR});
  CutoutSpec spec;
  spec.size_x = 64;
  spec.size_y = 63;
  std::vector<StampInfo> infos;
  cut(src, {31.5, 100.3, 40.0}, {31.5, 200.7, 40.0}, spec, &infos);
  EXPECT_EQ(infos[0].x0, 0);    // ceil(31.5 - 32)
  EXPECT_EQ(infos[0].y0, 0);    // ceil(31.5 - 31.5)
  EXPECT_EQ(infos[1].x0, 69);   // ceil(68.3)
  EXPECT_EQ(infos[1].y0, 170);  // ceil(169.2)
  EXPECT_EQ(infos[2].y0, 9);    // ceil(8.5)
}

TEST(Resampler, MeanFluxAndMasking) {
  // 4x4 -> 2x2 with one invalid pixel in the first block and three in the
  // second: the first keeps the mean of its three valid pixels, the second
  // is below half valid weight and masked.
  std::vector<float> in(16);
  std::iota(in.begin(), in.end(), 1.0f);
  in[0] = NAN;
  in[2] = in[3] = in[6] = NAN;
  const Resampler mean(4, 4, 2, 2, Resample::Mean);
  std::vector<float> out(4);
  std::vector<uint8_t> mask(4);
  EXPECT_EQ(mean.apply(in.data(), out.data(), mask.data(), -1.0f), 1);
  EXPECT_FLOAT_EQ(out[0], (2.0f + 5.0f + 6.0f) / 3.0f);
  EXPECT_EQ(mask[0], 0);
  EXPECT_EQ(out[1], -1.0f);
  EXPECT_EQ(mask[1], 1);
  EXPECT_FLOAT_EQ(out[2], (9.0f + 10.0f + 13.0f + 14.0f) / 4.0f);

  // Non-integer ratio: 3 -> 2 along each axis; flux of a constant image is
  // the pixel-area ratio times the constant, and totals are conserved.
  std::vector<float> flat(9, 2.0f), o(4);
  const Resampler flux(3, 3, 2, 2, Resample::Flux);
  flux.apply(flat.data(), o.data(), nullptr, 0.0f);
  for (float v : o) EXPECT_FLOAT_EQ(v, 2.0f * 2.25f);
  EXPECT_FLOAT_EQ(o[0] + o[1] + o[2] + o[3], 18.0f);

  EXPECT_THROW(Resampler(4, 4, 2, 2, Resample::None), std::invalid_argument);
  EXPECT_THROW(Resampler(0, 4, 2, 2, Resample::Mean), std::invalid_argument);
}

TEST(Resampler, BilinearUpsamplingOfARampIsExactInside) {
  // f(x, y) = x + 10 y on a 4x4 stamp with a 1-pixel margin; upsampling by 2
  // samples at (u + 0.5) / 2 - 0.5 and must reproduce the ramp there.
  const Resampler up(4, 4, 8, 8, Resample::Bilinear);
  ASSERT_EQ(up.margin(), 1);
  std::vector<float> win(static_cast<size_t>(up.window_w() * up.window_h()));
  for (int64_t j = 0; j < up.window_h(); ++j) {
    for (int64_t i = 0; i < up.window_w(); ++i) {
      win[static_cast<size_t>(j * up.window_w() + i)] = static_cast<float>((i - 1) + 10 * (j - 1));
    }
  }
  std::vector<float> out(64);
  EXPECT_EQ(up.apply(win.data(), out.data(), nullptr, NAN), 0);
  for (int v = 0; v < 8; ++v) {
    for (int u = 0; u < 8; ++u) {
      const double sx = (u + 0.5) / 2 - 0.5, sy = (v + 0.5) / 2 - 0.5;
      EXPECT_NEAR(out[v * 8 + u], sx + 10 * sy, 1e-5);
    }
  }
}

TEST(CutoutSource, RejectsBandsOnAnotherGrid) {
  const std::string sip = std::string(GML_TEST_DATA) + "/wcs/sipsample.fits";
  EXPECT_THROW(CutoutSource({kR, sip}), std::invalid_argument);
}

}  // namespace
}  // namespace gml::adapters
