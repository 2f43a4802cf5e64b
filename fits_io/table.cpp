#include "fits_io/table.h"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace gml::fits {
namespace {

using detail::check_fits;

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

ColumnType from_typecode(int code) {
  switch (code) {
    case TLOGICAL: return ColumnType::Bool;
    case TBYTE: return ColumnType::UInt8;
    case TSBYTE: return ColumnType::Int8;
    case TSHORT: return ColumnType::Int16;
    case TUSHORT: return ColumnType::UInt16;
    case TINT:
    case TLONG: return ColumnType::Int32;
    case TUINT:
    case TULONG: return ColumnType::UInt32;
    case TLONGLONG: return ColumnType::Int64;
    case TFLOAT: return ColumnType::Float32;
    case TDOUBLE: return ColumnType::Float64;
    case TSTRING: return ColumnType::String;
    default: return ColumnType::Other;  // bits, complex, unsigned 64-bit, variable length
  }
}

bool is_integer(ColumnType t) {
  switch (t) {
    case ColumnType::Bool:
    case ColumnType::UInt8:
    case ColumnType::Int8:
    case ColumnType::Int16:
    case ColumnType::UInt16:
    case ColumnType::Int32:
    case ColumnType::UInt32:
    case ColumnType::Int64: return true;
    default: return false;
  }
}

std::string tform_for(const ColumnSpec& c) {
  const char* code = nullptr;
  switch (c.type) {
    case ColumnType::Bool: code = "L"; break;
    case ColumnType::UInt8: code = "B"; break;
    case ColumnType::Int16: code = "I"; break;
    case ColumnType::Int32: code = "J"; break;
    case ColumnType::Int64: code = "K"; break;
    case ColumnType::Float32: code = "E"; break;
    case ColumnType::Float64: code = "D"; break;
    case ColumnType::String: code = "A"; break;
    default:
      throw std::invalid_argument("create_table: column '" + c.name + "' has type " +
                                  to_string(c.type) + ", which cannot be created here");
  }
  return std::to_string(c.repeat) + code;
}

template <typename T>
struct ColType;
template <>
struct ColType<float> {
  static constexpr int code = TFLOAT;
};
template <>
struct ColType<double> {
  static constexpr int code = TDOUBLE;
};
template <>
struct ColType<int64_t> {
  static constexpr int code = TLONGLONG;
};

// One number about the current HDU from a CFITSIO query of the form
// query(file, &value, &status).
template <typename T>
T query_hdu(FitsFile& f, int (*query)(fitsfile*, T*, int*), const std::string& what) {
  T value = 0;
  int status = 0;
  query(f.handle(), &value, &status);
  check_fits(status, f.path(), what);
  return value;
}

}  // namespace

const char* to_string(ColumnType t) {
  switch (t) {
    case ColumnType::Bool: return "bool";
    case ColumnType::UInt8: return "uint8";
    case ColumnType::Int8: return "int8";
    case ColumnType::Int16: return "int16";
    case ColumnType::UInt16: return "uint16";
    case ColumnType::Int32: return "int32";
    case ColumnType::UInt32: return "uint32";
    case ColumnType::Int64: return "int64";
    case ColumnType::Float32: return "float32";
    case ColumnType::Float64: return "float64";
    case ColumnType::String: return "string";
    default: return "unsupported (bit, complex, uint64 or variable-length)";
  }
}

bool ColumnInfo::is_numeric() const {
  return type != ColumnType::String && type != ColumnType::Other;
}

Table::Table(FitsFile& f) : file_(&f), hdu_(f.current_hdu()) {
  if (f.hdu_type() == HduType::Image) {
    throw FitsError(NOT_TABLE, "open table in '" + f.path() + "': HDU " + std::to_string(hdu_) +
                                   " is an image, not a table");
  }
  fitsfile* fp = f.handle();
  int ncols = 0, status = 0;
  fits_get_num_cols(fp, &ncols, &status);
  check_fits(status, f.path(), "count table columns");
  columns_.reserve(static_cast<size_t>(ncols));
  for (int n = 1; n <= ncols; ++n) {
    ColumnInfo c;
    c.number = n;
    char value[FLEN_VALUE] = {0};
    const std::string num = std::to_string(n);
    if (fits_read_key(fp, TSTRING, ("TTYPE" + num).c_str(), value, nullptr, &status) == 0) {
      c.name = value;
    }
    status = 0;
    value[0] = 0;
    fits_read_key(fp, TSTRING, ("TFORM" + num).c_str(), value, nullptr, &status);
    check_fits(status, f.path(), "read TFORM" + num);
    c.tform = value;
    value[0] = 0;
    if (fits_read_key(fp, TSTRING, ("TUNIT" + num).c_str(), value, nullptr, &status) == 0) {
      c.unit = value;
    }
    status = 0;
    LONGLONG tnull = 0;
    if (fits_read_key(fp, TLONGLONG, ("TNULL" + num).c_str(), &tnull, nullptr, &status) == 0) {
      c.tnull = tnull;
    }
    status = 0;
    int typecode = 0;
    LONGLONG repeat = 0, width = 0;
    fits_get_eqcoltypell(fp, n, &typecode, &repeat, &width, &status);
    check_fits(status, f.path(), "read type of column " + num);
    c.type = typecode < 0 ? ColumnType::Other : from_typecode(typecode);
    c.repeat = repeat;
    if (c.type == ColumnType::String && f.hdu_type() == HduType::AsciiTable) c.repeat = width;
    if (!is_integer(c.type)) c.tnull.reset();
    columns_.push_back(std::move(c));
  }
  detail::clear_fits_errors();
}

