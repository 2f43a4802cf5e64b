// The calibration evidence a posterior model carries: the figures of a
// calibration run (calibration_run.h) on simulations the model was not
// fitted to, small enough to store in the model file's provenance and to
// copy into every catalog it produces, with the verdict a user reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml::posterior {

struct CalibrationReport;

struct CalibrationRecord {
  // The smallest p-value that still passes. One level for SBC per parameter
  // and for TARP, as the acceptance of the SED demo states it; with D + 1
  // tests a calibrated model fails by chance with probability about
  // (D + 1) * 0.01.
  static constexpr double kPassPvalue = 0.01;

  std::string source;  // where the simulations came from, e.g. "validation rows"
  int64_t n_sims = 0;
  int64_t n_samples = 0;
  std::vector<std::string> names;  // parameter names, as sbc_pvalue
  std::vector<double> sbc_pvalue;  // KS p of the SBC ranks, per parameter
  // Per parameter, the mean and variance of the normalised ranks
  // (rank + 1/2) / (L + 1): 1/2 and 1/12 when calibrated. A mean above 1/2
  // means the draws lie below the truth too often; a variance above 1/12
  // means the truth falls in their tails too often (too narrow).
  std::vector<double> rank_mean, rank_variance;
  bool truncated = false;  // the draws were truncated to the prior's support
  int64_t short_sims = 0;  // simulations left out: too few draws inside it
  double tarp_pvalue = 1;  // KS p of TARP's coverage fractions
  double tarp_atc = 0;     // < 0: over-confident, > 0: under-confident
  // Largest |empirical - nominal| of the highest-density-region coverage.
  double hpd_coverage_error = 0;

  bool passed() const;
  // The parameter with the smallest SBC p-value (its index).
  size_t worst_parameter() const;
  // One line: what was tested and whether it passed, naming every parameter
  // that failed with what is wrong with it, e.g. "calibration FAILED on 1000
  // validation simulations x 500 draws: SBC KS p = 3e-05 (tau_v: too
  // narrow), 0.004 (beta_1: draws too low); TARP p = 0.21, ATC -0.8; pass:
  // every p > 0.01".
  std::string verdict() const;

  std::string to_json_text() const;
  // Throws Error(Format) for text that is not a record.
  static CalibrationRecord from_json_text(const std::string& text);
};

// The record of a calibration run of n_samples draws per simulation.
CalibrationRecord record_calibration(const CalibrationReport& report,
                                     const std::vector<std::string>& names, int64_t n_samples,
                                     const std::string& source);

// The record kept in a model's provenance JSON (key "calibration"); false
// when it has none.
bool calibration_from_provenance(const std::string& provenance, CalibrationRecord& record);

}  // namespace gml::posterior
