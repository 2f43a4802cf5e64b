#include "adapters/cutout.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/common/progress.h"

namespace gml::adapters {
namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr int64_t kMaxStampSide = int64_t{1} << 16;
// Beyond this the stamp is certainly off any image, and int64 arithmetic on
// the origin stays far from overflow.
constexpr double kFarAway = 1e15;

// astropy's overlap_slices: first pixel = ceil(p - S/2), with a tolerance so
// that a sky round trip of an integral position cannot shift the stamp.
int64_t stamp_origin(double p, int64_t size) {
  const double t = std::clamp(p - static_cast<double>(size) / 2.0, -kFarAway, kFarAway);
  const double r = std::round(t);
  return static_cast<int64_t>(std::abs(t - r) <= 1e-6 ? r : std::ceil(t));
}

// Largest pixel offset between two WCS over a 3x3 grid of image points.
double grid_mismatch(fits::Wcs& ref, fits::Wcs& other, int64_t nx, int64_t ny) {
  double x[9], y[9], ra[9], dec[9], x2[9], y2[9];
  for (int j = 0; j < 3; ++j) {
    for (int i = 0; i < 3; ++i) {
      x[j * 3 + i] = 1.0 + 0.5 * i * static_cast<double>(nx - 1);
      y[j * 3 + i] = 1.0 + 0.5 * j * static_cast<double>(ny - 1);
    }
  }
  ref.pix2sky(x, y, 9, ra, dec);
  other.sky2pix(ra, dec, 9, x2, y2);
  double worst = 0;
  for (int k = 0; k < 9; ++k) {
    const double d = std::hypot(x2[k] - x[k], y2[k] - y[k]);
    worst = std::isnan(d) ? HUGE_VAL : std::max(worst, d);
  }
  return worst;
}

// Copies a stamp without resampling; NaN/BLANK and off-image pixels become
// `fill` and are masked. Returns true if an on-image pixel was invalid.
bool copy_stamp(const BandReader& reader, int b, const StampInfo& s, const CutoutPlan& plan,
                int64_t nx, int64_t ny, float fill, float* out, uint8_t* mask) {
  const int64_t w = plan.src_w;
  const int64_t c0 = std::clamp<int64_t>(-s.x0, 0, w), c1 = std::clamp<int64_t>(nx - s.x0, c0, w);
  bool invalid = false;
  for (int64_t r = 0; r < plan.src_h; ++r) {
    float* o = out + r * w;
    uint8_t* mk = mask ? mask + r * w : nullptr;
    const int64_t y = s.y0 + r;
    const bool row_on = y >= 0 && y < ny;
    const int64_t a = row_on ? c0 : w, e = row_on ? c1 : w;
    std::fill(o, o + a, fill);
    std::fill(o + e, o + w, fill);
    if (mk) {
      std::fill(mk, mk + a, uint8_t{1});
      std::fill(mk + e, mk + w, uint8_t{1});
    }
    if (!row_on) continue;
    const float* src = reader.row(b, y);
    for (int64_t c = a; c < e; ++c) {
      const float v = src[s.x0 + c];
      const bool bad = std::isnan(v);
      o[c] = bad ? fill : v;
      if (mk) mk[c] = bad ? 1 : 0;
      invalid |= bad;
    }
  }
  return invalid;
}

}  // namespace

CutoutSource::CutoutSource(const std::vector<std::string>& band_paths, bool need_wcs)
    : paths_(band_paths) {
  if (band_paths.empty()) throw std::invalid_argument("cutouts: no image bands given");
  for (const std::string& p : band_paths) bands_.push_back(open_band(p));
  try {
    wcs_ = std::make_unique<fits::Wcs>(fits::Wcs::from_file(bands_.front().file));
  } catch (const fits::WcsError&) {
    if (need_wcs) throw;
  }
  for (size_t b = 1; b < bands_.size(); ++b) {
    const Band& band = bands_[b];
    if (band.nx != nx() || band.ny != ny()) {
      throw std::invalid_argument(
          "cutouts: band " + std::to_string(b + 1) + " '" + band.path + "' is " +
          std::to_string(band.nx) + "x" + std::to_string(band.ny) + " pixels but band 1 '" +
          bands_.front().path + "' is " + std::to_string(nx()) + "x" + std::to_string(ny()));
    }
    if (!wcs_) continue;
    std::unique_ptr<fits::Wcs> other;
    try {
      other = std::make_unique<fits::Wcs>(fits::Wcs::from_file(bands_[b].file));
    } catch (const fits::WcsError&) {
      continue;  // no celestial WCS: assumed on band 1's grid
    }
    const double d = grid_mismatch(*wcs_, *other, nx(), ny());
    if (!(d <= 0.01)) {
      throw std::invalid_argument("cutouts: band " + std::to_string(b + 1) + " '" + band.path +
                                  "' is not on the pixel grid of band 1 (its WCS differs by " +
                                  std::to_string(d) + " pixel); resample it first");
    }
  }
}

