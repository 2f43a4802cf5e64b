#include "core/posterior/sed/observation.h"

#include <cmath>
#include <limits>

#include "core/posterior/sed/magnitudes.h"

namespace gml::sed {

const std::array<const char*, kObsDim>& observation_names() {
  static const std::array<const char*, kObsDim> names = {
      "mag_u",    "mag_g",    "mag_r",    "mag_i",    "mag_z", "magerr_u",
      "magerr_g", "magerr_r", "magerr_i", "magerr_z", "z"};
  return names;
}

void observation_from_flux(const double* nmgy, const double* sigma_nmgy, double z, double* x_out) {
  for (int b = 0; b < kNumBands; ++b) {
    const double soft = kSdssSofteningMaggies[b];
    x_out[kObsMag + b] = asinh_mag(nmgy[b], soft);
    x_out[kObsMagErr + b] = asinh_mag_error(nmgy[b], sigma_nmgy[b], soft);
  }
  x_out[kObsRedshift] = z;
}

int32_t observation_from_catalog(const double* flux, const double* ivar, double z,
                                 const double* extinction, const CatalogCalibration& cal,
                                 double* x_out) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  int32_t flags = 0;
  for (int b = 0; b < kNumBands; ++b) {
    double shift = cal.ab_offset[static_cast<size_t>(b)];
    bool ok = std::isfinite(flux[b]) && std::isfinite(shift);
    if (extinction != nullptr && cal.correct_extinction) {
      ok = ok && std::isfinite(extinction[b]);
      shift -= extinction[b];
    }
    if (!ok) flags |= kObsFlagFluxMissing;
    const bool iv_ok = std::isfinite(ivar[b]) && ivar[b] > 0.0;
    if (!iv_ok) flags |= kObsFlagIvarNonPositive;
    if (!ok || !iv_ok) {
      x_out[kObsMag + b] = kNaN;
      x_out[kObsMagErr + b] = kNaN;
      continue;
    }
    const double scale = std::pow(10.0, -0.4 * shift);
    const double f = flux[b] * scale;
    const double sigma = scale / std::sqrt(ivar[b]);
    const double soft = kSdssSofteningMaggies[b];
    x_out[kObsMag + b] = asinh_mag(f, soft);
    x_out[kObsMagErr + b] = asinh_mag_error(f, sigma, soft);
  }
  if (!(std::isfinite(z) && z >= cal.z_min && z <= cal.z_max)) {
    flags |= kObsFlagRedshiftOutOfRange;
  }
  x_out[kObsRedshift] = std::isfinite(z) ? z : kNaN;
  return flags;
}

void observations_from_catalog(const CatalogPhotometry& c, const CatalogCalibration& cal,
                               double* x_out, int32_t* flags_out) {
  const bool ext = !c.extinction.empty() && cal.correct_extinction;
  for (int64_t r = 0; r < c.n; ++r) {
    const size_t o = static_cast<size_t>(r) * kNumBands;
    flags_out[r] =
        observation_from_catalog(c.flux.data() + o, c.ivar.data() + o, c.z[static_cast<size_t>(r)],
                                 ext ? c.extinction.data() + o : nullptr, cal, x_out + r * kObsDim);
  }
}

}  // namespace gml::sed
