#include "core/posterior/sed/magnitudes.h"

#include <cmath>
#include <limits>

namespace gml::sed {

namespace {
constexpr double kMaggiesPerNmgy = 1.0e-9;
}

double pogson_mag(double nmgy) {
  if (!(nmgy > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return 22.5 - 2.5 * std::log10(nmgy);
}

double asinh_mag(double nmgy, double b_maggies) {
  const double f = nmgy * kMaggiesPerNmgy;
  return -kPogson * (std::asinh(f / (2.0 * b_maggies)) + std::log(b_maggies));
}

double asinh_mag_to_nmgy(double mag, double b_maggies) {
  const double f = 2.0 * b_maggies * std::sinh(-mag / kPogson - std::log(b_maggies));
  return f / kMaggiesPerNmgy;
}

double asinh_mag_error(double nmgy, double sigma_nmgy, double b_maggies) {
  const double f = nmgy * kMaggiesPerNmgy;
  const double s = sigma_nmgy * kMaggiesPerNmgy;
  return kPogson * s / std::sqrt(f * f + 4.0 * b_maggies * b_maggies);
}

}  // namespace gml::sed