CutoutSource::~CutoutSource() = default;
CutoutSource::CutoutSource(CutoutSource&&) noexcept = default;
CutoutSource& CutoutSource::operator=(CutoutSource&&) noexcept = default;

CutoutPlan CutoutSource::plan(const CutoutSpec& spec) const {
  CutoutPlan p;
  if (spec.size_arcsec > 0) {
    if (!wcs_) throw std::invalid_argument("cutouts: size in arcsec needs a celestial WCS");
    if (!std::isfinite(spec.size_arcsec)) {
      throw std::invalid_argument("cutouts: size_arcsec must be finite");
    }
    const double side = std::round(spec.size_arcsec / wcs_->pixel_scale_arcsec());
    p.src_w = p.src_h = static_cast<int64_t>(std::clamp(side, 1.0, 2.0 * kMaxStampSide));
  } else {
    if (spec.size_arcsec < 0 || std::isnan(spec.size_arcsec)) {
      throw std::invalid_argument("cutouts: size_arcsec must be >= 0");
    }
    p.src_w = spec.size_x;
    p.src_h = spec.size_y;
  }
  if (p.src_w < 1 || p.src_h < 1 || p.src_w > kMaxStampSide || p.src_h > kMaxStampSide) {
    throw std::invalid_argument("cutouts: stamp size " + std::to_string(p.src_w) + "x" +
                                std::to_string(p.src_h) + " pixels is outside [1, " +
                                std::to_string(kMaxStampSide) + "]");
  }
  if ((spec.out_x == 0) != (spec.out_y == 0) || spec.out_x < 0 || spec.out_y < 0 ||
      spec.out_x > kMaxStampSide || spec.out_y > kMaxStampSide) {
    throw std::invalid_argument(
        "cutouts: output size must be both 0 (no resampling) or both in "
        "[1, " +
        std::to_string(kMaxStampSide) + "]");
  }
  p.out_w = spec.out_x > 0 ? spec.out_x : p.src_w;
  p.out_h = spec.out_y > 0 ? spec.out_y : p.src_h;
  const double sx = static_cast<double>(p.src_w) / static_cast<double>(p.out_w);
  const double sy = static_cast<double>(p.src_h) / static_cast<double>(p.out_h);
  if (std::abs(sx - sy) > 1e-9 * sx) {
    throw std::invalid_argument("cutouts: resampling " + std::to_string(p.src_w) + "x" +
                                std::to_string(p.src_h) + " to " + std::to_string(p.out_w) + "x" +
                                std::to_string(p.out_h) +
                                " changes the pixel scale unequally along the axes");
  }
  p.scale = sx;
  Resampler check(p.src_w, p.src_h, p.out_w, p.out_h, spec.resample);  // validates the mode
  (void)check;
  return p;
}

std::vector<StampInfo> CutoutSource::locate(const double* a, const double* b, int64_t n,
                                            PositionKind kind, const CutoutPlan& plan) {
  std::vector<StampInfo> out(static_cast<size_t>(n));
  std::vector<double> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  std::vector<int32_t> st(static_cast<size_t>(n), fits::kWcsOk);
  for (int64_t i = 0; i < n; ++i) {
    const bool finite = std::isfinite(a[i]) && std::isfinite(b[i]);
    const bool ok = kind == PositionKind::Sky ? finite && std::abs(b[i]) <= 90.0 : finite;
    if (!ok) out[static_cast<size_t>(i)].flags |= kCutoutBadCoord;
  }
  if (kind == PositionKind::Sky) {
    if (!wcs_) throw std::invalid_argument("cutouts: sky positions need a celestial WCS");
    wcs_->sky2pix(a, b, static_cast<size_t>(n), x.data(), y.data(), st.data(), fits::Origin::Zero);
  } else {
    std::copy_n(a, n, x.data());
    std::copy_n(b, n, y.data());
  }
  for (int64_t i = 0; i < n; ++i) {
    StampInfo& s = out[static_cast<size_t>(i)];
    const auto k = static_cast<size_t>(i);
    if (s.flags & kCutoutBadCoord) continue;
    if (st[k] != fits::kWcsOk || !std::isfinite(x[k]) || !std::isfinite(y[k])) {
      s.flags |= kCutoutWcsFailed;
      continue;
    }
    s.x = x[k];
    s.y = y[k];
    s.x0 = stamp_origin(s.x, plan.src_w);
    s.y0 = stamp_origin(s.y, plan.src_h);
    const bool overlaps =
        s.x0 < nx() && s.x0 + plan.src_w > 0 && s.y0 < ny() && s.y0 + plan.src_h > 0;
    if (!overlaps) {
      s.flags |= kCutoutOffImage;
    } else if (s.x0 < 0 || s.y0 < 0 || s.x0 + plan.src_w > nx() || s.y0 + plan.src_h > ny()) {
      s.flags |= kCutoutPartial;
    }
  }
  return out;
}

