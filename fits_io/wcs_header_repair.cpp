#include "fits_io/wcs_header_repair.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "fits_io/card.h"
#include "fits_io/wcs_header_check.h"

namespace gml::fits::detail {
namespace {

std::string upper_trimmed(const std::string& s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  return out.substr(b, out.find_last_not_of(' ') - b + 1);
}

bool ends_with(const std::string& s, const char* tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// Parses a positive decimal index at `s`, advancing it; 0 if none.
int index_at(const std::string& s, size_t& pos) {
  if (pos >= s.size() || s[pos] < '1' || s[pos] > '9') return 0;
  int v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && v < 100000) {
    v = v * 10 + (s[pos++] - '0');
  }
  return v;
}

// True if `pos` is at the end of `k`, after the alternate letter `alt`
// when there is one.
bool alt_tail(const std::string& k, size_t pos, char alt) {
  if (alt == ' ') return pos == k.size();
  return pos + 1 == k.size() && k[pos] == alt;
}

// CTYPEia: returns i, or 0.
int ctype_axis(const std::string& k, char alt) {
  if (k.compare(0, 5, "CTYPE") != 0) return 0;
  size_t pos = 5;
  const int i = index_at(k, pos);
  return i > 0 && alt_tail(k, pos, alt) ? i : 0;
}

// PVi_ma: sets i and m (m may be 0), or returns false.
bool pv_indices(const std::string& k, char alt, int& i, int& m) {
  if (k.compare(0, 2, "PV") != 0) return false;
  size_t pos = 2;
  i = index_at(k, pos);
  if (i == 0 || pos >= k.size() || k[pos] != '_') return false;
  ++pos;
  if (pos < k.size() && k[pos] == '0') {
    m = 0;
    ++pos;
  } else {
    m = index_at(k, pos);
    if (m == 0) return false;
  }
  return alt_tail(k, pos, alt);
}

struct Parsed {
  std::string keyword;
  Card card;
};

std::vector<Parsed> parse_all(const std::vector<std::string>& cards) {
  std::vector<Parsed> out(cards.size());
  for (size_t n = 0; n < cards.size(); ++n) {
    parse_card(cards[n].c_str(), out[n].card);
    out[n].keyword = out[n].card.keyword;
  }
  return out;
}

// astropy's test for a SIP distortion: A_ORDER and B_ORDER (or AP_ORDER
// and BP_ORDER) above 1.
bool has_sip(const std::vector<Parsed>& p) {
  std::map<std::string, int64_t> order;
  for (const auto& c : p) {
    if (c.card.kind == ValueKind::Integer && ends_with(c.keyword, "_ORDER") &&
        !order.count(c.keyword)) {
      order[c.keyword] = c.card.integer;
    }
  }
  auto above1 = [&](const char* k) { return order.count(k) && order[k] > 1; };
  return (above1("A_ORDER") && above1("B_ORDER")) || (above1("AP_ORDER") && above1("BP_ORDER"));
}

void remove_sip(std::vector<std::string>& cards) {
  std::vector<std::string> kept;
  for (const auto& c : cards) {
    Card p;
    parse_card(c.c_str(), p);
    if (!is_sip_keyword(p.keyword)) kept.push_back(c);
  }
  cards.swap(kept);
}

std::string string_card(const std::string& keyword, const std::string& value) {
  std::string v = value;
  if (v.size() < 8) v.resize(8, ' ');
  std::string card = keyword;
  card.resize(8, ' ');
  card += "= '" + v + "'";
  card.resize(80, ' ');
  return card;
}

// Pre-2012 SCAMP: TAN with TPV coefficients (primary description only, as
// astropy checks it).
void tan_to_tpv(std::vector<std::string>& cards, std::vector<std::string>& warnings) {
  const std::vector<Parsed> p = parse_all(cards);
  std::map<int, size_t> tan_cards;  // axis -> card index
  for (size_t n = 0; n < p.size(); ++n) {
    const int i = ctype_axis(p[n].keyword, ' ');
    if (i > 0 && p[n].card.kind == ValueKind::String && !tan_cards.count(i) &&
        ends_with(upper_trimmed(p[n].card.text), "-TAN")) {
      tan_cards[i] = n;
    }
  }
  if (tan_cards.size() != 2) return;
  bool scamp = false;
  for (const auto& c : p) {
    int i = 0, m = 0;
    if (pv_indices(c.keyword, ' ', i, m) && m >= 5 && tan_cards.count(i)) scamp = true;
  }
  if (!scamp) return;
  std::string renamed;
  for (const auto& [i, n] : tan_cards) {
    std::string v = upper_trimmed(p[n].card.text);
    v.replace(v.size() - 4, 4, "-TPV");
    cards[n] = string_card(p[n].keyword, v);
    renamed += (renamed.empty() ? "" : ", ") + p[n].keyword + " = '" + v + "'";
  }
  remove_sip(cards);
  warnings.push_back("CTYPE -TAN with SCAMP distortion parameters (PVi_m, m >= 5): read as " +
                     renamed + ", any SIP keywords removed (as astropy)");
}

void scamp_and_sip(std::vector<std::string>& cards, char alt, std::vector<std::string>& warnings) {
  const std::vector<Parsed> p = parse_all(cards);
  if (!has_sip(p)) return;
  const std::string suffix = alt == ' ' ? "" : std::string(1, alt);
  std::map<int, std::string> ctype;
  int64_t naxis = 0, wcsaxes = -1;
  for (const auto& c : p) {
    const int i = ctype_axis(c.keyword, alt);
    if (i > 0 && c.card.kind == ValueKind::String && !ctype.count(i)) {
      ctype[i] = upper_trimmed(c.card.text);
    }
    if (c.keyword == "NAXIS" && c.card.kind == ValueKind::Integer) naxis = c.card.integer;
    if (c.keyword == "WCSAXES" + suffix && c.card.kind == ValueKind::Integer) {
      wcsaxes = c.card.integer;
    }
  }
  // The description's axes as WCSLIB counts them; an axis without CTYPE
  // has an empty one.
  int64_t nax =
      wcsaxes >= 0 ? wcsaxes : std::max<int64_t>(naxis, ctype.empty() ? 0 : ctype.rbegin()->first);
  if (nax <= 0) return;
  int tpv = 0;
  bool all_sip = true;
  for (int64_t i = 1; i <= nax; ++i) {
    const std::string t = ctype.count(static_cast<int>(i)) ? ctype[static_cast<int>(i)] : "";
    tpv += ends_with(t, "-TPV");
    all_sip = all_sip && ends_with(t, "-SIP");
  }
  if (tpv == 2) {
    remove_sip(cards);
    warnings.push_back(
        "CTYPE -TPV with SIP keywords: SIP removed, the TPV distortion is used "
        "(as astropy)");
    return;
  }
  std::map<int, int> max_m;
  for (const auto& c : p) {
    int i = 0, m = 0;
    if (pv_indices(c.keyword, alt, i, m)) max_m[i] = std::max(max_m[i], m);
  }
  bool scamp = false;
  for (const auto& [i, m] : max_m) {
    if (m >= 5 && ctype.count(i) && ctype[i].find("-TAN") != std::string::npos) scamp = true;
  }
  if (!scamp || !all_sip) return;
  std::vector<std::string> kept;
  for (size_t n = 0; n < cards.size(); ++n) {
    int i = 0, m = 0;
    if (!pv_indices(p[n].keyword, alt, i, m)) kept.push_back(cards[n]);
  }
  cards.swap(kept);
  warnings.push_back("SIP header with SCAMP distortion parameters (PVi_m, m >= 5): the PVi_m" +
                     suffix + " keywords are removed, the SIP distortion is used (as astropy)");
}

}  // namespace

void repair_scamp_sip(std::vector<std::string>& cards, char alt,
                      std::vector<std::string>& warnings) {
  tan_to_tpv(cards, warnings);
  scamp_and_sip(cards, alt, warnings);
}

}  // namespace gml::fits::detail