void Table::select() const {
  if (file_->current_hdu() != hdu_) file_->move_to(hdu_);
}

int64_t Table::nrows() const {
  select();
  return query_hdu<LONGLONG>(*file_, fits_get_num_rowsll, "count table rows");
}

int64_t Table::optimal_chunk_rows() const {
  select();
  return std::max<int64_t>(query_hdu<long>(*file_, fits_get_rowsize, "get optimal row count"), 1);
}

bool Table::has_column(const std::string& name) const {
  const std::string key = upper(name);
  return std::any_of(columns_.begin(), columns_.end(),
                     [&](const ColumnInfo& c) { return upper(c.name) == key; });
}

const ColumnInfo& Table::column(const std::string& name) const {
  const std::string key = upper(name);
  for (const ColumnInfo& c : columns_) {
    if (upper(c.name) == key) return c;
  }
  std::string names;
  for (const ColumnInfo& c : columns_) names += (names.empty() ? "" : ", ") + c.name;
  throw FitsError(COL_NOT_FOUND, "column '" + name + "' not found in HDU " + std::to_string(hdu_) +
                                     " of '" + file_->path() + "'; available columns: " + names);
}

void Table::check_range(int64_t first_row, int64_t n, bool for_write) const {
  if (first_row < 0 || n < 0) {
    throw std::invalid_argument("table rows: first_row and n must be >= 0 (got " +
                                std::to_string(first_row) + ", " + std::to_string(n) + ")");
  }
  if (!for_write) {
    const int64_t total = nrows();
    if (first_row > total || n > total - first_row) {
      // Not first_row + n in the message: the sum may overflow.
      throw std::invalid_argument("table rows: first_row " + std::to_string(first_row) + " and n " +
                                  std::to_string(n) + " are outside the " + std::to_string(total) +
                                  " rows of '" + file_->path() + "'");
    }
  }
}

template <typename T>
int64_t Table::read_numeric(const std::string& name, int64_t first_row, int64_t n, T* out,
                            uint8_t* null_mask) const {
  const ColumnInfo& c = column(name);
  const bool want_int = std::is_integral<T>::value;
  if (!c.is_numeric() || (want_int && !is_integer(c.type))) {
    throw std::invalid_argument("column '" + c.name + "' (TFORM " + c.tform + ", " +
                                to_string(c.type) + ") cannot be read as " +
                                (want_int                        ? "int64"
                                 : std::is_same<T, float>::value ? "float32"
                                                                 : "float64"));
  }
  check_range(first_row, n, false);
  if (n == 0) return 0;
  if (out == nullptr) throw std::invalid_argument("read_column: null output buffer");
  select();
  const int64_t nelem = n * c.repeat;
  std::vector<char> own_mask;
  char* mask = reinterpret_cast<char*>(null_mask);
  if (mask == nullptr) {
    own_mask.resize(static_cast<size_t>(nelem));
    mask = own_mask.data();
  }
  int anynul = 0, status = 0;
  if (c.type == ColumnType::Bool) {
    // CFITSIO does not convert logical columns to numbers; read as flags.
    std::vector<char> flags(static_cast<size_t>(nelem));
    fits_read_colnull(file_->handle(), TLOGICAL, c.number, first_row + 1, 1, nelem, flags.data(),
                      mask, &anynul, &status);
    for (int64_t i = 0; i < nelem; ++i) out[i] = static_cast<T>(flags[i] != 0);
  } else {
    fits_read_colnull(file_->handle(), ColType<T>::code, c.number, first_row + 1, 1, nelem, out,
                      mask, &anynul, &status);
  }
  check_fits(status, file_->path(), "read column " + c.name);
  int64_t nnull = 0;
  if (anynul) {
    for (int64_t i = 0; i < nelem; ++i) {
      if (mask[i]) {
        ++nnull;
        if constexpr (std::is_floating_point<T>::value) {
          out[i] = std::numeric_limits<T>::quiet_NaN();
        } else {
          out[i] = c.tnull.value_or(0);
        }
      }
    }
  }
  return nnull;
}

