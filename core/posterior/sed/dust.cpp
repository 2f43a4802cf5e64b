#include "core/posterior/sed/dust.h"

#include <cmath>

namespace gml::sed {

double calzetti_k(double lambda_angstrom) {
  const double x = 1.0e4 / lambda_angstrom;  // inverse microns
  double k;
  if (lambda_angstrom < 6300.0) {
    k = 2.659 * (-2.156 + 1.509 * x - 0.198 * x * x + 0.011 * x * x * x) + kCalzettiRv;
  } else {
    k = 2.659 * (-1.857 + 1.040 * x) + kCalzettiRv;
  }
  return k > 0.0 ? k : 0.0;
}

double dust_attenuation_mag(double lambda_angstrom, double tau_v, double delta) {
  const double av = kTauToAv * tau_v;
  return av / kCalzettiRv * calzetti_k(lambda_angstrom) *
         std::pow(lambda_angstrom / kNollPivotAngstrom, delta);
}

double dust_transmission(double lambda_angstrom, double tau_v, double delta) {
  return std::pow(10.0, -0.4 * dust_attenuation_mag(lambda_angstrom, tau_v, delta));
}

}  // namespace gml::sed
