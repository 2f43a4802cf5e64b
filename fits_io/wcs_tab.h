// -TAB coordinates (FITS WCS Paper III): the coordinate and index arrays of
// a tabular axis live in binary table columns named by PSi_0a / PSi_1a /
// PVi_3a. wcspih() describes them (wcsprm::wtb); they are read here, with
// CFITSIO's fits_read_wcstab(), after checking the columns' TDIMn (CFITSIO
// trusts them), and their memory is handed to WCSLIB so that wcsvfree()
// releases it whatever happens next.
#pragma once

#include <string>
#include <vector>

#include "fits_io/fits_file.h"

struct wcsprm;

namespace gml::fits::detail {

/// Largest -TAB array read (values).
constexpr long kMaxTabValues = 1L << 24;

/// A copy of one -TAB array, in wcsprm::wtb order, for clones.
struct TabArray {
  std::vector<int> dims;  ///< the axis lengths WCSLIB records (K for a coordinate array)
  std::vector<double> values;
};

/// "CTYPE3 = 'TIME-TAB'" of the first -TAB axis of `w` and the table it
/// needs ("binary table 'WCS-TABLE', column 'coordinates'"), for messages.
std::string tab_description(const wcsprm& w);

/// Reads the -TAB arrays of `w` from `f` and records copies in `copy`. The
/// current HDU of `f` is unchanged afterwards. Throws WcsError naming the
/// table and column when one is missing or its TDIMn does not fit the
/// header, FitsError for I/O errors.
void read_tab_arrays(FitsFile& f, wcsprm& w, std::vector<TabArray>& copy);

/// Gives `w` (parsed from the same header) copies of `arrays`.
void fill_tab_arrays(wcsprm& w, const std::vector<TabArray>& arrays);

}  // namespace gml::fits::detail
