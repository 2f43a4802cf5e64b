#include "fits_io/table_format.h"

#include <cctype>

namespace gml::fits::detail {
namespace {

constexpr int64_t kMaxRepeat = int64_t{1} << 40;  // far beyond any real row

bool digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads decimal digits at s[i]; false if none or the value exceeds `max`.
bool read_count(const std::string& s, size_t& i, int64_t max, int64_t& out) {
  const size_t start = i;
  out = 0;
  while (i < s.size() && digit(s[i])) {
    out = out * 10 + (s[i] - '0');
    if (out > max) return false;
    ++i;
  }
  return i > start;
}

std::string column(size_t k) {
  return "column " + std::to_string(k + 1);
}

int64_t type_width(char t) {
  switch (t) {
    case 'L':
    case 'B':
    case 'A': return 1;
    case 'I': return 2;
    case 'J':
    case 'E': return 4;
    case 'K':
    case 'D':
    case 'C': return 8;
    case 'M': return 16;
    default: return 0;
  }
}

// Parses a binary-table TFORM; returns "" and sets repeat/width (bytes) or
// describes the problem.
std::string parse_binary_tform(const std::string& f, char& type, int64_t& repeat, int64_t& width) {
  size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  repeat = 1;
  if (i < f.size() && digit(f[i]) && !read_count(f, i, kMaxRepeat, repeat)) {
    return "repeat count is too large";
  }
  if (i == f.size()) return "no data type letter";
  type = f[i++];
  if (type == 'P' || type == 'Q') {
    if (repeat > 1) return "repeat count of a variable-length column must be 0 or 1";
    if (i == f.size() || (type_width(f[i]) == 0 && f[i] != 'X')) {
      return "variable-length column needs an element type (L, X, B, I, J, K, A, E, D, C, M)";
    }
    ++i;
    if (i < f.size() && f[i] == '(') {
      int64_t max = 0;
      ++i;
      if (!read_count(f, i, kMaxRepeat, max) || i == f.size() || f[i] != ')') {
        return "malformed maximum length '(n)'";
      }
      ++i;
    }
    width = repeat * (type == 'P' ? 8 : 16);
  } else if (type == 'X') {
    width = (repeat + 7) / 8;
  } else if (type_width(type) != 0) {
    if (type == 'A') {
      int64_t w = 0;  // "rAw": fixed-width substrings
      if (i < f.size() && digit(f[i]) && !read_count(f, i, kMaxRepeat, w)) {
        return "substring width is too large";
      }
    }
    width = repeat * type_width(type);
  } else {
    return "unknown data type '" + std::string(1, type) + "'";
  }
  while (i < f.size() && f[i] == ' ') ++i;
  if (i != f.size()) return "unexpected text '" + f.substr(i) + "'";
  return {};
}

// "(d1,d2,...)" with positive sizes; sets the product.
std::string parse_tdim(const std::string& d, int64_t& product) {
  size_t i = 0;
  auto blanks = [&] {
    while (i < d.size() && d[i] == ' ') ++i;
  };
  blanks();
  if (i == d.size() || d[i] != '(') return "must start with '('";
  ++i;
  product = 1;
  for (;;) {
    blanks();
    int64_t n = 0;
    if (!read_count(d, i, kMaxRepeat, n) || n == 0) return "sizes must be positive integers";
    if (__builtin_mul_overflow(product, n, &product) || product > kMaxRepeat) {
      return "size product is too large";
    }
    blanks();
    if (i < d.size() && d[i] == ',') {
      ++i;
      continue;
    }
    if (i < d.size() && d[i] == ')') break;
    return "expected ',' or ')'";
  }
  ++i;
  blanks();
  return i == d.size() ? std::string() : "unexpected text after ')'";
}

}  // namespace

std::string check_binary_columns(const std::vector<ColumnSpec>& cols, int64_t naxis1,
                                 int64_t naxis2, int64_t pcount, int64_t theap) {
  int64_t row = 0;
  for (size_t k = 0; k < cols.size(); ++k) {
    const ColumnSpec& c = cols[k];
    if (!c.has_tform) return column(k) + " has no TFORM" + std::to_string(k + 1);
    char type = 0;
    int64_t repeat = 0, width = 0;
    const std::string err = parse_binary_tform(c.tform, type, repeat, width);
    if (!err.empty()) return column(k) + ": bad TFORM '" + c.tform + "': " + err;
    row += width;  // bounded: at most 999 columns of at most 2^44 bytes
    if (c.has_tdim) {
      int64_t product = 0;
      const std::string derr = parse_tdim(c.tdim, product);
      if (!derr.empty()) return column(k) + ": bad TDIM '" + c.tdim + "': " + derr;
      if (type != 'P' && type != 'Q' && product > repeat) {
        return column(k) + ": TDIM '" + c.tdim + "' holds more elements than the repeat count " +
               std::to_string(repeat);
      }
    }
  }
  if (row != naxis1) {
    return "the TFORM widths sum to " + std::to_string(row) + " bytes but NAXIS1 is " +
           std::to_string(naxis1);
  }
  if (theap >= 0) {
    int64_t main = 0;
    if (__builtin_mul_overflow(naxis1, naxis2, &main) || theap < main || theap - main > pcount) {
      return "THEAP " + std::to_string(theap) + " is outside the data unit";
    }
  }
  return {};
}

std::string check_ascii_columns(const std::vector<ColumnSpec>& cols, int64_t naxis1) {
  for (size_t k = 0; k < cols.size(); ++k) {
    const ColumnSpec& c = cols[k];
    if (!c.has_tform) return column(k) + " has no TFORM" + std::to_string(k + 1);
    if (c.tbcol < 1) return column(k) + " has no TBCOL" + std::to_string(k + 1);
    const std::string& f = c.tform;
    size_t i = 0;
    while (i < f.size() && f[i] == ' ') ++i;
    const char type = i < f.size() ? f[i++] : '\0';
    int64_t w = 0, d = 0;
    bool ok = (type == 'A' || type == 'I' || type == 'F' || type == 'E' || type == 'D') &&
              read_count(f, i, kMaxRepeat, w) && w > 0;
    if (ok && (type == 'F' || type == 'E' || type == 'D')) {
      ok = i < f.size() && f[i] == '.' && (++i, read_count(f, i, kMaxRepeat, d));
    }
    while (ok && i < f.size() && f[i] == ' ') ++i;
    if (!ok || i != f.size()) {
      return column(k) + ": bad TFORM '" + f + "' (expected Aw, Iw, Fw.d, Ew.d or Dw.d)";
    }
    if (c.tbcol - 1 > naxis1 - w) {
      return column(k) + ": field of " + std::to_string(w) + " characters at TBCOL " +
             std::to_string(c.tbcol) +
             " runs past the row width NAXIS1 = " + std::to_string(naxis1);
    }
  }
  return {};
}

}  // namespace gml::fits::detail
