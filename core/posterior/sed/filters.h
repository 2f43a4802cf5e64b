// Photometric bandpasses for the SED forward model (docs/sed_model.md).
#pragma once

#include <string>
#include <vector>

namespace gml::sed {

/// A photon-counting response curve R(lambda): the detector signal per
/// photon entering the atmosphere, piecewise linear between its samples and
/// zero outside them. Immutable and thread-safe after construction.
class Filter {
 public:
  /// `wave` in Angstrom (>= 2 samples, strictly increasing, > 0),
  /// `response` finite, same length, with a positive AB normalisation.
  /// Small negative samples are kept as measured (the SDSS r curve has
  /// -0.0013 at 5380 A), as kcorrect does. Throws gml::Error otherwise.
  Filter(std::string name, std::vector<double> wave, std::vector<double> response);

  /// Reads a kcorrect response file (`#` comment lines, then a
  /// `|`-delimited table whose first row names the columns, e.g. `lambda`,
  /// `pass`). `column` picks the response column ("pass": airmass 1.3 for
  /// the SDSS files); the first column is the wavelength in Angstrom.
  /// `name` defaults to the file's base name. Throws gml::Error (Io if the
  /// file cannot be opened, Format naming file and line for a malformed
  /// table or a missing column).
  static Filter read_kcorrect(const std::string& path, const std::string& column = "pass",
                              std::string name = "");

  const std::string& name() const { return name_; }
  const std::vector<double>& wave() const { return wave_; }
  const std::vector<double>& response() const { return response_; }
  double lambda_min() const { return wave_.front(); }
  double lambda_max() const { return wave_.back(); }
  /// Smallest interval [lo, hi] outside which R is zero, Angstrom.
  double support_min() const { return support_min_; }
  double support_max() const { return support_max_; }

  /// R(lambda) by linear interpolation; 0 outside [lambda_min, lambda_max].
  double response_at(double lambda) const;
  /// The AB normalisation integral  int R(lambda) dlambda / lambda,
  /// evaluated exactly for the piecewise-linear R (dimensionless).
  double ab_norm() const { return ab_norm_; }
  /// Pivot wavelength sqrt(int R lambda dlambda / int R dlambda / lambda),
  /// Angstrom (exact for piecewise-linear R).
  double pivot_wavelength() const { return pivot_; }

 private:
  std::string name_;
  std::vector<double> wave_;
  std::vector<double> response_;
  double support_min_ = 0.0;
  double support_max_ = 0.0;
  double ab_norm_ = 0.0;
  double pivot_ = 0.0;
};

/// SDSS band names in the project's band order.
inline const char* const kSdssBands[5] = {"u", "g", "r", "i", "z"};

/// Reads `dir`/sdss_{u,g,r,i,z}0.dat (column `column`) in band order u, g,
/// r, i, z; the filters are named "u" ... "z". Throws as read_kcorrect.
std::vector<Filter> read_sdss_filters(const std::string& dir, const std::string& column = "pass");

}  // namespace gml::sed
