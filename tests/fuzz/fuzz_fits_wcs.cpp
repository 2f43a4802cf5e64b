// Fuzzes WCS header parsing and the transforms: any header text must give a
// usable Wcs or a WcsError, and transforms must never crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>

#include "fits_io/wcs.h"

using namespace gml::fits;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 18)) return 0;
  try {
    Wcs w(std::string(reinterpret_cast<const char*>(data), size));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    double x[6] = {1, 100.5, -50, 1e7, nan, 0}, y[6] = {1, 200.25, 3, -1e7, 1, nan};
    double ra[6], dec[6], x2[6], y2[6];
    int32_t st[6];
    w.pix2sky(x, y, 6, ra, dec, st);
    w.sky2pix(ra, dec, 6, x2, y2, st, Origin::Zero);
    w.pixel_scale_arcsec();
    w.to_header();
    Wcs c(w.cutout_header(10, 20, 2.0));
    c.pix2sky(x, y, 6, ra, dec, st);
  } catch (const std::exception&) {
  }
  return 0;
}
