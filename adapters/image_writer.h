// FITS output of postage stamps, and reading of ready-made cutout cubes.
//
// Layouts written by StampWriter (both end with a table of every stamp):
//
// HduPerStamp (default; what DS9 and astropy open directly):
//   HDU 1      header only: GMLKIND = 'CUTOUTS', NSTAMPS, NBANDS, BANDn
//              (source paths), STAMPW/STAMPH, SRCW/SRCH, RESAMPLE, SCALE.
//   then per stamp i (1-based EXTVER = i):
//     'STAMP'  float32 image W x H (x NBANDS when > 1 band; numpy shape
//              (C, H, W)) with its own celestial WCS: CRPIX shifted to the
//              stamp, CD/PC and SIP scaled when resampled. Keywords STAMPID
//              (0-based catalog row), RA_OBJ/DEC_OBJ, X_IMG/Y_IMG (0-based
//              centre in the source image), GMLFLAGS.
//     'MASK'   (optional) uint8 image of the same shape and WCS; 1 = fill.
//   Stamps without a position (bad coordinates, WCS failure) get no WCS.
//
// Cube (for machine learning; one array, no per-plane WCS):
//   HDU 1      float32 W x H x C x N (numpy (N, C, H, W)), keywords as above.
//   'MASK'     (optional) uint8 of the same shape.
//   'STAMPWCS' header-only HDU holding the WCS of a stamp whose first pixel
//              is image pixel (0, 0); stamp k's WCS is this header with
//              CRPIX1/CRPIX2 replaced by the table's CRPIX1/CRPIX2 of row k.
//
// 'STAMPS' binary table, one row per stamp in catalog order: ID, RA, DEC
// (deg), X, Y (0-based centre in the source image), X0, Y0 (0-based image
// pixel of stamp pixel (0, 0), before resampling), CRPIX1, CRPIX2 (of the
// stamp's WCS), FLAGS (CutoutFlag bits), HDU (EXTVER of the 'STAMP' HDU, or
// the cube index N).
//
// The file is written under a temporary name and renamed on commit().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adapters/cutout.h"

namespace gml::adapters {

enum class StampLayout : int32_t { HduPerStamp = 0, Cube = 1 };

class StampWriter {
 public:
  /// Starts `path` for `n` stamps of `plan`'s output size cut from `src`.
  /// Throws FitsError when the file cannot be created.
  StampWriter(const std::string& path, const CutoutSource& src, const CutoutPlan& plan,
              const CutoutSpec& spec, int64_t n, StampLayout layout, bool write_mask);
  ~StampWriter();

  /// Writes stamps [first, first + infos.size()) of the catalog: `stamps`
  /// and `mask` (may be null when the writer has no mask) as produced by
  /// CutoutSource::extract for those stamps, `ra`/`dec` their sky
  /// positions (NaN when unknown). Calls must cover the catalog in order.
  void write(int64_t first, const std::vector<StampInfo>& infos, const float* stamps,
             const uint8_t* mask, const double* ra, const double* dec);

  /// Writes the table and renames the file into place.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Shape of a cutout cube, numpy order (N, C, H, W).
struct CubeShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t size() const { return n * c * h * w; }
};

/// Shape of the cube in `path` (CFITSIO extended syntax selects an HDU;
/// otherwise the first image HDU with data): NAXIS 2 -> (1, 1, H, W),
/// NAXIS 3 -> (NAXIS3, 1, H, W), NAXIS 4 -> (NAXIS4, NAXIS3, H, W).
/// Throws FitsError, std::invalid_argument (table, NAXIS > 4 with axes
/// longer than 1 past the fourth).
CubeShape cutout_cube_shape(const std::string& path);

/// Reads the cube into `out` (shape.size() floats, (N, C, H, W) order,
/// BLANK/NaN as NaN). Returns the shape.
CubeShape read_cutout_cube(const std::string& path, float* out, int64_t capacity);

}  // namespace gml::adapters
