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

// Keywords of the DSS plate and SIP conventions that WCSLIB reads as numbers.
bool numeric_to_wcslib(const std::string& k) {
  static const char* const kExact[] = {"XPIXELSZ", "YPIXELSZ", "PLTRAH",  "PLTRAM",  "PLTRAS",
                                       "PLTDECD",  "PLTDECM",  "PLTDECS", "PLTSCALE"};
  for (const char* e : kExact) {
    if (k == e) return true;
  }
  for (const char* prefix : {"CNPIX", "PPO", "AMDX", "AMDY"}) {
    if (keyword_index(k, prefix) > 0) return true;
  }
  return k != "A_ORDER" && k != "B_ORDER" && k != "AP_ORDER" && k != "BP_ORDER" &&
         is_sip_keyword(k);
}

}  // namespace

bool is_wcs_keyword(const char* card) {
  // The keyword prefixes of WCSLIB 7.12's image-header parser (wcspih.l),
  // the DSS plate, SIP and IRAF WAT conventions it reads, and the lookup
  // table keywords of wcs_distortion.h.
  static const char* const kPrefixes[] = {
      "NAXIS",    "WCSAXES",  "CRPIX",    "PC",       "CD",       "CROTA",    "CUNIT",
      "CTYPE",    "CRVAL",    "LONPOLE",  "LATPOLE",  "RESTFR",   "RESTWAV",  "PV",
      "PROJP",    "PS",       "VELREF",   "CNAME",    "CRDER",    "CSYER",    "CZPHS",
      "CPERI",    "WCSNAME",  "TIMESYS",  "TREFPOS",  "TREFDIR",  "PLEPHEM",  "TIMEUNIT",
      "DATEREF",  "MJD",      "JDREF",    "TIMEOFFS", "DATE-",    "JEPOCH",   "BEPOCH",
      "TSTART",   "TSTOP",    "XPOSURE",  "TELAPSE",  "TIMSYER",  "TIMRDER",  "TIMEDEL",
      "TIMEPIXR", "OBSGEO-",  "OBSORBIT", "RADESYS",  "RADECSYS", "EPOCH",    "EQUINOX",
      "SPECSYS",  "SSYSOBS",  "VELOSYS",  "VSOURCE",  "ZSOURCE",  "SSYSSRC",  "VELANGL",
      "CPDIS",    "CPERR",    "CQDIS",    "CQERR",    "DP",       "DQ",       "DVERR",
      "A_",       "B_",       "AP_",      "BP_",      "CNPIX",    "PPO",      "XPIXELSZ",
      "YPIXELSZ", "PLT",      "PLATEID",  "AMDX",     "AMDY",     "WAT",      "END",
      "D2IM",     "AXISCORR", "RSUN_REF", "DSUN_OBS", "CRLN_OBS", "CRLT_OBS", "HGLN_OBS",
      "HGLT_OBS"};
  for (const char* p : kPrefixes) {
    if (std::strncmp(card, p, std::strlen(p)) == 0) return true;
  }
  return false;
}

size_t sip_prefix_length(const std::string& k) {
  if (k.rfind("AP_", 0) == 0 || k.rfind("BP_", 0) == 0) return 3;
  if (k.rfind("A_", 0) == 0 || k.rfind("B_", 0) == 0) return 2;
  return 0;
}

bool is_sip_keyword(const std::string& k) {
  const size_t pos = sip_prefix_length(k);
  if (pos == 0) return false;
  const std::string rest = k.substr(pos);
  if (rest == "ORDER" || (pos == 2 && rest == "DMAX")) return true;
  const size_t us = rest.find('_');
  if (us == std::string::npos || us == 0 || us + 1 == rest.size()) return false;
  auto digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(rest.substr(0, us)) && digits(rest.substr(us + 1));
}

CheckedHeader check_wcs_header(const char* cards, size_t ncards) {
  CheckedHeader out;
  Card c;
  std::string wat[10];
  int wat_count[10] = {};
  for (size_t i = 0; i < ncards; ++i) {
    const char* raw = cards + i * kCardLength;
    const std::string err = parse_card(raw, c);
    if (!err.empty()) {
      if (is_wcs_keyword(raw)) fail(i, c, err);
      std::string name(raw, 8);
      for (char& ch : name) {
        if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
      }
      while (!name.empty() && name.back() == ' ') name.pop_back();
      out.warnings.push_back("card " + std::to_string(i + 1) +
                             (name.empty() ? std::string() : " (" + name + ")") + ": " + err +
                             "; left out (not a WCS keyword)");
      continue;
    }
    const std::string& k = c.keyword;
    if (k == "END") break;
    out.cards.emplace_back(raw, kCardLength);
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
      wat[axis] += raw_string(raw);
    }
    if (k == "NAXIS") {
      check_int(i, c, 0, kMaxWcsAxes);
    } else if (is_key_or_alternate(k, "WCSAXES")) {
      check_int(i, c, 0, kMaxWcsAxes);
    } else if (k == "A_ORDER" || k == "B_ORDER" || k == "AP_ORDER" || k == "BP_ORDER") {
      check_int(i, c, 0, kMaxSipOrder);
    } else if (numeric_to_wcslib(k)) {
      // WCSLIB 7.12's parser dereferences NULL when one of these holds
      // anything but a number, or no value at all.
      if (c.kind != ValueKind::Integer && c.kind != ValueKind::Real) {
        fail(i, c,
             "value must be a number (the DSS plate and SIP conventions define " + k + " as one)");
      }
    } else if (k == "PLTDECSN" && c.kind != ValueKind::String) {
      fail(i, c, "value must be the string '+' or '-' (the DSS plate convention)");
    }
  }
  for (int axis = 0; axis < 10; ++axis) check_wat(axis, wat[axis]);
  return out;
}

}  // namespace gml::fits::detail