int64_t Table::read_column(const std::string& name, int64_t first_row, int64_t n, float* out,
                           uint8_t* null_mask) const {
  return read_numeric(name, first_row, n, out, null_mask);
}
int64_t Table::read_column(const std::string& name, int64_t first_row, int64_t n, double* out,
                           uint8_t* null_mask) const {
  return read_numeric(name, first_row, n, out, null_mask);
}
int64_t Table::read_column(const std::string& name, int64_t first_row, int64_t n, int64_t* out,
                           uint8_t* null_mask) const {
  return read_numeric(name, first_row, n, out, null_mask);
}

std::vector<std::string> Table::read_strings(const std::string& name, int64_t first_row,
                                             int64_t n) const {
  const ColumnInfo& c = column(name);
  if (c.type != ColumnType::String) {
    throw std::invalid_argument("column '" + c.name + "' (TFORM " + c.tform +
                                ") is not a string column");
  }
  check_range(first_row, n, false);
  std::vector<std::string> out;
  if (n == 0) return out;
  select();
  const size_t width = static_cast<size_t>(std::max<int64_t>(c.repeat, 1)) + 1;
  std::vector<char> storage(static_cast<size_t>(n) * width, '\0');
  std::vector<char*> ptrs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ptrs[i] = storage.data() + i * width;
  char nulstr[] = "";
  int anynul = 0, status = 0;
  fits_read_col_str(file_->handle(), c.number, first_row + 1, 1, n, nulstr, ptrs.data(), &anynul,
                    &status);
  check_fits(status, file_->path(), "read column " + c.name);
  out.reserve(static_cast<size_t>(n));
  for (char* p : ptrs) {
    std::string s(p);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out.push_back(std::move(s));
  }
  return out;
}

template <typename T>
void Table::write_numeric(const std::string& name, int64_t first_row, int64_t n, const T* data,
                          const uint8_t* null_mask) {
  const ColumnInfo& c = column(name);
  if (!c.is_numeric()) {
    throw std::invalid_argument("column '" + c.name + "' (TFORM " + c.tform +
                                ") is not numeric; use write_strings");
  }
  check_range(first_row, n, true);
  if (n == 0) return;
  if (data == nullptr) throw std::invalid_argument("write_column: null data");
  select();
  const int64_t nelem = n * c.repeat;
  int status = 0;
  if (c.type == ColumnType::Bool) {
    if (null_mask != nullptr) {
      throw std::invalid_argument("write_column: nulls in logical column '" + c.name +
                                  "' are not supported");
    }
    std::vector<char> flags(static_cast<size_t>(nelem));
    for (int64_t i = 0; i < nelem; ++i) flags[i] = data[i] != T(0) ? 1 : 0;
    fits_write_col(file_->handle(), TLOGICAL, c.number, first_row + 1, 1, nelem, flags.data(),
                   &status);
    check_fits(status, file_->path(), "write column " + c.name);
    return;
  }
  std::vector<T> copy;
  const T* src = data;
  if (null_mask != nullptr) {
    copy.assign(data, data + nelem);
    T fill{};
    if (is_integer(c.type)) {
      if (!c.tnull) {
        throw std::invalid_argument("write_column: integer column '" + c.name +
                                    "' has no TNULL to mark nulls with");
      }
      fill = static_cast<T>(*c.tnull);
    } else {
      fill = std::numeric_limits<T>::has_quiet_NaN ? std::numeric_limits<T>::quiet_NaN() : T{};
      if (!std::numeric_limits<T>::has_quiet_NaN) {
        // int64 input into a float column: store the nulls as NaN via double.
        std::vector<double> dcopy(data, data + nelem);
        for (int64_t i = 0; i < nelem; ++i) {
          if (null_mask[i]) dcopy[i] = std::numeric_limits<double>::quiet_NaN();
        }
        fits_write_col(file_->handle(), TDOUBLE, c.number, first_row + 1, 1, nelem, dcopy.data(),
                       &status);
        check_fits(status, file_->path(), "write column " + c.name);
        return;
      }
    }
    for (int64_t i = 0; i < nelem; ++i) {
      if (null_mask[i]) copy[i] = fill;
    }
    src = copy.data();
  }
  fits_write_col(file_->handle(), ColType<T>::code, c.number, first_row + 1, 1, nelem,
                 const_cast<T*>(src), &status);
  check_fits(status, file_->path(), "write column " + c.name);
}

