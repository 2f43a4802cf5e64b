// Result tables: FITS binary tables written row block by row block and
// committed atomically, with units and provenance keywords.
//
// Columns are declared first; the table HDU is created on the first append
// (or at commit for an empty table). Each append goes straight to CFITSIO,
// so memory does not grow with the table. The file lives under a temporary
// name until commit(); destroying an uncommitted writer deletes it and
// leaves any older file at the target path untouched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/table.h"

namespace gml::adapters {

/// C type of the caller's buffer for a column.
enum class ValueType { Float32, Float64, Int32, Int64, String };

struct OutputColumn {
  std::string name;
  ValueType type = ValueType::Float32;
  int64_t repeat = 1;  ///< vector width, or bytes per string
  std::string unit;
};

/// Written as header keywords of the table HDU. Empty fields are omitted;
/// GMLVERS (library version) and DATE (UTC ISO 8601) are always written.
struct Provenance {
  std::string input_file;      ///< GMLINPUT
  std::string command_line;    ///< GMLCMD
  std::string model_checksum;  ///< GMLMODCK
};

/// UTC now as "YYYY-MM-DDThh:mm:ss".
std::string utc_timestamp();

class TableWriter {
 public:
  /// Starts a file for `path` (created under a temporary name in the same
  /// directory). Throws fits::FitsError if it cannot be created.
  TableWriter(const std::string& path, std::string extname, Provenance provenance,
              bool write_checksum = true);
  ~TableWriter();
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  /// Declares a column. Throws std::invalid_argument for an empty or
  /// duplicate name, repeat < 1, or once rows have been appended.
  void add_column(OutputColumn column);
  /// Adds a string keyword. Throws std::invalid_argument for a key that is
  /// not 1-8 of [A-Z0-9_-] or is reserved by the table structure.
  void set_keyword(const std::string& key, const std::string& value,
                   const std::string& comment = "");

  const std::vector<OutputColumn>& columns() const { return columns_; }
  int64_t rows() const { return rows_; }

  /// Appends n rows; data[i] is column i's buffer of n * repeat values of
  /// its ValueType (String: n * repeat bytes, each row NUL-terminated when
  /// shorter). Throws std::invalid_argument (no columns, null buffer,
  /// committed), fits::FitsError (write failure; the writer then refuses
  /// further use).
  void append(int64_t n, const void* const* data);

  /// Finishes and renames onto the target path. Throws as FitsFile::commit.
  void commit();
  bool committed() const { return committed_; }

 private:
  void ensure_table();
  void check_usable() const;

  std::string path_, extname_;
  Provenance provenance_;
  bool checksum_;
  std::vector<OutputColumn> columns_;
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> keywords_;
  std::unique_ptr<fits::FitsFile> file_;
  std::unique_ptr<fits::Table> table_;
  int64_t rows_ = 0;
  bool committed_ = false;
  bool broken_ = false;
};

}  // namespace gml::adapters
