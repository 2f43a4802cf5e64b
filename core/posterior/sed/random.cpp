#include "core/posterior/sed/random.h"

#include <cmath>

namespace gml::sed {

double Rng::normal() {
  constexpr double kTwoPi = 6.283185307179586;
  const double u1 = uniform_open();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

}  // namespace gml::sed
