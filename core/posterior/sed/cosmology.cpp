#include "core/posterior/sed/cosmology.h"

#include <cmath>
#include <string>

#include "core/common/error.h"

namespace gml::sed {

namespace {

// 8-point Gauss-Legendre nodes and weights on [-1, 1] (positive half).
constexpr double kGlNodes[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                                0.9602898564975363};
constexpr double kGlWeights[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                                  0.1012285362903763};

}  // namespace

FlatLambdaCdm::FlatLambdaCdm(double h0, double om0) : h0_(h0), om0_(om0) {
  require(std::isfinite(h0) && h0 > 0.0,
          "FlatLambdaCdm: H0 must be finite and > 0, got " + std::to_string(h0));
  require(std::isfinite(om0) && om0 >= 0.0 && om0 <= 1.0,
          "FlatLambdaCdm: Om0 must be in [0, 1], got " + std::to_string(om0));
}

double FlatLambdaCdm::efunc(double z) const {
  const double a = 1.0 + z;
  return std::sqrt(om0_ * a * a * a + (1.0 - om0_));
}

double FlatLambdaCdm::comoving_distance_mpc(double z) const {
  require(std::isfinite(z) && z >= 0.0 && z <= 1000.0,
          "FlatLambdaCdm: redshift must be in [0, 1000], got " + std::to_string(z));
  if (z == 0.0) return 0.0;
  // 1/E(z) is smooth and varies on a scale of ~(1+z); panels of width
  // 0.25 (1 + z_start) keep each 8-point rule far below 1e-12 relative.
  double integral = 0.0;
  double a = 0.0;
  while (a < z) {
    const double b = std::fmin(z, a + 0.25 * (1.0 + a));
    const double half = 0.5 * (b - a);
    const double mid = 0.5 * (a + b);
    double s = 0.0;
    for (int k = 0; k < 4; ++k) {
      s += kGlWeights[k] *
           (1.0 / efunc(mid - half * kGlNodes[k]) + 1.0 / efunc(mid + half * kGlNodes[k]));
    }
    integral += half * s;
    a = b;
  }
  return hubble_distance_mpc() * integral;
}

double FlatLambdaCdm::luminosity_distance_mpc(double z) const {
  return (1.0 + z) * comoving_distance_mpc(z);
}

double FlatLambdaCdm::distance_modulus(double z) const {
  require(z > 0.0, "FlatLambdaCdm: distance modulus needs z > 0, got " + std::to_string(z));
  return 5.0 * std::log10(luminosity_distance_mpc(z) / (10.0 * kParsecInMpc));
}

}  // namespace gml::sed
