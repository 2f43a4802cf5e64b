// Spectral templates for the SED forward model (docs/sed_model.md): the
// five kcorrect v4 NMF templates (Blanton & Roweis 2007) and single
// spectra such as the Kinney-Calzetti atlas.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml::sed {

/// A sampled spectrum: wavelength (Angstrom, strictly increasing) and
/// f_lambda (erg s^-1 cm^-2 Angstrom^-1), linear between samples.
struct Spectrum {
  std::vector<double> wave;
  std::vector<double> flam;
};

/// The kcorrect template basis. Flux of template i is per solar mass formed
/// (INTSFH = 1), observed from 10 pc.
struct TemplateSet {
  std::vector<double> wave;     ///< [n_wave] Angstrom, strictly increasing
  std::vector<double> flux;     ///< [n_templates][n_wave] erg/s/cm^2/A at 10 pc per Msun formed
  std::vector<double> intsfh;   ///< [n_templates] mass formed, Msun (1 for kcorrect v4)
  std::vector<double> mremain;  ///< [n_templates] surviving stellar mass per Msun formed
  std::vector<double> mets;     ///< [n_templates] metallicity (mass fraction)
  std::vector<double> m300;     ///< [n_templates] mass formed in the last 300 Myr, Msun
  std::vector<double> m1000;    ///< [n_templates] mass formed in the last 1 Gyr, Msun

  int n_templates() const { return static_cast<int>(mremain.size()); }
  int64_t n_wave() const { return static_cast<int64_t>(wave.size()); }
  const double* template_flux(int i) const {
    return flux.data() + static_cast<size_t>(i) * wave.size();
  }
  /// Template i as a Spectrum (a copy).
  Spectrum spectrum(int i) const;

  /// Reads kcorrect-default-v4.fits: HDU `FLUX` (columns `wave`, n_wave
  /// elements, and `flux`, TDIM (n_wave, n_templates), template-major) and
  /// the per-template images `INTSFH`, `MREMAIN`, `METS`, `M300`, `M1000`.
  /// Throws gml::Error (Status::Fits for a CFITSIO failure, Format for an
  /// unexpected layout, naming the file and HDU/column).
  static TemplateSet read_kcorrect(const std::string& path);
};

/// Reads an STSDAS spectrum table such as the kcorrect kc96 atlas files
/// (HDU 1 with columns `WAVELENGTH`, Angstrom, and `FLUX`, flam). Throws
/// gml::Error naming the file (Status::Fits / Format).
Spectrum read_spectrum_table(const std::string& path, const std::string& wave_column = "WAVELENGTH",
                             const std::string& flux_column = "FLUX");

}  // namespace gml::sed
