#include "fits_io/image.h"

#include <fitsio.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace gml::fits {
namespace {

using detail::check_fits;

template <typename T>
struct PixType;
template <>
struct PixType<float> {
  static constexpr int code = TFLOAT;
  static constexpr int bitpix = FLOAT_IMG;
};
template <>
struct PixType<double> {
  static constexpr int code = TDOUBLE;
  static constexpr int bitpix = DOUBLE_IMG;
};

void require_image(FitsFile& f, const char* op) {
  if (f.hdu_type() != HduType::Image) {
    throw FitsError(NOT_IMAGE, std::string(op) + " '" + f.path() + "': HDU " +
                                   std::to_string(f.current_hdu()) + " is a table, not an image");
  }
}

int64_t checked_product(const std::vector<int64_t>& dims) {
  int64_t n = dims.empty() ? 0 : 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > std::numeric_limits<int64_t>::max() / d)) {
      throw std::invalid_argument("image size overflows int64");
    }
    n *= d;
  }
  return n;
}

template <typename T>
std::vector<T> read_all(FitsFile& f) {
  require_image(f, "read image");
  ImageInfo info = image_info(f);
  const int64_t n = info.num_pixels();
  std::vector<T> out(static_cast<size_t>(n));
  if (n == 0) return out;
  std::vector<LONGLONG> first(info.naxes.size(), 1);
  // A NaN null value makes CFITSIO map BLANK (and IEEE NaN) to NaN.
  T nulval = std::numeric_limits<T>::quiet_NaN();
  int anynul = 0, status = 0;
  fits_read_pixll(f.handle(), PixType<T>::code, first.data(), n, &nulval, out.data(), &anynul,
                  &status);
  check_fits(status, f.path(), "read image data");
  return out;
}

template <typename T>
void read_section_impl(FitsFile& f, const std::vector<int64_t>& first,
                       const std::vector<int64_t>& last, T* out) {
  require_image(f, "read image section");
  ImageInfo info = image_info(f);
  const size_t naxis = info.naxes.size();
  if (first.size() != naxis || last.size() != naxis) {
    throw std::invalid_argument("read_section: image '" + f.path() + "' has " +
                                std::to_string(naxis) + " axes, section gives " +
                                std::to_string(first.size()) + "/" + std::to_string(last.size()));
  }
  if (out == nullptr) throw std::invalid_argument("read_section: null output buffer");
  std::vector<long> fp(naxis), lp(naxis), inc(naxis, 1);
  for (size_t i = 0; i < naxis; ++i) {
    if (first[i] < 1 || last[i] < first[i] || last[i] > info.naxes[i]) {
      throw std::invalid_argument("read_section: axis " + std::to_string(i + 1) + " range [" +
                                  std::to_string(first[i]) + ", " + std::to_string(last[i]) +
                                  "] is not inside [1, " + std::to_string(info.naxes[i]) + "]");
    }
    fp[i] = static_cast<long>(first[i]);
    lp[i] = static_cast<long>(last[i]);
  }
  T nulval = std::numeric_limits<T>::quiet_NaN();
  int anynul = 0, status = 0;
  fits_read_subset(f.handle(), PixType<T>::code, fp.data(), lp.data(), inc.data(), &nulval, out,
                   &anynul, &status);
  check_fits(status, f.path(), "read image section");
}

template <typename T>
void write_impl(FitsFile& f, const std::vector<int64_t>& naxes, const T* data) {
  if (naxes.empty()) throw std::invalid_argument("write_image: empty shape");
  for (int64_t d : naxes) {
    if (d < 1) throw std::invalid_argument("write_image: axis lengths must be >= 1");
  }
  const int64_t n = checked_product(naxes);
  if (data == nullptr) throw std::invalid_argument("write_image: null data");
  std::vector<LONGLONG> dims(naxes.begin(), naxes.end());
  int status = 0;
  fits_create_imgll(f.handle(), PixType<T>::bitpix, static_cast<int>(dims.size()), dims.data(),
                    &status);
  check_fits(status, f.path(), "create image HDU");
  std::vector<LONGLONG> first(dims.size(), 1);
  fits_write_pixll(f.handle(), PixType<T>::code, first.data(), n, const_cast<T*>(data), &status);
  check_fits(status, f.path(), "write image data");
}

}  // namespace

int64_t ImageInfo::num_pixels() const {
  return checked_product(naxes);
}

