// Choosing the HDU whose WCS a caller means.
#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include "fits_io/errors.h"
#include "fits_io/fits_file.h"
#include "fits_io/image.h"
#include "fits_io/wcs.h"

namespace gml::fits {
namespace {

Wcs from_default_hdu(FitsFile& f, char alt) {
  try {
    return Wcs::from_file(f, alt);
  } catch (const WcsError&) {
    const bool primary_empty =
        f.current_hdu() == 1 && (f.hdu_type() != HduType::Image || image_info(f).naxes.empty());
    if (!primary_empty) throw;
    for (int h = 2; h <= f.num_hdus(); ++h) {
      f.move_to(h);
      try {
        return Wcs::from_file(f, alt);
      } catch (const WcsError&) {
      }
    }
    f.move_to(1);
    throw;
  }
}

}  // namespace

Wcs Wcs::from_hdu(FitsFile& f, const std::string& hdu, char alt) {
  if (hdu.empty()) return from_default_hdu(f, alt);
  const bool index =
      std::all_of(hdu.begin(), hdu.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (index) {
    // CFITSIO numbers HDUs from 1 in an int; seven digits are beyond any file.
    if (hdu.size() >= 7) throw std::invalid_argument("hdu index out of range: " + hdu);
    f.move_to(std::stoi(hdu) + 1);
  } else {
    f.move_to(hdu);
  }
  return from_file(f, alt);
}

}  // namespace gml::fits