void Table::write_column(const std::string& name, int64_t first_row, int64_t n, const double* data,
                         const uint8_t* null_mask) {
  write_numeric(name, first_row, n, data, null_mask);
}
void Table::write_column(const std::string& name, int64_t first_row, int64_t n, const float* data,
                         const uint8_t* null_mask) {
  write_numeric(name, first_row, n, data, null_mask);
}
void Table::write_column(const std::string& name, int64_t first_row, int64_t n, const int64_t* data,
                         const uint8_t* null_mask) {
  write_numeric(name, first_row, n, data, null_mask);
}

void Table::write_strings(const std::string& name, int64_t first_row,
                          const std::vector<std::string>& values) {
  const ColumnInfo& c = column(name);
  if (c.type != ColumnType::String) {
    throw std::invalid_argument("column '" + c.name + "' (TFORM " + c.tform +
                                ") is not a string column");
  }
  check_range(first_row, static_cast<int64_t>(values.size()), true);
  if (values.empty()) return;
  select();
  std::vector<std::string> clipped;
  clipped.reserve(values.size());
  for (const std::string& v : values) clipped.push_back(v.substr(0, static_cast<size_t>(c.repeat)));
  std::vector<char*> ptrs;
  ptrs.reserve(values.size());
  for (std::string& v : clipped) ptrs.push_back(&v[0]);
  int status = 0;
  fits_write_col_str(file_->handle(), c.number, first_row + 1, 1,
                     static_cast<LONGLONG>(ptrs.size()), ptrs.data(), &status);
  check_fits(status, file_->path(), "write column " + c.name);
}

Table create_table(FitsFile& f, const std::string& extname, const std::vector<ColumnSpec>& cols) {
  if (cols.empty()) throw std::invalid_argument("create_table: no columns");
  std::vector<std::string> names, tforms, units;
  for (const ColumnSpec& c : cols) {
    if (c.name.empty()) throw std::invalid_argument("create_table: empty column name");
    if (c.repeat < 1) {
      throw std::invalid_argument("create_table: column '" + c.name + "' has repeat < 1");
    }
    for (const std::string& seen : names) {
      if (upper(seen) == upper(c.name)) {
        throw std::invalid_argument("create_table: duplicate column name '" + c.name + "'");
      }
    }
    if (c.tnull && !is_integer(c.type)) {
      throw std::invalid_argument("create_table: TNULL given for non-integer column '" + c.name +
                                  "'");
    }
    names.push_back(c.name);
    tforms.push_back(tform_for(c));
    units.push_back(c.unit);
  }
  int nhdu = 0, status = 0;
  fits_get_num_hdus(f.handle(), &nhdu, &status);
  check_fits(status, f.path(), "count HDUs");
  if (nhdu == 0) {
    fits_create_img(f.handle(), BYTE_IMG, 0, nullptr, &status);
    check_fits(status, f.path(), "create empty primary HDU");
  }
  std::vector<char*> ttype, tform, tunit;
  for (size_t i = 0; i < cols.size(); ++i) {
    ttype.push_back(&names[i][0]);
    tform.push_back(&tforms[i][0]);
    tunit.push_back(&units[i][0]);
  }
  std::string ext = extname;
  fits_create_tbl(f.handle(), BINARY_TBL, 0, static_cast<int>(cols.size()), ttype.data(),
                  tform.data(), tunit.data(), ext.empty() ? nullptr : &ext[0], &status);
  check_fits(status, f.path(), "create table " + extname);
  bool any_tnull = false;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (!cols[i].tnull) continue;
    LONGLONG v = *cols[i].tnull;
    const std::string key = "TNULL" + std::to_string(i + 1);
    fits_write_key(f.handle(), TLONGLONG, key.c_str(), &v, "value marking undefined elements",
                   &status);
    check_fits(status, f.path(), "write " + key);
    any_tnull = true;
  }
  if (any_tnull) {
    // CFITSIO caches column descriptors; re-read them so TNULL is honoured.
    fits_set_hdustruc(f.handle(), &status);
    check_fits(status, f.path(), "re-read table structure");
  }
  return Table(f);
}

}  // namespace gml::fits
