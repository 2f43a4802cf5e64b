// Checks of header text before WCSLIB's wcspih() sees it. WCSLIB 7.12's
// header parser and the allocations that follow trust the header: unclosed
// strings overrun buffers, a huge NAXIS or WCSAXES makes allocations whose
// failure is not checked, and some malformed records are dereferenced as
// NULL. Only headers made of standard cards with bounded axis counts and
// distortion parameters pass.
#pragma once

#include <cstddef>

namespace gml::fits::detail {

/// Most axes a WCS may have: the standard's keywords (CTYPEia, PCi_ja, ...)
/// can only address axes 1..99.
constexpr long kMaxWcsAxes = 99;

/// Checks the `ncards` 80-byte cards at `cards` and returns how many of
/// them precede the END card (all of them if there is none); cards after
/// END are fill and are not given to WCSLIB. Throws WcsError (status 0)
/// naming the card and the problem.
size_t check_wcs_header(const char* cards, size_t ncards);

}  // namespace gml::fits::detail