ImageInfo image_info(FitsFile& f) {
  require_image(f, "read image shape");
  ImageInfo info;
  int status = 0, naxis = 0;
  fits_get_img_type(f.handle(), &info.bitpix, &status);
  fits_get_img_dim(f.handle(), &naxis, &status);
  check_fits(status, f.path(), "read image shape");
  std::vector<LONGLONG> dims(static_cast<size_t>(std::max(naxis, 0)));
  if (naxis > 0) {
    fits_get_img_sizell(f.handle(), naxis, dims.data(), &status);
    check_fits(status, f.path(), "read image shape");
  }
  info.naxes.assign(dims.begin(), dims.end());
  return info;
}

std::vector<float> read_image_f32(FitsFile& f) {
  return read_all<float>(f);
}
std::vector<double> read_image_f64(FitsFile& f) {
  return read_all<double>(f);
}

void read_section(FitsFile& f, const std::vector<int64_t>& first, const std::vector<int64_t>& last,
                  float* out) {
  read_section_impl(f, first, last, out);
}
void read_section(FitsFile& f, const std::vector<int64_t>& first, const std::vector<int64_t>& last,
                  double* out) {
  read_section_impl(f, first, last, out);
}

int64_t read_window(FitsFile& f, int64_t x_first, int64_t y_first, int64_t nx, int64_t ny,
                    float* out, int64_t plane) {
  if (nx < 1 || ny < 1) throw std::invalid_argument("read_window: nx and ny must be >= 1");
  if (out == nullptr) throw std::invalid_argument("read_window: null output buffer");
  ImageInfo info = image_info(f);
  if (info.naxes.size() < 2) {
    throw std::invalid_argument("read_window: '" + f.path() + "' is not a 2-D image or cube");
  }
  const int64_t plane_size = info.naxes[0] * info.naxes[1];
  const int64_t nplanes = plane_size == 0 ? 0 : info.num_pixels() / plane_size;
  if (plane < 0 || plane >= nplanes) {
    throw std::invalid_argument("read_window: plane " + std::to_string(plane) +
                                " out of range [0, " + std::to_string(nplanes) + ")");
  }
  checked_product({nx, ny});
  std::fill(out, out + nx * ny, std::numeric_limits<float>::quiet_NaN());
  const int64_t x0 = std::max<int64_t>(x_first, 1);
  const int64_t y0 = std::max<int64_t>(y_first, 1);
  const int64_t x1 = std::min<int64_t>(x_first + nx - 1, info.naxes[0]);
  const int64_t y1 = std::min<int64_t>(y_first + ny - 1, info.naxes[1]);
  if (x0 > x1 || y0 > y1) return 0;
  std::vector<int64_t> first(info.naxes.size()), last(info.naxes.size());
  first[0] = x0;
  last[0] = x1;
  first[1] = y0;
  last[1] = y1;
  int64_t rest = plane;
  for (size_t i = 2; i < info.naxes.size(); ++i) {
    first[i] = last[i] = rest % info.naxes[i] + 1;
    rest /= info.naxes[i];
  }
  const int64_t w = x1 - x0 + 1, h = y1 - y0 + 1;
  std::vector<float> inside(static_cast<size_t>(w * h));
  read_section_impl(f, first, last, inside.data());
  for (int64_t j = 0; j < h; ++j) {
    std::copy_n(inside.data() + j * w, w, out + (y0 - y_first + j) * nx + (x0 - x_first));
  }
  return w * h;
}

std::vector<float> read_plane_f32(FitsFile& f, int64_t plane) {
  ImageInfo info = image_info(f);
  if (info.naxes.size() < 2) {
    throw std::invalid_argument("read_plane: '" + f.path() + "' is not a 2-D image or cube");
  }
  std::vector<float> out(static_cast<size_t>(info.naxes[0] * info.naxes[1]));
  read_window(f, 1, 1, info.naxes[0], info.naxes[1], out.data(), plane);
  return out;
}

void write_image(FitsFile& f, const std::vector<int64_t>& naxes, const float* data) {
  write_impl(f, naxes, data);
}
void write_image(FitsFile& f, const std::vector<int64_t>& naxes, const double* data) {
  write_impl(f, naxes, data);
}

void write_empty_primary(FitsFile& f) {
  int status = 0;
  fits_create_img(f.handle(), BYTE_IMG, 0, nullptr, &status);
  check_fits(status, f.path(), "create empty primary HDU");
}

}  // namespace gml::fits
