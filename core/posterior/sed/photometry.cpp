#include "core/posterior/sed/photometry.h"

#include <cmath>
#include <string>

#include "core/common/error.h"
#include "core/posterior/sed/cosmology.h"

namespace gml::sed {

double ab_maggies(const double* wave, const double* flam, size_t n, const Filter& filter,
                  Coverage coverage) {
  require(wave != nullptr && flam != nullptr && n >= 2,
          "ab_maggies: need at least 2 spectrum samples, got " + std::to_string(n));
  for (size_t k = 0; k < n; ++k) {
    require(std::isfinite(wave[k]) && std::isfinite(flam[k]) && (k == 0 || wave[k] > wave[k - 1]),
            "ab_maggies: spectrum sample " + std::to_string(k) +
                " is not finite or its wavelength does not increase");
  }
  if (coverage == Coverage::Require &&
      (wave[0] > filter.support_min() || wave[n - 1] < filter.support_max())) {
    fail(Status::InvalidArgument, "ab_maggies: spectrum covers " + std::to_string(wave[0]) + "-" +
                                      std::to_string(wave[n - 1]) + " A but filter '" +
                                      filter.name() + "' responds over " +
                                      std::to_string(filter.support_min()) + "-" +
                                      std::to_string(filter.support_max()) + " A");
  }
  // Trapezoid over the spectrum samples of g(l) = f_lambda l R(l); samples
  // outside the filter have g = 0, so sample k carries weight
  // (l[k+1] - l[k-1]) / 2 (one-sided at the ends).
  const auto& fw = filter.wave();
  const auto& fr = filter.response();
  size_t seg = 0;  // filter segment [fw[seg], fw[seg+1]] holding the current sample
  double sum = 0.0;
  for (size_t k = 0; k < n; ++k) {
    const double l = wave[k];
    if (l < fw.front()) continue;
    if (l > fw.back()) break;
    while (seg + 2 < fw.size() && l > fw[seg + 1]) ++seg;
    const double t = (l - fw[seg]) / (fw[seg + 1] - fw[seg]);
    const double r = fr[seg] + t * (fr[seg + 1] - fr[seg]);
    const double lo = k > 0 ? wave[k - 1] : l;
    const double hi = k + 1 < n ? wave[k + 1] : l;
    sum += flam[k] * l * r * 0.5 * (hi - lo);
  }
  return sum / kSpeedOfLightAngstromS / (kAbZeroPointFnu * filter.ab_norm());
}

double ab_maggies(const Spectrum& s, const Filter& filter, Coverage coverage) {
  require(s.wave.size() == s.flam.size(), "ab_maggies: spectrum has " +
                                              std::to_string(s.wave.size()) + " wavelengths but " +
                                              std::to_string(s.flam.size()) + " fluxes");
  return ab_maggies(s.wave.data(), s.flam.data(), s.wave.size(), filter, coverage);
}

Spectrum redshift_spectrum(const Spectrum& rest_at_10pc, double z, double dl_mpc) {
  require(std::isfinite(z) && z >= 0.0,
          "redshift_spectrum: z must be >= 0, got " + std::to_string(z));
  require(std::isfinite(dl_mpc) && dl_mpc > 0.0,
          "redshift_spectrum: luminosity distance must be > 0 Mpc, got " + std::to_string(dl_mpc));
  const double r = 10.0 * kParsecInMpc / dl_mpc;
  const double scale = r * r / (1.0 + z);
  Spectrum out;
  out.wave.reserve(rest_at_10pc.wave.size());
  out.flam.reserve(rest_at_10pc.flam.size());
  for (double w : rest_at_10pc.wave) out.wave.push_back((1.0 + z) * w);
  for (double f : rest_at_10pc.flam) out.flam.push_back(f * scale);
  return out;
}

}  // namespace gml::sed
