// Raw-row access to a binary table: contiguous blocks of whole rows read in
// one CFITSIO call, and numeric fields decoded from those bytes exactly as
// CFITSIO's own column reads convert them to double.
//
// CFITSIO reads a column by visiting every row for every column, which
// costs far more than the bytes involved. Reading a block of rows once and
// decoding only the needed fields from memory gives the same numbers at a
// fraction of the cost. "The same numbers" is meant bit for bit, so the
// decoder copies CFITSIO's conversion rules (getcold.c):
//   - float/double: an all-ones exponent (NaN or Inf) is null; an all-zero
//     exponent (zero, signed zero, subnormal) reads as 0 (TZERO if scaled);
//   - integers: null only when TNULL is defined and representable in the
//     stored type (I: int16 range, B: 0..255; J compares the value
//     truncated to 32 bits, as CFITSIO does);
//   - TSCAL/TZERO: value * TSCAL + TZERO in double, unless TSCAL = 1 and
//     TZERO = 0.
//
// Columns the decoder does not cover (logical, bit, string, complex and
// variable-length columns) have Kind::None; readers use CFITSIO's column
// reads for them.
#pragma once

#include <fitsio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fits_io/table.h"

namespace gml::adapters {

/// How one column of a binary table is stored within a row.
struct RawField {
  enum class Kind : uint8_t { None, U8, I16, I32, I64, F32, F64 };
  Kind kind = Kind::None;
  int64_t offset = 0;       ///< byte offset of the column's first element in a row
  int64_t repeat = 1;       ///< elements per row
  double scale = 1.0;       ///< TSCALn
  double zero = 0.0;        ///< TZEROn
  bool check_null = false;  ///< integer column whose TNULL CFITSIO checks
  int64_t tnull = 0;        ///< TNULLn, already cast to the stored type
  /// Bytes of one element (0 for Kind::None).
  int element_bytes() const;
};

/// Row layout of one binary-table HDU.
struct RawLayout {
  int64_t row_bytes = 0;         ///< NAXIS1; 0: rows cannot be decoded here
  std::vector<RawField> fields;  ///< one per column, index = column number - 1
  bool usable() const { return row_bytes > 0; }
};

/// Layout of the current HDU of `fp`, whose columns are `cols`. Returns an
/// unusable layout (row_bytes 0) for ASCII tables and for headers whose
/// column widths do not add up to NAXIS1, so callers fall back to column
/// reads instead of decoding misplaced bytes. Throws fits::FitsError if
/// CFITSIO cannot report a column's parameters.
RawLayout describe_rows(fitsfile* fp, const std::string& path,
                        const std::vector<fits::ColumnInfo>& cols);

/// Reads rows [first_row, first_row + n) (0-based) of the current HDU into
/// buf[n * row_bytes]. Throws fits::FitsError on a read failure.
void read_raw_rows(fitsfile* fp, const std::string& path, int64_t first_row, int64_t n,
                   int64_t row_bytes, uint8_t* buf);

/// Decodes element `element` of `f` from `rows` consecutive rows of raw
/// bytes (`row_bytes` apart, starting at `block`) into values[rows] (NaN
/// where null) and nulls[rows] (1 where null, else 0), bit-identical to
/// fits::Table::read_column(double). `f.kind` must not be None.
void decode_field(const RawField& f, int64_t element, const uint8_t* block, int64_t row_bytes,
                  int64_t rows, double* values, uint8_t* nulls);

}  // namespace gml::adapters
