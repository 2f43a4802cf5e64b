// Dust attenuation of the SED forward model (docs/sed_model.md): the
// Calzetti et al. (2000) starburst law with the Noll et al. (2009) power-law
// modification of its slope (no 2175 A bump).
#pragma once

namespace gml::sed {

/// R_V of the Calzetti law.
constexpr double kCalzettiRv = 4.05;
/// A_V = kTauToAv * tau_V (= 2.5 log10 e, rounded as in the SEDflow papers).
constexpr double kTauToAv = 1.086;
/// Pivot of the Noll slope modification, Angstrom.
constexpr double kNollPivotAngstrom = 5500.0;

/// Calzetti (2000) k(lambda) = A(lambda)/E(B-V)_s for lambda in Angstrom.
/// The 0.12-0.63 um branch is used below 0.63 um (extrapolated below
/// 0.12 um), the 0.63-2.2 um branch above (extrapolated above 2.2 um); the
/// result is clamped at 0.
double calzetti_k(double lambda_angstrom);

/// Attenuation in magnitudes,
///   A(lambda) = (A_V / 4.05) k(lambda) (lambda / 5500 A)^delta,  A_V = 1.086 tau_V.
double dust_attenuation_mag(double lambda_angstrom, double tau_v, double delta);

/// Transmitted fraction 10^(-0.4 A(lambda)).
double dust_transmission(double lambda_angstrom, double tau_v, double delta);

}  // namespace gml::sed
