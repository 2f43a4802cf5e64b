// Binary (and ASCII) table access: column metadata, chunked column reads
// with null reporting, and table creation/writing.
//
// Rows are numbered from 0 in this API (row 0 is FITS row 1). Vector
// columns are read row-major: element k of row r of a read starting at
// first_row lands at out[(r - first_row) * repeat + k].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fits_io/fits_file.h"

namespace gml::fits {

/// Storage kind of a column after TSCALn/TZEROn are taken into account
/// (e.g. TFORM 'I' with TZERO = 32768 is UInt16).
enum class ColumnType {
  Bool,     ///< L
  UInt8,    ///< B
  Int8,     ///< B with TZERO = -128
  Int16,    ///< I
  UInt16,   ///< I with TZERO = 32768
  Int32,    ///< J
  UInt32,   ///< J with TZERO = 2147483648
  Int64,    ///< K
  Float32,  ///< E (or an integer column with a non-trivial TSCAL)
  Float64,  ///< D
  String,   ///< A
  Other     ///< X (bits), C/M (complex), P/Q (variable length): not readable here
};

/// Human-readable name of a ColumnType ("float32", "string", ...).
const char* to_string(ColumnType t);

struct ColumnInfo {
  std::string name;  ///< TTYPEn as written (lookups ignore case)
  int number = 0;    ///< 1-based column number n
  ColumnType type = ColumnType::Other;
  std::string tform;   ///< TFORMn
  int64_t repeat = 1;  ///< elements per row (vector width; 1 for scalars; chars for strings)
  std::string unit;    ///< TUNITn, empty if absent
  std::optional<int64_t> tnull;  ///< TNULLn of integer columns
  /// True for columns read_column() can return as numbers.
  bool is_numeric() const;
};

/// What to create in create_table(). `repeat` is the vector width (or the
/// string length for String); `tnull` may be set for integer columns.
struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::Float64;
  int64_t repeat = 1;
  std::string unit;
  std::optional<int64_t> tnull;
};

/// A table HDU of an open FitsFile. Holds a reference to the file, which
/// must outlive it; every call first moves the file back to this HDU, so
/// several Table objects (and other HDU access) can share one file.
class Table {
 public:
  /// Binds to the current HDU. Throws FitsError if it is not a table.
  explicit Table(FitsFile& f);

  /// Number of rows (current, so it grows as rows are written).
  int64_t nrows() const;
  int ncols() const { return static_cast<int>(columns_.size()); }
  const std::vector<ColumnInfo>& columns() const { return columns_; }
  bool has_column(const std::string& name) const;
  /// Column `name`, matched case-insensitively; if several columns share a
  /// name (or several lack TTYPEn, name ""), the first is used, so size
  /// buffers from this ColumnInfo. Throws FitsError
  /// (COL_NOT_FOUND) whose message lists the available columns.
  const ColumnInfo& column(const std::string& name) const;
  /// A row count that CFITSIO reads efficiently in one call (its buffer
  /// size divided by the row width); a good chunk size for streaming.
  int64_t optimal_chunk_rows() const;

  /// Reads rows [first_row, first_row + n) of numeric column `name` into
  /// `out` (n * repeat values). Scaling is applied. Null elements (TNULL in
  /// integer columns, NaN in float columns) become NaN in float outputs and
  /// the column's TNULL value in int64 outputs; if `null_mask` is given
  /// (n * repeat bytes) it receives 1 for null elements and 0 otherwise.
  /// Returns the number of null elements.
  /// Throws std::invalid_argument for a row range outside the table, a
  /// string/bit/complex/variable-length column, or (int64 output) a
  /// floating-point column, which would be truncated; FitsError for a
  /// missing column or a read failure.
  int64_t read_column(const std::string& name, int64_t first_row, int64_t n, float* out,
                      uint8_t* null_mask = nullptr) const;
  int64_t read_column(const std::string& name, int64_t first_row, int64_t n, double* out,
                      uint8_t* null_mask = nullptr) const;
  int64_t read_column(const std::string& name, int64_t first_row, int64_t n, int64_t* out,
                      uint8_t* null_mask = nullptr) const;

  /// Reads rows [first_row, first_row + n) of string column `name`,
  /// trailing blanks removed. Throws std::invalid_argument if the column is
  /// not a string column or the range is outside the table.
  std::vector<std::string> read_strings(const std::string& name, int64_t first_row,
                                        int64_t n) const;

  /// Writes n rows starting at first_row (which may be at or past the end:
  /// the table grows). `data` holds n * repeat values, converted to the
  /// column's type. Elements flagged in `null_mask` are stored as NaN
  /// (float columns) or TNULL (integer columns; std::invalid_argument if
  /// the column has no TNULL). Throws FitsError on write failure
  /// (e.g. read-only file), std::invalid_argument for a string column.
  void write_column(const std::string& name, int64_t first_row, int64_t n, const double* data,
                    const uint8_t* null_mask = nullptr);
  void write_column(const std::string& name, int64_t first_row, int64_t n, const float* data,
                    const uint8_t* null_mask = nullptr);
  void write_column(const std::string& name, int64_t first_row, int64_t n, const int64_t* data,
                    const uint8_t* null_mask = nullptr);
  /// Writes string column `name` for rows first_row .. first_row +
  /// values.size() - 1; longer values are truncated to the column width.
  void write_strings(const std::string& name, int64_t first_row,
                     const std::vector<std::string>& values);

 private:
  void select() const;
  void check_range(int64_t first_row, int64_t n, bool for_write) const;
  template <typename T>
  int64_t read_numeric(const std::string& name, int64_t first_row, int64_t n, T* out,
                       uint8_t* null_mask) const;
  template <typename T>
  void write_numeric(const std::string& name, int64_t first_row, int64_t n, const T* data,
                     const uint8_t* null_mask);

  FitsFile* file_;
  int hdu_;
  std::vector<ColumnInfo> columns_;
};

/// Appends a binary table HDU named `extname` with the given columns and
/// no rows (a header-only primary HDU is written first if the file is
/// empty), and returns it. TTYPE/TFORM/TUNIT/TNULL keywords are written.
/// Throws std::invalid_argument for no columns, empty/duplicate names,
/// repeat < 1, or TNULL on a non-integer column; FitsError on failure.
Table create_table(FitsFile& f, const std::string& extname, const std::vector<ColumnSpec>& cols);

}  // namespace gml::fits
