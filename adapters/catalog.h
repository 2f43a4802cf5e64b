// Catalog adapter: columns of a FITS table -> model input arrays.
//
// A CatalogReader opens one table HDU. bind() checks a column mapping (see
// column_map.h) against the table's columns once; read() and stream() then
// fill row-major [rows, n_outputs] buffers plus one flag word per row.
//
// Rows are never dropped. A row whose inputs are null (TNULL, NaN), infinite
// or outside a conversion's domain keeps its place: the affected outputs are
// NaN and the row's flag word says why (RowFlag bits of column_map.h:
//   1 null input (TNULL; NaN or Inf in a float column, which CFITSIO
//   reads as undefined), 2 result not finite, 4 flux <= 0 under
//   mag/magerr, 8 inverse variance <= 0 under magerr/sigma).
//
// Memory is bounded by the chunk size, never by the table, so a catalog
// larger than RAM streams with a few MB of buffers. Binary tables are read
// as blocks of whole rows (about 1 MiB per CFITSIO call) whose fields are
// decoded in memory (catalog_rows.h); CFITSIO's per-column reads, which give
// the same values bit for bit but cost several times more, remain for what
// the row decoder does not cover: ASCII tables, logical columns, and rows so
// wide that reading them whole would move far more bytes than the mapped
// fields need.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/catalog_rows.h"
#include "adapters/column_map.h"
#include "fits_io/fits_file.h"
#include "fits_io/table.h"

namespace gml {
class Progress;
}

namespace gml::adapters {

/// A mapping checked against one table: each output knows where its
/// arguments live in the per-chunk source buffers.
struct BoundMapping {
  struct Source {
    std::string column;  ///< name as written in the table
    int64_t repeat = 1;
    int number = 0;  ///< 1-based column number
  };
  struct Output {
    MappedOutput spec;
    std::string unit;              ///< conversion's unit, else the column's TUNIT
    std::vector<size_t> source;    ///< per argument: index into sources
    std::vector<int64_t> element;  ///< per argument: element within the row
  };
  std::vector<Source> sources;  ///< distinct columns read, in first-use order
  std::vector<Output> outputs;
  int64_t n_outputs() const { return static_cast<int64_t>(outputs.size()); }
};

/// One block of rows delivered by CatalogReader::stream(). The pointers are
/// valid only during the callback.
struct CatalogChunk {
  int64_t first_row = 0;  ///< 0-based table row of values[0]
  int64_t n_rows = 0;
  int64_t n_outputs = 0;
  const float* values = nullptr;   ///< [n_rows, n_outputs]
  const int32_t* flags = nullptr;  ///< [n_rows]
};

class CatalogReader {
 public:
  /// How read() gets values from the file. Both give identical values and
  /// flags; Columns exists to check that, and to measure the difference.
  enum class ReadPath {
    Auto,    ///< row blocks where the mapping allows, else column reads
    Columns  ///< always CFITSIO's per-column reads
  };

  /// Opens the table HDU `hdu` of `path`: "" selects the HDU named by
  /// CFITSIO extended syntax in `path` when that is a table, else the first
  /// table HDU; a number N selects extension N (0 = primary, as astropy's
  /// hdul[N]); anything else is an EXTNAME. Throws fits::FitsError (file
  /// unreadable), gml::Error NotFound (no such HDU / no table HDU) or
  /// InvalidArgument (the HDU is an image).
  explicit CatalogReader(const std::string& path, const std::string& hdu = "");
  ~CatalogReader();
  CatalogReader(const CatalogReader&) = delete;
  CatalogReader& operator=(const CatalogReader&) = delete;

  int64_t nrows() const;
  const std::vector<fits::ColumnInfo>& columns() const;
  /// 0-based extension number of the table (astropy's hdul index).
  int extension() const { return hdu_ - 1; }
  const std::string& path() const;
  /// Rows per CFITSIO-friendly chunk.
  int64_t chunk_rows() const { return chunk_rows_; }

  void set_read_path(ReadPath p) { path_ = p; }
  /// True if read() of `m` goes through row blocks rather than column reads.
  bool reads_row_blocks(const BoundMapping& m) const;

  /// Parses `mapping` and checks it against the columns. Throws
  /// std::invalid_argument (syntax, string/bit/complex column, vector
  /// column without [k], element out of range) or gml::Error NotFound (a
  /// missing column; the message lists the available ones).
  BoundMapping bind(const std::string& mapping) const;

  /// Reads rows [first_row, first_row + n) into out[n, n_outputs] and (if
  /// not null) flags[n]. Throws std::invalid_argument for a range outside
  /// the table, fits::FitsError on read failure.
  void read(const BoundMapping& m, int64_t first_row, int64_t n, float* out, int32_t* flags);
  void read(const BoundMapping& m, int64_t first_row, int64_t n, double* out, int32_t* flags);

  /// Calls `fn` for consecutive chunks of at most `chunk_rows` rows (0: the
  /// reader's chunk_rows()) covering [first_row, first_row + n). `progress`
  /// (optional) is updated after each chunk and may throw Error(Cancelled);
  /// an exception from `fn` stops the stream and propagates.
  void stream(const BoundMapping& m, int64_t first_row, int64_t n, int64_t chunk_rows,
              const std::function<void(const CatalogChunk&)>& fn, Progress* progress = nullptr);

 private:
  template <typename T>
  void read_impl(const BoundMapping& m, int64_t first_row, int64_t n, T* out, int32_t* flags);

  std::unique_ptr<fits::FitsFile> file_;
  std::unique_ptr<fits::Table> table_;
  int hdu_ = 0;  // 1-based CFITSIO HDU number
  int64_t chunk_rows_ = 1;
  ReadPath path_ = ReadPath::Auto;
  RawLayout layout_;
  // Scratch of one chunk, reused across calls: per source (column reads) or
  // per decoded field element (row blocks), and the raw rows.
  std::vector<std::vector<double>> values_;
  std::vector<std::vector<uint8_t>> nulls_;
  std::vector<int32_t> row_flags_;
  std::vector<uint8_t> raw_;
};

}  // namespace gml::adapters
