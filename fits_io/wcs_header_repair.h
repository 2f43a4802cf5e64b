// The repairs astropy.wcs makes to headers that carry two descriptions of
// the same distortion, SCAMP's PVi_m polynomial (TPV) and SIP, which WCSLIB
// cannot use together (it rejects PV1_5 and above on a TAN axis). They are
// made on the header cards before WCSLIB reads them, each with a warning,
// and only where astropy makes them (astropy.wcs.WCS._fix_pre2012_scamp_tpv
// and WCS._fix_scamp, astropy 8):
//  - pre-2012 SCAMP headers: two CTYPEs ending in "-TAN" (primary
//    description) with PVi_m, m >= 5, on either: the CTYPEs become "-TPV"
//    and any SIP keywords are removed;
//  - CTYPE "-TPV" on both celestial axes with SIP keywords: SIP removed;
//  - every CTYPE ending in "-SIP", with SIP keywords, and PVi_m, m >= 5, on
//    a "-TAN" axis: all PVi_m of that description removed.
#pragma once

#include <string>
#include <vector>

namespace gml::fits::detail {

/// Applies the repairs above to `cards` (80-byte cards as from
/// check_wcs_header) for WCS description `alt` (' ' or 'A'..'Z'), appending
/// one warning per repair.
void repair_scamp_sip(std::vector<std::string>& cards, char alt,
                      std::vector<std::string>& warnings);

}  // namespace gml::fits::detail
