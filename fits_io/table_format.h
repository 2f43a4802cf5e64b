// Column layout keywords of FITS tables (TFORMn, TBCOLn, TDIMn), checked
// against the standard's syntax and the row width before CFITSIO's table
// set-up (ffgtbp and friends) parses them into fixed-size fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml::fits::detail {

/// What a header declared for one column.
struct ColumnSpec {
  bool has_tform = false;
  std::string tform;
  bool has_tdim = false;
  std::string tdim;
  int64_t tbcol = -1;  ///< ASCII tables: 1-based start column, -1 if absent
};

/// Binary table: every column has a valid TFORMn ("rT", "rPt(max)",
/// "rQt(max)", "rAw"), the widths sum to NAXIS1, each TDIMn is
/// "(d1,d2,...)" with a product within the repeat count, and THEAP (if
/// given, else -1) lies within the data unit. Returns "" or the problem,
/// naming the column.
std::string check_binary_columns(const std::vector<ColumnSpec>& cols, int64_t naxis1,
                                 int64_t naxis2, int64_t pcount, int64_t theap);

/// ASCII table: every column has TFORMn "Aw", "Iw", "Fw.d", "Ew.d" or
/// "Dw.d" and a TBCOLn such that the field lies within NAXIS1.
std::string check_ascii_columns(const std::vector<ColumnSpec>& cols, int64_t naxis1);

}  // namespace gml::fits::detail
