// The observation x of the posterior family (docs/sed_model.md,
// "Observation"): 11 doubles per galaxy,
//   x[0..4]  asinh magnitudes (luptitudes) u g r i z, AB, SDSS softening
//   x[5..9]  their 1-sigma errors, mag
//   x[10]    redshift
// made the same way from simulated fluxes and from catalog rows.
#pragma once

#include <array>
#include <cstdint>

#include "core/posterior/sed/catalog.h"

namespace gml::sed {

constexpr int kNumBands = 5;
constexpr int kObsDim = 2 * kNumBands + 1;
constexpr int kObsMag = 0;     ///< first magnitude column
constexpr int kObsMagErr = 5;  ///< first magnitude-error column
constexpr int kObsRedshift = 10;

/// Default redshift prior U(kDefaultZMin, kDefaultZMax) of the simulator
/// (docs/sed_model.md: 0.3 rather than SEDflow's narrower range so that
/// 99.3% of the SDSS test sample lies inside it).
constexpr double kDefaultZMin = 0.01;
constexpr double kDefaultZMax = 0.3;

/// "mag_u" ... "mag_z", "magerr_u" ... "magerr_z", "z".
const std::array<const char*, kObsDim>& observation_names();

/// Row flag bits of a catalog row (0 = usable). A flagged band's magnitude
/// and error are NaN; the row is always written.
constexpr int32_t kObsFlagFluxMissing = 1 << 0;  ///< a flux (or its extinction) is null/non-finite
constexpr int32_t kObsFlagIvarNonPositive = 1 << 1;     ///< an ivar <= 0 or non-finite
constexpr int32_t kObsFlagRedshiftOutOfRange = 1 << 2;  ///< z non-finite or outside [z_min, z_max]
constexpr int32_t kObsFlagOutsideSupport = 1 << 3;      ///< set by the support check (support.h)

/// x from fluxes and errors in nanomaggies (AB) and a redshift: luptitudes
/// with kSdssSofteningMaggies and their errors (magnitudes.h). Writes
/// x_out[kObsDim]. No checks: NaN in gives NaN out.
void observation_from_flux(const double* nmgy, const double* sigma_nmgy, double z, double* x_out);

/// How catalog fluxes are put on the simulator's scale before conversion.
struct CatalogCalibration {
  /// m_AB = m_catalog + ab_offset (kcorrect's sdss_ab_correct offsets for
  /// SDSS u, g, r, i, z); set to zeros for a catalog already on AB.
  std::array<double, kNumBands> ab_offset = {-0.036, 0.012, 0.010, 0.028, 0.040};
  /// Remove Galactic extinction when the row gives it (the simulator has
  /// none).
  bool correct_extinction = true;
  /// The redshift prior of the training set; rows outside are flagged.
  double z_min = kDefaultZMin;
  double z_max = kDefaultZMax;
};

/// Converts one catalog row: flux[5] (nanomaggies), ivar[5]
/// (nanomaggies^-2), z, and extinction[5] (mag; may be null) into
/// x_out[kObsDim] and returns the row's flag bits. The corrected flux is
/// flux * 10^(-0.4 (ab_offset - A_ext)) and sigma = 1/sqrt(ivar) scales
/// with it. Negative fluxes with ivar > 0 are valid (finite luptitudes).
int32_t observation_from_catalog(const double* flux, const double* ivar, double z,
                                 const double* extinction, const CatalogCalibration& cal,
                                 double* x_out);

/// All rows of a catalog: x_out[c.n][kObsDim], flags_out[c.n]. Uses the
/// catalog's extinction when it has the column and cal.correct_extinction.
void observations_from_catalog(const CatalogPhotometry& c, const CatalogCalibration& cal,
                               double* x_out, int32_t* flags_out);

}  // namespace gml::sed
