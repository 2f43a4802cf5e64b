// Postage stamps around catalog positions, cut from survey images with a
// WCS, for whole catalogs in one pass over the image.
//
// Pixel convention: identical to astropy.nddata.Cutout2D(mode="partial",
// fill_value=nan). For a stamp of S pixels along an axis centred on the
// 0-based pixel coordinate p, the first stamp pixel is image pixel
// ceil(p - S / 2) (0-based); pixels outside the image are filled. Positions
// given on the sky are converted with the first band's WCS (WCSLIB,
// distortions included, as astropy's all_world2pix). When p - S / 2 lies
// within 1e-6 pixel of an integer the origin snaps to that integer, so that
// a sky -> pixel round trip of an exactly integral position cannot move the
// stamp by a whole pixel.
//
// Bands: every band must be a 2-D image of the same shape. Bands with a
// celestial WCS must agree with the first band's WCS to 0.01 pixel over the
// image; bands without one are taken to be on the first band's grid.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "adapters/band_reader.h"
#include "adapters/resample.h"
#include "fits_io/wcs.h"

namespace gml {
class Progress;
}

namespace gml::adapters {

/// Per-stamp flags (bit mask). 0: the stamp lies wholly inside the image and
/// every pixel is valid.
enum CutoutFlag : int32_t {
  kCutoutPartial = 1,        ///< part of the stamp lies outside the image
  kCutoutOffImage = 2,       ///< no pixel of the stamp is on the image
  kCutoutBadCoord = 4,       ///< position NaN/infinite or Dec outside [-90, 90]
  kCutoutWcsFailed = 8,      ///< the WCS could not map the position to pixels
  kCutoutInvalidPixels = 16  ///< some on-image pixels are NaN/BLANK in some band
};

enum class PositionKind { Sky, Pixel };

struct CutoutSpec {
  /// Stamp size in image pixels (width along NAXIS1, height along NAXIS2).
  int64_t size_x = 64, size_y = 64;
  /// If > 0: stamp side in arcsec (square), converted with the first band's
  /// mean pixel scale and rounded to whole pixels; size_x/size_y ignored.
  double size_arcsec = 0;
  /// Output size after resampling; 0 keeps the stamp size. The
  /// pixel-scale change must be the same along both axes.
  int64_t out_x = 0, out_y = 0;
  Resample resample = Resample::None;
  float fill = std::numeric_limits<float>::quiet_NaN();
  /// Image rows per read; 0 picks a value that keeps about 64 MiB of rows.
  int64_t chunk_rows = 0;
};

/// Resolved stamp geometry.
struct CutoutPlan {
  int64_t src_w = 0, src_h = 0;  ///< stamp size in image pixels
  int64_t out_w = 0, out_h = 0;  ///< delivered size
  double scale = 1;              ///< image pixels per delivered pixel
};

/// Where one stamp lies.
struct StampInfo {
  double x = std::numeric_limits<double>::quiet_NaN();  ///< 0-based centre, NAXIS1
  double y = std::numeric_limits<double>::quiet_NaN();  ///< 0-based centre, NAXIS2
  int64_t x0 = 0, y0 = 0;  ///< 0-based image pixel of stamp pixel (0, 0)
  int32_t flags = 0;
  /// True when the stamp has a pixel grid on the image (a WCS can be made).
  bool located() const { return (flags & (kCutoutBadCoord | kCutoutWcsFailed)) == 0; }
};

class CutoutSource {
 public:
  /// Opens the bands (see band_reader.h for HDU selection) and checks they
  /// share one pixel grid. The first band must have a celestial WCS unless
  /// positions are only ever given in pixels (`need_wcs` false).
  /// Throws FitsError, WcsError, std::invalid_argument.
  explicit CutoutSource(const std::vector<std::string>& band_paths, bool need_wcs = true);
  ~CutoutSource();
  CutoutSource(CutoutSource&&) noexcept;
  CutoutSource& operator=(CutoutSource&&) noexcept;

  int n_bands() const { return static_cast<int>(bands_.size()); }
  int64_t nx() const { return bands_.front().nx; }
  int64_t ny() const { return bands_.front().ny; }
  const std::vector<std::string>& paths() const { return paths_; }
  /// First band's WCS; nullptr when it has none.
  const fits::Wcs* wcs() const { return wcs_.get(); }

  /// Stamp geometry for `spec`. Throws std::invalid_argument for invalid
  /// sizes, a size in arcsec without a WCS, or unequal scale changes.
  CutoutPlan plan(const CutoutSpec& spec) const;

  /// Locates n positions (degrees for Sky; 0-based pixels for Pixel). Bad
  /// positions are flagged, never thrown.
  std::vector<StampInfo> locate(const double* a, const double* b, int64_t n, PositionKind kind,
                                const CutoutPlan& plan);

  /// Cuts the stamps: `stamps` receives [n, n_bands, out_h, out_w] floats,
  /// `mask` (may be null) the same shape as uint8 (1 = fill value: outside
  /// the image, NaN/BLANK, or too little valid area after resampling).
  /// Adds kCutoutInvalidPixels to `infos` flags where due. Each image row is
  /// read at most once. `progress` (may be null) is updated with
  /// progress_base + stamps done, and may throw Error(Cancelled); finishing
  /// it is the caller's business.
  void extract(std::vector<StampInfo>& infos, const CutoutPlan& plan, const CutoutSpec& spec,
               float* stamps, uint8_t* mask, Progress* progress, int64_t progress_base = 0);

  /// FITS WCS cards (80-character records, no END) of a located stamp:
  /// CRPIX shifted to the stamp origin and, when resampled, CD (and SIP)
  /// scaled. Throws std::logic_error for an unlocated stamp or no WCS.
  std::string stamp_header(const StampInfo& info, const CutoutPlan& plan) const;

  /// Image rows read by the last extract() (for tests of the one-pass read).
  int64_t rows_read() const { return rows_read_; }

 private:
  std::vector<std::string> paths_;
  std::vector<Band> bands_;
  std::unique_ptr<fits::Wcs> wcs_;
  int64_t rows_read_ = 0;
};

}  // namespace gml::adapters
