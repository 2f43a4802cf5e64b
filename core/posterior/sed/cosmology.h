// Flat Lambda-CDM distances for the SED forward model (docs/sed_model.md).
// Matter + cosmological constant only (no radiation, no neutrinos), i.e.
// astropy's FlatLambdaCDM(H0, Om0) with its default Tcmb0 = 0.
#pragma once

namespace gml::sed {

/// Speed of light, km/s.
constexpr double kSpeedOfLightKmS = 299792.458;
/// Speed of light, Angstrom/s.
constexpr double kSpeedOfLightAngstromS = 2.99792458e18;
/// One parsec in Mpc.
constexpr double kParsecInMpc = 1.0e-6;

/// A flat universe with matter density Om0 and Omega_Lambda = 1 - Om0.
/// Immutable and thread-safe.
class FlatLambdaCdm {
 public:
  /// H0 in km/s/Mpc (> 0), Om0 in [0, 1]. Throws gml::Error otherwise.
  explicit FlatLambdaCdm(double h0 = 70.0, double om0 = 0.3);

  double h0() const { return h0_; }
  double om0() const { return om0_; }
  /// Hubble distance c / H0, Mpc.
  double hubble_distance_mpc() const { return kSpeedOfLightKmS / h0_; }
  /// E(z) = H(z) / H0 = sqrt(Om0 (1+z)^3 + 1 - Om0).
  double efunc(double z) const;
  /// Line-of-sight comoving distance D_C = D_H * integral_0^z dz'/E(z'),
  /// Mpc, by composite 8-point Gauss-Legendre quadrature (relative error
  /// < 1e-12 for 0 <= z <= 1000). Throws gml::Error for z < 0 or non-finite z.
  double comoving_distance_mpc(double z) const;
  /// Luminosity distance D_L = (1 + z) D_C, Mpc.
  double luminosity_distance_mpc(double z) const;
  /// Distance modulus 5 log10(D_L / 10 pc), mag (z > 0).
  double distance_modulus(double z) const;

 private:
  double h0_;
  double om0_;
};

}  // namespace gml::sed
