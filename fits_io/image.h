// Image HDU reading and writing. Pixel buffers are C order with NAXIS1
// varying fastest: pixel (x, y) of a 2-D image (1-based FITS numbering) is
// at out[(y - 1) * naxis1 + (x - 1)], i.e. numpy's data[y-1, x-1].
#pragma once

#include <cstdint>
#include <vector>

#include "fits_io/fits_file.h"

namespace gml::fits {

/// Shape and storage type of the current image HDU.
struct ImageInfo {
  int bitpix = 0;              ///< 8, 16, 32, 64, -32 or -64 (as stored)
  std::vector<int64_t> naxes;  ///< NAXIS1, NAXIS2, ... (empty for no data)
  /// Product of naxes (0 if there is no data array).
  int64_t num_pixels() const;
};

/// Shape of the current HDU, which must be an image (primary or IMAGE
/// extension, including tile-compressed images). Throws FitsError if the
/// HDU is a table.
ImageInfo image_info(FitsFile& f);

/// Reads the whole image as float32 / float64, with BSCALE/BZERO applied
/// and undefined pixels (BLANK for integer images, NaN for float images)
/// returned as NaN. Throws FitsError (table HDU, truncated data, I/O).
std::vector<float> read_image_f32(FitsFile& f);
std::vector<double> read_image_f64(FitsFile& f);

/// Reads the rectangular section first[i]..last[i] (1-based, inclusive,
/// one entry per axis, NAXIS1 first) into `out`, which must hold the
/// product of (last[i] - first[i] + 1) values. Scaling and BLANK -> NaN as
/// above. Throws std::invalid_argument if the section is empty, has the
/// wrong number of axes or leaves the image; FitsError on read failure.
void read_section(FitsFile& f, const std::vector<int64_t>& first, const std::vector<int64_t>& last,
                  float* out);
void read_section(FitsFile& f, const std::vector<int64_t>& first, const std::vector<int64_t>& last,
                  double* out);

/// Reads an nx x ny window whose lower-left pixel is (x_first, y_first)
/// (1-based FITS pixels) from 2-D plane `plane` (0-based index over all
/// higher axes flattened; 0 for a 2-D image). The window may extend past
/// the image or lie wholly outside it: pixels outside are NaN. This is the
/// primitive behind cutouts ("partial" mode). Returns the number of window
/// pixels that fell inside the image. Throws std::invalid_argument for
/// nx/ny < 1, a plane out of range or an image with fewer than 2 axes.
int64_t read_window(FitsFile& f, int64_t x_first, int64_t y_first, int64_t nx, int64_t ny,
                    float* out, int64_t plane = 0);

/// Reads 2-D plane `plane` (0-based, as in read_window) of a cube (NAXIS
/// >= 2) as float32. Throws as read_section.
std::vector<float> read_plane_f32(FitsFile& f, int64_t plane);

/// Appends an image HDU (the primary HDU if the file is empty) of shape
/// `naxes` (NAXIS1 first, 1-4+ axes) holding `data` (product of naxes
/// values, C order as above) stored as BITPIX -32 / -64. NaN stays NaN.
/// Throws std::invalid_argument for an empty shape or non-positive axis,
/// FitsError on write failure.
void write_image(FitsFile& f, const std::vector<int64_t>& naxes, const float* data);
void write_image(FitsFile& f, const std::vector<int64_t>& naxes, const double* data);

/// Appends a header-only primary HDU (NAXIS = 0), as needed before the
/// first table extension of a new file. Throws FitsError.
void write_empty_primary(FitsFile& f);

}  // namespace gml::fits
