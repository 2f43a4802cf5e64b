// Row-strip access to the bands of a survey image for cutouts.
//
// Cutting thousands of stamps must not re-read the image per stamp, and must
// not need the whole image in memory either. A BandReader keeps a sliding
// window of image rows for every band: callers ask for row ranges in
// non-decreasing order of their first row, rows that no later request can
// need are dropped, and each image row is read from disk at most once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/wcs.h"

namespace gml::adapters {

/// One band: an image HDU holding a 2-D image (further axes of length 1
/// are allowed).
struct Band {
  std::string path;
  fits::FitsFile file;
  int64_t nx = 0, ny = 0;
};

/// Opens `path` (CFITSIO extended syntax selects an HDU, e.g. "mef.fits[2]"
/// or "mef.fits[SCI]"). Without an explicit HDU and with an empty primary
/// (NAXIS = 0), the first image extension with data is used, as survey MEF
/// and tile-compressed files keep their image there. Throws FitsError,
/// std::invalid_argument for a table HDU or an image that is not 2-D.
Band open_band(const std::string& path);

class BandReader {
 public:
  /// `bands` all have the same shape. `chunk_rows` (>= 1) is the number of
  /// rows read per CFITSIO call when the window must grow.
  BandReader(std::vector<Band>* bands, int64_t chunk_rows);

  /// Makes rows [lo, hi) (0-based, clipped to the image) resident. `lo`
  /// must not decrease between calls; rows below it are released.
  void require(int64_t lo, int64_t hi);

  /// Row `y` (0-based, resident) of band `b`: nx floats, NaN where the image
  /// is undefined (BLANK or NaN).
  const float* row(int b, int64_t y) const;

  /// Rows read from the files so far (all bands count once).
  int64_t rows_read() const { return rows_read_; }

 private:
  void read_rows(int64_t first, int64_t last);

  std::vector<Band>* bands_;
  int64_t nx_, ny_, chunk_;
  int64_t base_ = 0;                     // first row held in buf_
  int64_t lo_ = 0, hi_ = 0;              // rows [lo_, hi_) are guaranteed resident
  std::vector<std::vector<float>> buf_;  // per band, rows base_ .. hi_ - 1
  int64_t rows_read_ = 0;
};

}  // namespace gml::adapters
