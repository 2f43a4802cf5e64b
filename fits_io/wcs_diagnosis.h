// The header keyword behind a WCSLIB failure, in astropy's words. WCSLIB's
// detailed error notes (wcserr) stay disabled: WCSLIB 7.12 leaks a note per
// failing point in batched transforms and wcserr_enable() is process-wide.
// Its status tables only say "Invalid parameter value" and the like, so the
// keyword is found here from the wcsprm that wcsset() refused.
#pragma once

#include <string>

struct wcsprm;

namespace gml::fits::detail {

/// For a wcsset() status, the keyword at fault and why, e.g.
/// "Unrecognized projection code (XYZ in CTYPE1)", "In CUNIT1: unit 'm' is
/// not an angle, want 'deg'", "Invalid parameters for ZPN projection
/// (PV2_1 = 0, PV2_2 = 0)", "CRVAL2 = 100 is not a latitude". Empty when
/// no keyword can be named. Reads only the parameters given to wcsset(),
/// which a failed wcsset() leaves intact.
std::string keyword_at_fault(const wcsprm& w, int status);

/// Message for a singular or non-finite linear transformation of the
/// celestial axes `lng`, `lat`, naming CDELTi = 0, or the CDi_j or
/// PCi_j/CDELTi keywords that form the matrix.
std::string singular_matrix_message(const wcsprm& w, int lng, int lat);

}  // namespace gml::fits::detail
