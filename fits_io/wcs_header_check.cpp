#include "fits_io/wcs_header_check.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fits_io/card.h"
#include "fits_io/errors.h"

namespace gml::fits::detail {
namespace {

// SIP polynomials of higher order have no numerical meaning in double
// precision; WCSLIB sizes its coefficient arrays by the declared order.
constexpr int64_t kMaxSipOrder = 20;
// IRAF's TNX/ZPX surfaces go up to order 8 or so in practice; WCSLIB maps
// them onto its fixed-degree TPD polynomial.
constexpr int kMaxWatOrder = 10;

[[noreturn]] void fail(size_t card, const Card& c, const std::string& what) {
  std::string where = "card " + std::to_string(card + 1);
  if (!c.keyword.empty()) where += " (" + c.keyword + ")";
  throw WcsError(0, "parse WCS header: " + where + ": " + what);
}

// "KEY" or "KEY" plus one alternate-WCS letter A-Z.
bool is_key_or_alternate(const std::string& keyword, const std::string& key) {
  if (keyword.compare(0, key.size(), key) != 0) return false;
  return keyword.size() == key.size() ||
         (keyword.size() == key.size() + 1 && keyword.back() >= 'A' && keyword.back() <= 'Z');
}

void check_int(size_t i, const Card& c, int64_t lo, int64_t hi) {
  if (c.kind != ValueKind::Integer || c.overflow || c.integer < lo || c.integer > hi) {
    fail(i, c,
         "value must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

// IRAF WATi_nnn cards: the string of axis i, split over cards in order.
// Returns i (1-9) or 0 for other keywords.
int wat_axis(const std::string& k) {
  if (k.size() != 8 || k.compare(0, 3, "WAT") != 0 || k[4] != '_') return -1;
  return (k[3] >= '0' && k[3] <= '9') ? k[3] - '0' : -1;
}

// 1-based number of a WATi_nnn card; WCSLIB stores the pieces by it.
int wat_piece(const std::string& k) {
  int n = 0;
  for (size_t i = 5; i < 8; ++i) {
    if (k[i] < '0' || k[i] > '9') return 0;
    n = n * 10 + (k[i] - '0');
  }
  return n;
}

// The string value of a card exactly as written (trailing blanks kept:
// WAT strings are cut at fixed widths, even inside numbers).
std::string raw_string(const char* card) {
  const char* b = static_cast<const char*>(std::memchr(card + 10, '\'', kCardLength - 10));
  if (b == nullptr) return {};
  const char* e = static_cast<const char*>(std::memchr(b + 1, '\'', card + kCardLength - b - 1));
  return e == nullptr ? std::string() : std::string(b + 1, e);
}

bool is_number(const std::string& t, bool integer) {
  char* end = nullptr;
  if (t.empty()) return false;
  std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return false;
  return !integer || t.find_first_not_of("+-0123456789") == std::string::npos;
}

// WCSLIB translates TNX/ZPX "lngcor"/"latcor" polynomials into fixed-size
// distortion records and finds them by loose matching; malformed ones
// overrun its buffers. So the whole WAT string must be IRAF's grammar,
// "key=value key = \"quoted\" ...", every quoted value a list of numbers,
// and a correction "type xorder yorder xterms xmin xmax ymin ymax c1 ...",
// with IRAF's limits on the small integers.
void check_wat(int axis, const std::string& wat) {
  auto bad = [&](const std::string& what) {
    throw WcsError(0, "parse WCS header: WAT" + std::to_string(axis) + ": " + what);
  };
  size_t i = 0;
  auto blanks = [&] {
    while (i < wat.size() && wat[i] == ' ') ++i;
  };
  for (blanks(); i < wat.size(); blanks()) {
    const size_t kb = i;
    while (i < wat.size() && (std::isalnum(static_cast<unsigned char>(wat[i])) || wat[i] == '_')) {
      ++i;
    }
    const std::string key = wat.substr(kb, i - kb);
    blanks();
    if (key.empty() || i == wat.size() || wat[i] != '=') bad("expected 'key = value'");
    ++i;
    blanks();
    if (i < wat.size() && wat[i] == '"') {
      const size_t close = wat.find('"', i + 1);
      if (close == std::string::npos) bad(key + ": unterminated quoted value");
      // WCSLIB miscounts the terms of a list that starts with a blank and
      // then writes past its buffer.
      if (close > i + 1 && wat[i + 1] == ' ') bad(key + ": blank after the opening quote");
      const std::string list = wat.substr(i + 1, close - i - 1);
      i = close + 1;
      std::vector<std::string> tokens;
      for (size_t p = 0;;) {
        const size_t b = list.find_first_not_of(' ', p);
        if (b == std::string::npos) break;
        const size_t e = std::min(list.find(' ', b), list.size());
        tokens.push_back(list.substr(b, e - b));
        p = e;
      }
      for (const auto& t : tokens) {
        if (!is_number(t, false)) bad(key + ": '" + t + "' is not a number");
      }
      if (key != "lngcor" && key != "latcor") continue;
      if (tokens.size() < 8) bad(key + ": fewer than 8 numbers");
      auto whole = [&](size_t k, double lo, double hi) {
        const double v = std::strtod(tokens[k].c_str(), nullptr);
        return v >= lo && v <= hi && v == static_cast<double>(static_cast<int>(v));
      };
      if (!whole(0, 1, 3) || !whole(1, 1, kMaxWatOrder) || !whole(2, 1, kMaxWatOrder) ||
          !whole(3, 0, 2)) {
        bad(key + ": surface type must be 1-3, orders 1-" + std::to_string(kMaxWatOrder) +
            ", cross-terms 0-2");
      }
    } else {
      const size_t vb = i;
      while (i < wat.size() && wat[i] != ' ' && wat[i] != '"') ++i;
      if (i == vb || (i < wat.size() && wat[i] == '"')) bad(key + ": malformed value");
    }
  }
}

}  // namespace

size_t check_wcs_header(const char* cards, size_t ncards) {
  Card c;
  std::string wat[10];
  int wat_count[10] = {};
  size_t end = ncards;
  for (size_t i = 0; i < ncards && end == ncards; ++i) {
    const std::string err = parse_card(cards + i * kCardLength, c);
    if (!err.empty()) fail(i, c, err);
    const std::string& k = c.keyword;
    if (k == "END") end = i;
    const int axis = wat_axis(k);
    if (axis >= 0) {
      // Pieces must come in order 001, 002, ... (WCSLIB indexes its
      // buffers by the number; 000 writes before the start).
      if (wat_piece(k) != ++wat_count[axis]) {
        fail(i, c,
             "WAT card out of sequence (expected WAT" + std::to_string(axis) + "_" +
                 std::string(wat_count[axis] < 10    ? "00"
                             : wat_count[axis] < 100 ? "0"
                                                     : "") +
                 std::to_string(wat_count[axis]) + ")");
      }
      if (c.kind != ValueKind::String) fail(i, c, "WAT value must be a string");
      wat[axis] += raw_string(cards + i * kCardLength);
    }
    if (k == "NAXIS") {
      check_int(i, c, 0, kMaxWcsAxes);
    } else if (is_key_or_alternate(k, "WCSAXES")) {
      check_int(i, c, 0, kMaxWcsAxes);
    } else if (k == "A_ORDER" || k == "B_ORDER" || k == "AP_ORDER" || k == "BP_ORDER") {
      check_int(i, c, 0, kMaxSipOrder);
    }
  }
  for (int axis = 0; axis < 10; ++axis) check_wat(axis, wat[axis]);
  return end;
}

}  // namespace gml::fits::detail
