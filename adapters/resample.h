// Resampling of a postage stamp onto a coarser or finer pixel grid.
//
// The output grid spans exactly the same sky area as the input stamp: output
// pixel u covers input pixels [u * s, (u + 1) * s) along each axis, where
// s = in / out (input pixels per output pixel), so its centre lies at input
// coordinate (u + 0.5) * s - 0.5 (0-based). This is the geometry that
// fits::Wcs::cutout_header(x0, y0, s) describes.
//
// Modes:
//  - None: a copy (in == out required).
//  - Mean: area-weighted average of the input pixels each output pixel
//    overlaps. Keeps surface brightness (per-pixel values stay comparable
//    with the input; total flux scales with the pixel area).
//  - Flux: Mean times the pixel-area ratio s_x * s_y, so the sum over the
//    stamp is conserved (counts, nanomaggies per pixel).
//  - Bilinear: interpolation of the four input pixel centres around each
//    output pixel centre. Smooth for upsampling; for downsampling by more
//    than ~1.5x it aliases noise, prefer Mean/Flux there.
//
// Invalid input pixels (NaN: outside the image, BLANK) are left out and the
// weights of the valid ones renormalised. An output pixel whose valid weight
// is below half of its total weight is set to the fill value and masked.
#pragma once

#include <cstdint>
#include <vector>

namespace gml::adapters {

enum class Resample : int32_t { None = 0, Mean = 1, Flux = 2, Bilinear = 3 };

/// Name of a mode ("none", "mean", "flux", "bilinear").
const char* to_string(Resample mode);

class Resampler {
 public:
  /// Throws std::invalid_argument for non-positive sizes or mode None with
  /// in != out.
  Resampler(int64_t in_w, int64_t in_h, int64_t out_w, int64_t out_h, Resample mode);

  /// Input pixels needed on each side of the stamp (1 for Bilinear).
  int64_t margin() const { return margin_; }
  /// Width and height of the input window apply() reads:
  /// in + 2 * margin().
  int64_t window_w() const { return in_w_ + 2 * margin_; }
  int64_t window_h() const { return in_h_ + 2 * margin_; }

  /// Resamples `window` (window_h() x window_w(), row-major, NaN = invalid;
  /// stamp pixel (i, j) is window[(j + margin) * window_w() + i + margin])
  /// into `out` (out_h x out_w). `mask` (same shape, may be null) receives 1
  /// where the output is the fill value, else 0. Returns the number of
  /// masked output pixels.
  int64_t apply(const float* window, float* out, uint8_t* mask, float fill) const;

 private:
  struct Taps {
    std::vector<int32_t> start, count;  // per output index, into idx/w
    std::vector<int64_t> idx;           // window index along the axis
    std::vector<double> w;
  };
  Taps make_taps(int64_t in, int64_t out) const;

  int64_t in_w_, in_h_, out_w_, out_h_;
  Resample mode_;
  int64_t margin_;
  double gain_;  // Flux: area ratio; else 1
  Taps tx_, ty_;
};

}  // namespace gml::adapters
