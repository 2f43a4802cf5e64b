// Magnitudes of fluxes in nanomaggies: Pogson AB magnitudes and the SDSS
// asinh magnitudes ("luptitudes", Lupton, Gunn & Szalay 1999), which stay
// finite for zero and negative fluxes (docs/sed_model.md, "Observation").
#pragma once

namespace gml::sed {

/// 2.5 / ln 10.
constexpr double kPogson = 1.0857362047581294;

/// SDSS asinh softening parameters b for u, g, r, i, z, in maggies.
constexpr double kSdssSofteningMaggies[5] = {1.4e-10, 0.9e-10, 1.2e-10, 1.8e-10, 7.4e-10};

/// AB magnitude 22.5 - 2.5 log10(f) of a flux in nanomaggies (NaN for f <= 0).
double pogson_mag(double nmgy);

/// Asinh magnitude of a flux f in nanomaggies with softening b in maggies:
///   m = -(2.5/ln10) [asinh(f / (2 b)) + ln b],  f in maggies.
/// Differs from the Pogson magnitude by -(2.5/ln10) b^2/f^2 (< 1e-4 mag once
/// f > 105 b); finite for every finite f.
double asinh_mag(double nmgy, double b_maggies);

/// Flux in nanomaggies of asinh magnitude m (the inverse of asinh_mag).
double asinh_mag_to_nmgy(double mag, double b_maggies);

/// 1-sigma error of the asinh magnitude of flux f with error sigma (both
/// nanomaggies): (2.5/ln10) sigma / sqrt(f^2 + 4 b^2).
double asinh_mag_error(double nmgy, double sigma_nmgy, double b_maggies);

}  // namespace gml::sed
