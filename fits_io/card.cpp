#include "fits_io/card.h"

#include <cstring>
#include <limits>

namespace gml::fits::detail {
namespace {

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string col(size_t i) {
  return "column " + std::to_string(i + 1);
}

// Accepts the standard's integer and real forms: [+-]digits, with an
// optional fraction and an E/D exponent. Lower-case exponent letters are
// accepted too: common writers emit them and every reader handles them.
bool numeric_token(const char* s, size_t n, bool& is_integer) {
  size_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < n && is_digit(s[i])) ++i, ++int_digits;
  is_integer = true;
  if (i < n && s[i] == '.') {
    is_integer = false;
    ++i;
    while (i < n && is_digit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < n && (s[i] == 'E' || s[i] == 'D' || s[i] == 'e' || s[i] == 'd')) {
    is_integer = false;
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < n && is_digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == n;
}

bool parse_int64(const char* s, size_t n, int64_t& out) {
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') neg = s[i++] == '-';
  // Accumulate negatively so INT64_MIN is representable.
  int64_t v = 0;
  for (; i < n; ++i) {
    const int d = s[i] - '0';
    if (v < (std::numeric_limits<int64_t>::min() + d) / 10) return false;
    v = v * 10 - d;
  }
  if (!neg) {
    if (v == std::numeric_limits<int64_t>::min()) return false;
    v = -v;
  }
  out = v;
  return true;
}

// After a value: only blanks, then optionally "/" and a free comment.
std::string check_tail(const char* c, size_t i) {
  while (i < kCardLength && c[i] == ' ') ++i;
  if (i < kCardLength && c[i] != '/') {
    return "unexpected text after the value at " + col(i) + " (a comment must start with '/')";
  }
  return {};
}

std::string parse_value(const char* c, size_t i, Card& out) {
  while (i < kCardLength && c[i] == ' ') ++i;
  if (i == kCardLength || c[i] == '/') {
    out.kind = ValueKind::Undefined;
    return {};
  }
  if (c[i] == '\'') {
    const size_t open = i;
    std::string s;
    for (++i; i < kCardLength; ++i) {
      if (c[i] != '\'') {
        s += c[i];
      } else if (i + 1 < kCardLength && c[i + 1] == '\'') {
        s += '\'';
        ++i;
      } else {
        break;
      }
    }
    if (i == kCardLength) return "unterminated string value (opened at " + col(open) + ")";
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out.kind = ValueKind::String;
    out.text = std::move(s);
    return check_tail(c, i + 1);
  }
  if (c[i] == 'T' || c[i] == 'F') {
    out.kind = ValueKind::Logical;
    out.logical = c[i] == 'T';
    if (i + 1 < kCardLength && c[i + 1] != ' ' && c[i + 1] != '/') {
      return "logical value at " + col(i) + " must be a lone T or F";
    }
    return check_tail(c, i + 1);
  }
  if (c[i] == '(') {
    const char* close = static_cast<const char*>(std::memchr(c + i, ')', kCardLength - i));
    const char* comma = static_cast<const char*>(std::memchr(c + i, ',', kCardLength - i));
    if (close == nullptr || comma == nullptr || comma > close) {
      return "complex value at " + col(i) + " must be '(real, imaginary)'";
    }
    auto part_ok = [](const char* b, const char* e) {
      while (b < e && *b == ' ') ++b;
      while (e > b && e[-1] == ' ') --e;
      bool is_int = false;
      return numeric_token(b, static_cast<size_t>(e - b), is_int);
    };
    if (!part_ok(c + i + 1, comma) || !part_ok(comma + 1, close)) {
      return "complex value at " + col(i) + " has a malformed number";
    }
    out.kind = ValueKind::Complex;
    return check_tail(c, static_cast<size_t>(close - c) + 1);
  }
  size_t end = i;
  while (end < kCardLength && c[end] != ' ' && c[end] != '/') ++end;
  bool is_integer = false;
  if (!numeric_token(c + i, end - i, is_integer)) {
    return "value '" + std::string(c + i, end - i) + "' at " + col(i) +
           " is not a FITS string, logical or number";
  }
  if (is_integer) {
    out.kind = ValueKind::Integer;
    out.overflow = !parse_int64(c + i, end - i, out.integer);
  } else {
    out.kind = ValueKind::Real;
  }
  return check_tail(c, end);
}

}  // namespace

bool is_commentary(const std::string& keyword) {
  return keyword.empty() || keyword == "COMMENT" || keyword == "HISTORY";
}

long keyword_index(const std::string& keyword, const char* prefix) {
  const size_t n = std::strlen(prefix);
  if (keyword.size() <= n || keyword.compare(0, n, prefix) != 0) return 0;
  const char* rest = keyword.c_str() + n;
  if (rest[0] == '-') return is_digit(rest[1]) ? -1 : 0;
  long v = 0;
  for (const char* p = rest; *p != '\0'; ++p) {
    if (!is_digit(*p)) return 0;
    v = v * 10 + (*p - '0');
  }
  return (rest[0] == '0') ? -1 : v;
}

std::string parse_card(const char* c, Card& out) {
  out = Card{};
  for (size_t i = 0; i < kCardLength; ++i) {
    const unsigned char ch = static_cast<unsigned char>(c[i]);
    if (ch < 32 || ch > 126) {
      return "byte at " + col(i) + " is not printable ASCII (code " + std::to_string(ch) + ")";
    }
  }
  size_t klen = 0;
  while (klen < 8 && c[klen] != ' ') {
    if (!is_key_char(c[klen])) {
      return "keyword name has the illegal character '" + std::string(1, c[klen]) + "' at " +
             col(klen) + " (allowed: A-Z, 0-9, '-', '_')";
    }
    ++klen;
  }
  for (size_t i = klen; i < 8; ++i) {
    if (c[i] != ' ') return "keyword name is not left-justified or contains a blank";
  }
  out.keyword.assign(c, klen);
  if (out.keyword == "END") {
    for (size_t i = 3; i < kCardLength; ++i) {
      if (c[i] != ' ') return "END card is not blank after the keyword (" + col(i) + ")";
    }
    return {};
  }
  if (is_commentary(out.keyword)) return {};
  if (out.keyword == "HIERARCH") {
    // ESO convention: the long name runs up to the first '='.
    const char* eq = static_cast<const char*>(std::memchr(c + 8, '=', kCardLength - 8));
    if (eq == nullptr) return {};
    return parse_value(c, static_cast<size_t>(eq - c) + 1, out);
  }
  if (out.keyword == "CONTINUE") {
    // Long-string continuation: a string in columns 11-80, or commentary.
    size_t i = 8;
    while (i < kCardLength && c[i] == ' ') ++i;
    if (i < kCardLength && c[i] == '\'') return parse_value(c, i, out);
    return {};
  }
  if (c[8] == '=' && c[9] == ' ') return parse_value(c, 10, out);
  // The standard would read this as a keyword without a value, but
  // CFITSIO's and WCSLIB's parsers take '=' alone as a value indicator.
  if (c[8] == '=') return "value indicator in columns 9-10 must be '= '";
  return {};
}

std::string without_trailing_blanks(const std::string& s) {
  const size_t end = s.find_last_not_of(' ');
  return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

}  // namespace gml::fits::detail
