#include "adapters/table_writer.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "core/common/version.h"
#include "fits_io/header.h"

namespace gml::adapters {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

fits::ColumnType storage_type(ValueType t) {
  switch (t) {
    case ValueType::Float32: return fits::ColumnType::Float32;
    case ValueType::Float64: return fits::ColumnType::Float64;
    case ValueType::Int32: return fits::ColumnType::Int32;
    case ValueType::Int64: return fits::ColumnType::Int64;
    case ValueType::String: return fits::ColumnType::String;
  }
  return fits::ColumnType::Other;
}

int64_t bytes_per_value(ValueType t) {
  switch (t) {
    case ValueType::Float32:
    case ValueType::Int32: return 4;
    case ValueType::Float64:
    case ValueType::Int64: return 8;
    case ValueType::String: return 1;
  }
  return 8;
}

// FITS limits that CFITSIO does not check when it creates a table: TFIELDS
// has three digits, a TTYPE/TUNIT value fits one card (68 characters), and
// CFITSIO addresses a row with a long, so a wider row commits a file that no
// reader (CFITSIO, astropy) opens.
constexpr size_t kMaxColumns = 999;
constexpr size_t kMaxCardValue = 68;
constexpr int64_t kMaxRowBytes = 2147483647;

// Keywords that describe the table's structure or that this writer owns:
// letting a caller set them would corrupt the HDU or forge provenance.
bool reserved(const std::string& key) {
  static const char* const exact[] = {"SIMPLE",   "XTENSION", "BITPIX",   "PCOUNT",   "GCOUNT",
                                      "TFIELDS",  "EXTNAME",  "EXTEND",   "END",      "CHECKSUM",
                                      "DATASUM",  "DATE",     "GMLVERS",  "GMLINPUT", "GMLCMD",
                                      "GMLMODCK", "THEAP",    "CONTINUE", "HISTORY",  "COMMENT"};
  for (const char* e : exact) {
    if (key == e) return true;
  }
  static const char* const prefixes[] = {"NAXIS", "TTYPE", "TFORM", "TUNIT", "TNULL",
                                         "TSCAL", "TZERO", "TDISP", "TDIM"};
  for (const char* p : prefixes) {
    const size_t n = std::strlen(p);
    if (key.compare(0, n, p) == 0 &&
        std::all_of(key.begin() + static_cast<std::ptrdiff_t>(n), key.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

TableWriter::TableWriter(const std::string& path, std::string extname, Provenance provenance,
                         bool write_checksum)
    : path_(path),
      extname_(std::move(extname)),
      provenance_(std::move(provenance)),
      checksum_(write_checksum),
      file_(std::make_unique<fits::FitsFile>(fits::FitsFile::create(path))) {}

TableWriter::~TableWriter() = default;

void TableWriter::check_usable() const {
  if (committed_) throw std::invalid_argument("table writer for '" + path_ + "' is committed");
  if (broken_) {
    throw std::invalid_argument("table writer for '" + path_ +
                                "' failed earlier and cannot be used further");
  }
}

void TableWriter::add_column(OutputColumn column) {
  check_usable();
  if (table_) {
    throw std::invalid_argument("add_column('" + column.name +
                                "'): columns must be declared before the first append");
  }
  if (column.name.empty()) throw std::invalid_argument("add_column: empty column name");
  if (column.repeat < 1) {
    throw std::invalid_argument("add_column('" + column.name + "'): repeat must be >= 1");
  }
  if (columns_.size() >= kMaxColumns) {
    throw std::invalid_argument("add_column('" + column.name + "'): a FITS table holds at most " +
                                std::to_string(kMaxColumns) + " columns");
  }
  if (column.name.size() > kMaxCardValue || column.unit.size() > kMaxCardValue) {
    throw std::invalid_argument(
        "add_column('" + column.name.substr(0, 20) +
        "...'): name and unit must be at most 68 characters (one FITS card)");
  }
  int64_t row_bytes = 0;
  for (const OutputColumn& c : columns_) row_bytes += c.repeat * bytes_per_value(c.type);
  if (column.repeat > (kMaxRowBytes - row_bytes) / bytes_per_value(column.type)) {
    throw std::invalid_argument("add_column('" + column.name + "'): repeat " +
                                std::to_string(column.repeat) + " makes a row wider than " +
                                std::to_string(kMaxRowBytes) + " bytes, the FITS table limit");
  }
  for (const OutputColumn& c : columns_) {
    if (upper(c.name) == upper(column.name)) {
      throw std::invalid_argument("add_column: duplicate column name '" + column.name + "'");
    }
  }
  columns_.push_back(std::move(column));
}

void TableWriter::set_keyword(const std::string& key, const std::string& value,
                              const std::string& comment) {
  check_usable();
  const std::string k = upper(key);
  const bool well_formed =
      !k.empty() && k.size() <= 8 && std::all_of(k.begin(), k.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
  if (!well_formed) {
    throw std::invalid_argument("keyword '" + key + "': use 1-8 characters of A-Z, 0-9, '-', '_'");
  }
  if (reserved(k)) {
    throw std::invalid_argument("keyword '" + k + "' is reserved by the table or its provenance");
  }
  if (table_) {
    fits::write_key_string(*file_, k, value, comment);
  } else {
    keywords_.push_back({k, {value, comment}});
  }
}

void TableWriter::ensure_table() {
  if (table_) return;
  if (columns_.empty()) throw std::invalid_argument("table writer: no columns declared");
  std::vector<fits::ColumnSpec> specs;
  for (const OutputColumn& c : columns_) {
    fits::ColumnSpec s;
    s.name = c.name;
    s.type = storage_type(c.type);
    s.repeat = c.repeat;
    s.unit = c.unit;
    specs.push_back(std::move(s));
  }
  table_ = std::make_unique<fits::Table>(fits::create_table(*file_, extname_, specs));
  fits::FitsFile& f = *file_;
  fits::write_key_string(f, "GMLVERS", library_version(), "galaxyml version that wrote this");
  fits::write_key_string(f, "DATE", utc_timestamp(), "UTC time the file was written");
  if (!provenance_.input_file.empty()) {
    fits::write_key_string(f, "GMLINPUT", provenance_.input_file, "input file");
  }
  if (!provenance_.command_line.empty()) {
    fits::write_key_string(f, "GMLCMD", provenance_.command_line, "command line");
  }
  if (!provenance_.model_checksum.empty()) {
    fits::write_key_string(f, "GMLMODCK", provenance_.model_checksum, "model file checksum");
  }
  for (const auto& kv : keywords_) {
    fits::write_key_string(f, kv.first, kv.second.first, kv.second.second);
  }
  keywords_.clear();
}

void TableWriter::append(int64_t n, const void* const* data) {
  check_usable();
  if (n < 0) throw std::invalid_argument("append: n_rows must be >= 0");
  if (data == nullptr) throw std::invalid_argument("append: data must not be NULL");
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (n > 0 && data[i] == nullptr) {
      throw std::invalid_argument("append: buffer of column '" + columns_[i].name + "' is NULL");
    }
  }
  // The caller's buffers of n rows must fit in the address space and the
  // table's bytes in a FITS file (64-bit offsets); INT64_MAX rows would
  // otherwise reach pointer arithmetic that wraps.
  int64_t row_bytes = 0;
  for (const OutputColumn& c : columns_) row_bytes += c.repeat * bytes_per_value(c.type);
  if (row_bytes > 0 && (n > PTRDIFF_MAX / row_bytes || rows_ > INT64_MAX / row_bytes - n)) {
    throw std::invalid_argument("append: " + std::to_string(n) + " rows of " +
                                std::to_string(row_bytes) +
                                " bytes exceed the address space or a FITS table's size");
  }
  try {
    ensure_table();
    if (n == 0) return;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const OutputColumn& c = columns_[i];
      const int64_t nelem = n * c.repeat;
      switch (c.type) {
        case ValueType::Float32:
          table_->write_column(c.name, rows_, n, static_cast<const float*>(data[i]));
          break;
        case ValueType::Float64:
          table_->write_column(c.name, rows_, n, static_cast<const double*>(data[i]));
          break;
        case ValueType::Int64:
          table_->write_column(c.name, rows_, n, static_cast<const int64_t*>(data[i]));
          break;
        case ValueType::Int32: {
          const int32_t* src = static_cast<const int32_t*>(data[i]);
          const std::vector<int64_t> wide(src, src + nelem);
          table_->write_column(c.name, rows_, n, wide.data());
          break;
        }
        case ValueType::String: {
          const char* src = static_cast<const char*>(data[i]);
          std::vector<std::string> values;
          values.reserve(static_cast<size_t>(n));
          const size_t width = static_cast<size_t>(c.repeat);
          for (int64_t r = 0; r < n; ++r) {
            const char* p = src + static_cast<size_t>(r) * width;
            values.emplace_back(p, strnlen(p, width));
          }
          table_->write_strings(c.name, rows_, values);
          break;
        }
      }
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (...) {
    // Columns may now disagree in length; the file must not be committed.
    broken_ = true;
    throw;
  }
  rows_ += n;
}

void TableWriter::commit() {
  check_usable();
  try {
    ensure_table();
    if (checksum_) file_->write_checksum();
    file_->commit();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (...) {
    broken_ = true;
    throw;
  }
  committed_ = true;
}

}  // namespace gml::adapters
