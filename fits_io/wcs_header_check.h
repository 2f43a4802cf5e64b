// Checks of header text before WCSLIB's wcspih() sees it. WCSLIB 7.12's
// header parser and the allocations that follow trust the header: unclosed
// strings overrun buffers, a huge NAXIS or WCSAXES makes allocations whose
// failure is not checked, and some malformed records are dereferenced as
// NULL. Only standard cards with bounded axis counts and distortion
// parameters reach WCSLIB. A malformed card that no WCS reader interprets
// (a DSS plate header's "SKEW = -1.38, -1.69") is left out with a warning,
// as astropy does; a malformed WCS card is an error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gml::fits::detail {

/// Most axes a WCS may have: the standard's keywords (CTYPEia, PCi_ja, ...)
/// can only address axes 1..99.
constexpr long kMaxWcsAxes = 99;

/// The cards of a header that may be given to WCSLIB.
struct CheckedHeader {
  /// The 80-byte cards before END (all of them if there is none), less the
  /// malformed cards that are not WCS keywords. Cards after END are fill.
  std::vector<std::string> cards;
  /// One line per card left out, naming it and its problem.
  std::vector<std::string> warnings;
};

/// Checks the `ncards` 80-byte cards at `cards`. Throws WcsError (status 0)
/// naming the card and the problem when a WCS card is malformed or out of
/// bounds.
CheckedHeader check_wcs_header(const char* cards, size_t ncards);

/// True if a card whose first 8 bytes are `card` may be read by WCSLIB's
/// header parser or by the lookup-table distortion readers (CTYPEia,
/// PVi_ma, SIP, DSS plate and IRAF WAT keywords, D2IMDISj, ...). Errs on
/// the side of true: any keyword with such a prefix counts.
bool is_wcs_keyword(const char* card);

/// True for the keywords of the SIP convention: A_ORDER, B_ORDER,
/// AP_ORDER, BP_ORDER, A_DMAX, B_DMAX and the coefficients A_p_q, B_p_q,
/// AP_p_q, BP_p_q.
bool is_sip_keyword(const std::string& keyword);

/// Length of the SIP prefix of `keyword`: 3 for "AP_" and "BP_" (the inverse
/// polynomials), 2 for "A_" and "B_", 0 for any other keyword.
size_t sip_prefix_length(const std::string& keyword);

}  // namespace gml::fits::detail