void CutoutSource::extract(std::vector<StampInfo>& infos, const CutoutPlan& plan,
                           const CutoutSpec& spec, float* stamps, uint8_t* mask, Progress* progress,
                           int64_t progress_base) {
  const Resampler rs(plan.src_w, plan.src_h, plan.out_w, plan.out_h, spec.resample);
  const int64_t m = rs.margin(), ww = rs.window_w(), wh = rs.window_h();
  const int nb = n_bands();
  const int64_t plane = plan.out_w * plan.out_h;
  const auto n = static_cast<int64_t>(infos.size());
  auto out_at = [&](int64_t i, int b) { return (i * nb + b) * plane; };

  std::vector<int64_t> order;
  for (int64_t i = 0; i < n; ++i) {
    const StampInfo& s = infos[static_cast<size_t>(i)];
    if (s.located() && !(s.flags & kCutoutOffImage)) {
      order.push_back(i);
    } else {
      std::fill_n(stamps + out_at(i, 0), plane * nb, spec.fill);
      if (mask) std::fill_n(mask + out_at(i, 0), plane * nb, uint8_t{1});
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
    return infos[static_cast<size_t>(p)].y0 < infos[static_cast<size_t>(q)].y0;
  });

  int64_t chunk = spec.chunk_rows;
  if (chunk <= 0) {
    const int64_t row_bytes = nx() * static_cast<int64_t>(sizeof(float)) * nb;
    chunk = std::max<int64_t>(16, (int64_t{64} << 20) / std::max<int64_t>(row_bytes, 1));
  }
  BandReader reader(&bands_, chunk);
  std::vector<float> window(static_cast<size_t>(ww * wh));
  int64_t done = n - static_cast<int64_t>(order.size());
  for (int64_t i : order) {
    StampInfo& s = infos[static_cast<size_t>(i)];
    const int64_t lo = s.y0 - m, wx0 = s.x0 - m;
    reader.require(lo, lo + wh);
    if (spec.resample == Resample::None) {
      // Plain cutouts skip the window and resampler: one pass per row.
      for (int b = 0; b < nb; ++b) {
        if (copy_stamp(reader, b, s, plan, nx(), ny(), spec.fill, stamps + out_at(i, b),
                       mask ? mask + out_at(i, b) : nullptr)) {
          s.flags |= kCutoutInvalidPixels;
        }
      }
      if (progress && (++done % 64 == 0)) progress->update(progress_base + done);
      continue;
    }
    // Columns and rows of the window that are on the image.
    const int64_t c0 = std::max<int64_t>(0, -wx0), c1 = std::min<int64_t>(ww, nx() - wx0);
    const int64_t r0 = std::max<int64_t>(0, -lo), r1 = std::min<int64_t>(wh, ny() - lo);
    for (int b = 0; b < nb; ++b) {
      std::fill(window.begin(), window.end(), kNaNf);
      bool invalid = false;
      for (int64_t r = r0; r < r1; ++r) {
        const float* src = reader.row(b, lo + r) + wx0;
        float* dst = window.data() + r * ww;
        std::copy(src + c0, src + c1, dst + c0);
        if (r < m || r >= m + plan.src_h) continue;
        for (int64_t c = std::max(c0, m); c < std::min(c1, m + plan.src_w); ++c) {
          invalid = invalid || std::isnan(dst[c]);
        }
      }
      if (invalid) s.flags |= kCutoutInvalidPixels;
      rs.apply(window.data(), stamps + out_at(i, b), mask ? mask + out_at(i, b) : nullptr,
               spec.fill);
    }
    if (progress && (++done % 64 == 0)) progress->update(progress_base + done);
  }
  rows_read_ = reader.rows_read();
}

std::string CutoutSource::stamp_header(const StampInfo& info, const CutoutPlan& plan) const {
  if (!wcs_) throw std::logic_error("stamp_header: the image has no celestial WCS");
  if (!info.located()) throw std::logic_error("stamp_header: stamp has no position");
  return wcs_->cutout_header(static_cast<double>(info.x0) + 1.0, static_cast<double>(info.y0) + 1.0,
                             plan.scale);
}

}  // namespace gml::adapters
