#include "fits_io/header.h"

#include <fitsio.h>

#include <cmath>
#include <stdexcept>

namespace gml::fits {
namespace {

using detail::check_fits;

void require_name(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("FITS keyword name must not be empty");
}

// Splits CFITSIO's full comment into unit and the text after "[unit]".
void fill_info(FitsFile& f, const std::string& name, const char* comment, KeyInfo* info) {
  char unit[FLEN_COMMENT] = {0};
  int status = 0;
  fits_read_key_unit(f.handle(), name.c_str(), unit, &status);
  check_fits(status, f.path(), "read unit of keyword " + name);
  info->unit = unit;
  std::string c = comment;
  if (!info->unit.empty() && c.rfind("[", 0) == 0) {
    auto close = c.find(']');
    if (close != std::string::npos) {
      c.erase(0, close + 1);
      while (!c.empty() && c.front() == ' ') c.erase(0, 1);
    }
  }
  info->comment = c;
}

// Reads a keyword's value card as `datatype` and its unit/comment.
template <typename T>
T read_typed(FitsFile& f, int datatype, const std::string& name, KeyInfo* info) {
  require_name(name);
  T value{};
  char comment[FLEN_COMMENT] = {0};
  int status = 0;
  fits_read_key(f.handle(), datatype, name.c_str(), &value, comment, &status);
  check_fits(status, f.path(), "read keyword " + name);
  if (info != nullptr) fill_info(f, name, comment, info);
  return value;
}

// CFITSIO lets keyword edits of a read-only file succeed in its buffers
// and only fails at flush time, which a destructor cannot report.
void require_writable(FitsFile& f, const std::string& name) {
  int mode = 0, status = 0;
  fits_file_mode(f.handle(), &mode, &status);
  if (status == 0 && mode != READWRITE) {
    throw FitsError(READONLY_FILE,
                    "write keyword " + name + " '" + f.path() + "': file is open read-only");
  }
}

void write_unit(FitsFile& f, const std::string& name, const std::string& unit) {
  if (unit.empty()) return;
  int status = 0;
  fits_write_key_unit(f.handle(), name.c_str(), unit.c_str(), &status);
  check_fits(status, f.path(), "write unit of keyword " + name);
}

// Every keyword writer: the same checks, one CFITSIO update (`update(handle,
// &status)`), the same error text, then the unit.
template <typename Update>
void write_key(FitsFile& f, const std::string& name, const std::string& unit, Update update) {
  require_name(name);
  require_writable(f, name);
  int status = 0;
  update(f.handle(), &status);
  check_fits(status, f.path(), "write keyword " + name);
  write_unit(f, name, unit);
}

}  // namespace

bool has_key(FitsFile& f, const std::string& name) {
  require_name(name);
  char card[FLEN_CARD] = {0};
  int status = 0;
  fits_read_card(f.handle(), name.c_str(), card, &status);
  if (status == KEY_NO_EXIST) {
    detail::clear_fits_errors();
    return false;
  }
  check_fits(status, f.path(), "look up keyword " + name);
  return true;
}

std::string read_key_string(FitsFile& f, const std::string& name, KeyInfo* info) {
  require_name(name);
  char* value = nullptr;
  char comment[FLEN_COMMENT] = {0};
  int status = 0;
  // The long-string reader follows CONTINUE cards and allocates the result.
  fits_read_key_longstr(f.handle(), name.c_str(), &value, comment, &status);
  std::string out = value != nullptr ? value : "";
  if (value != nullptr) fits_free_memory(value, &status);
  check_fits(status, f.path(), "read keyword " + name);
  if (info != nullptr) fill_info(f, name, comment, info);
  return out;
}

int64_t read_key_int(FitsFile& f, const std::string& name, KeyInfo* info) {
  return static_cast<int64_t>(read_typed<LONGLONG>(f, TLONGLONG, name, info));
}

double read_key_double(FitsFile& f, const std::string& name, KeyInfo* info) {
  return read_typed<double>(f, TDOUBLE, name, info);
}

bool read_key_bool(FitsFile& f, const std::string& name, KeyInfo* info) {
  return read_typed<int>(f, TLOGICAL, name, info) != 0;
}

void write_key_string(FitsFile& f, const std::string& name, const std::string& value,
                      const std::string& comment, const std::string& unit) {
  write_key(f, name, unit, [&](fitsfile* h, int* status) {
    fits_update_key_longstr(h, name.c_str(), value.c_str(), comment.c_str(), status);
  });
}

void write_key_int(FitsFile& f, const std::string& name, int64_t value, const std::string& comment,
                   const std::string& unit) {
  LONGLONG v = value;
  write_key(f, name, unit, [&](fitsfile* h, int* status) {
    fits_update_key(h, TLONGLONG, name.c_str(), &v, comment.c_str(), status);
  });
}

void write_key_double(FitsFile& f, const std::string& name, double value,
                      const std::string& comment, const std::string& unit) {
  write_key(f, name, unit, [&](fitsfile* h, int* status) {
    if (!std::isfinite(value)) {
      throw std::invalid_argument("keyword " + name + ": FITS cannot store a non-finite value");
    }
    // 17 significant digits: the value reads back bit-exactly.
    fits_update_key_dbl(h, name.c_str(), value, -17, comment.c_str(), status);
  });
}

void write_key_bool(FitsFile& f, const std::string& name, bool value, const std::string& comment,
                    const std::string& unit) {
  int v = value ? 1 : 0;
  write_key(f, name, unit, [&](fitsfile* h, int* status) {
    fits_update_key(h, TLOGICAL, name.c_str(), &v, comment.c_str(), status);
  });
}

void write_history(FitsFile& f, const std::string& text) {
  require_writable(f, "HISTORY");
  int status = 0;
  fits_write_history(f.handle(), text.c_str(), &status);
  check_fits(status, f.path(), "write HISTORY");
}

void write_comment(FitsFile& f, const std::string& text) {
  require_writable(f, "COMMENT");
  int status = 0;
  fits_write_comment(f.handle(), text.c_str(), &status);
  check_fits(status, f.path(), "write COMMENT");
}

std::string read_header_string(FitsFile& f) {
  char* header = nullptr;
  int nkeys = 0, status = 0;
  fits_hdr2str(f.handle(), 0, nullptr, 0, &header, &nkeys, &status);
  std::string out;
  if (header != nullptr) {
    out.assign(header, static_cast<size_t>(nkeys) * 80);
    int s2 = 0;
    fits_free_memory(header, &s2);
  }
  check_fits(status, f.path(), "read header");
  return out;
}

}  // namespace gml::fits
