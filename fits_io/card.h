// Syntax of one 80-character FITS header card (FITS Standard 4.0, section
// 4), checked in our own code so that CFITSIO's and WCSLIB's card parsers,
// which copy values into fixed-size buffers, only ever see cards that the
// standard allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gml::fits::detail {

constexpr size_t kCardLength = 80;

/// What a card's value field holds.
enum class ValueKind {
  None,       ///< no value indicator: END, COMMENT, HISTORY, blank, ...
  Undefined,  ///< value indicator with an empty value field
  String,
  Logical,
  Integer,
  Real,
  Complex
};

/// One syntactically valid card. `text` is the decoded string value (quotes
/// removed, '' unescaped, trailing blanks dropped); `integer` holds an
/// Integer value unless `overflow` (more than int64 can hold).
struct Card {
  std::string keyword;  ///< trailing blanks removed; "HIERARCH" for that convention
  ValueKind kind = ValueKind::None;
  std::string text;
  int64_t integer = 0;
  bool overflow = false;
  bool logical = false;
};

/// Parses the kCardLength bytes at `card`. Returns an empty string and fills
/// `out` if the card is valid: printable ASCII only (codes 32-126), a
/// left-justified keyword of A-Z, 0-9, '-', '_', and, after "= ", a value
/// that is a closed string, T/F, an integer, a real (E or D exponent), a
/// complex pair or blank, followed only by blanks or a "/" comment. Else
/// returns a description of the first problem, naming its column.
std::string parse_card(const char* card, Card& out);

/// `s` without its trailing blanks: FITS does not count them as part of a
/// string value, and WCSLIB's and CFITSIO's fixed-width fields are padded
/// with them.
std::string without_trailing_blanks(const std::string& s);

/// True for keywords whose cards carry free text (COMMENT, HISTORY, blank).
bool is_commentary(const std::string& keyword);

/// If `keyword` is `prefix` followed by a positive decimal index without
/// leading zeros, returns the index; returns 0 if it is not an indexed form
/// of `prefix` and -1 if it is one with a malformed index (e.g. "TFORM01",
/// "TFORM0", "TFORM-1"), which libraries would read as another index.
long keyword_index(const std::string& keyword, const char* prefix);

}  // namespace gml::fits::detail
