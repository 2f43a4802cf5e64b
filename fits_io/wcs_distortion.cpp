#include "fits_io/wcs_distortion.h"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <utility>

#include "fits_io/card.h"
#include "fits_io/errors.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/wcs_header_check.h"

namespace gml::fits::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Beyond this a correction step means the iteration left the image.
constexpr double kRunawayStep = 1e8;

[[noreturn]] void fail(const std::string& what) {
  throw WcsError(0, what);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// The cards have passed check_wcs_header, so they parse.
Card parsed(const std::string& card) {
  Card c;
  parse_card(card.c_str(), c);
  return c;
}

// Numeric value of an Integer or Real card; FITS allows a D exponent,
// which strtod does not read.
double number(const std::string& card, const Card& c) {
  if (c.kind == ValueKind::Integer && !c.overflow) return static_cast<double>(c.integer);
  std::string v = card.substr(10, 70);
  v = v.substr(0, v.find('/'));
  for (char& ch : v) {
    if (ch == 'D' || ch == 'd') ch = 'E';
  }
  return std::strtod(v.c_str(), nullptr);
}

bool is_number(const Card& c) {
  return c.kind == ValueKind::Integer || c.kind == ValueKind::Real;
}

// The keyword/value view of a header that astropy.io.fits gives: the first
// card of each keyword, and record-valued cards "DP1 = 'EXTVER: 1'" as the
// keys "DP1.EXTVER".
struct Keys {
  struct Entry {
    std::string card;
    Card parsed;
  };
  std::map<std::string, Entry> plain;
  std::map<std::string, std::string> records;      // "DP1.EXTVER" -> "1"
  std::map<std::string, std::string> record_card;  // "DP1.EXTVER" -> "DP1 = 'EXTVER: 1'"

  explicit Keys(const std::vector<std::string>& cards) {
    for (const std::string& card : cards) {
      Card c = parsed(card);
      if (c.keyword.empty() || is_commentary(c.keyword)) continue;
      if (c.kind == ValueKind::String && is_record_keyword(c.keyword)) {
        const size_t colon = c.text.find(':');
        if (colon != std::string::npos) {
          const std::string key = c.keyword + "." + trim(upper(c.text.substr(0, colon)));
          if (!records.count(key)) {
            records[key] = trim(c.text.substr(colon + 1));
            record_card[key] = c.keyword + " = '" + c.text + "'";
          }
          continue;
        }
      }
      std::string keyword = c.keyword;
      plain.emplace(std::move(keyword), Entry{card, std::move(c)});
    }
  }

  static bool is_record_keyword(const std::string& k) {
    return keyword_index(k, "DP") > 0 || keyword_index(k, "DQ") > 0 || keyword_index(k, "D2IM") > 0;
  }

  const Entry* find(const std::string& k) const {
    auto it = plain.find(k);
    return it == plain.end() ? nullptr : &it->second;
  }

  // An integer record value, or nullopt when the record is absent.
  std::optional<int64_t> record_int(const std::string& key, int64_t lo, int64_t hi) const {
    auto it = records.find(key);
    if (it == records.end()) return std::nullopt;
    const std::string& v = it->second;
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !(x >= static_cast<double>(lo)) ||
        !(x <= static_cast<double>(hi)) || x != std::floor(x)) {
      fail("lookup-table distortion record " + record_card.at(key) +
           ": value must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
           "]");
    }
    return static_cast<int64_t>(x);
  }
};

// The DPj / D2IMj records of one lookup table. `prefix` is "DP" or "D2IM".
LookupRef lookup_ref(const Keys& keys, const std::string& declaring, const std::string& prefix,
                     int j) {
  const std::string rec = prefix + std::to_string(j);
  LookupRef ref;
  ref.keyword = declaring;
  ref.extver = static_cast<int>(keys.record_int(rec + ".EXTVER", 1, 1000000).value_or(1));
  const auto naxes = keys.record_int(rec + ".NAXES", 0, 99);
  if (naxes && *naxes != 2) {
    fail(declaring + " = 'Lookup': " + keys.record_card.at(rec + ".NAXES") + " declares a " +
         std::to_string(*naxes) + "-D table; lookup tables are functions of pixel axes 1 and 2");
  }
  const std::string own = rec + ".AXIS." + std::to_string(j);
  const std::string other = rec + ".AXIS." + std::to_string(3 - j);
  const auto axis_own = keys.record_int(own, 1, 2);
  if (!axis_own) {
    fail(declaring + " = 'Lookup' needs the record " + rec + " = 'AXIS." + std::to_string(j) +
         ": n' (which pixel axis the table's axis " + std::to_string(j) + " runs along)");
  }
  const auto axis_other = keys.record_int(other, 1, 2);
  if (axis_other && *axis_other == *axis_own) {
    fail(declaring + " = 'Lookup': records " + keys.record_card.at(own) + " and " +
         keys.record_card.at(other) + " map both table axes to the same pixel axis");
  }
  // Axis j of the table runs along pixel axis AXIS.j; anything else than
  // AXIS.j = j means the two are exchanged.
  ref.swapped = *axis_own != j;
  return ref;
}

}  // namespace

LookupTable::LookupTable(int64_t nx, int64_t ny, std::vector<float> values,
                         std::array<double, 2> crpix, std::array<double, 2> crval,
                         std::array<double, 2> cdelt)
    : nx_(nx), ny_(ny), values_(std::move(values)), crpix_(crpix), crval_(crval), cdelt_(cdelt) {}

double LookupTable::at(double x, double y) const {
  if (!std::isfinite(x) || !std::isfinite(y)) return kNaN;
  // Fractional 0-based grid index: the table's own linear WCS gives the
  // 1-based FITS index of the grid point under pixel (x, y).
  double u = (x - crval_[0]) / cdelt_[0] + crpix_[0] - 1.0;
  double v = (y - crval_[1]) / cdelt_[1] + crpix_[1] - 1.0;
  u = std::clamp(u, 0.0, static_cast<double>(nx_ - 1));
  v = std::clamp(v, 0.0, static_cast<double>(ny_ - 1));
  const double fu = std::floor(u), fv = std::floor(v);
  const int64_t i0 = static_cast<int64_t>(fu), j0 = static_cast<int64_t>(fv);
  const int64_t i1 = std::min(i0 + 1, nx_ - 1), j1 = std::min(j0 + 1, ny_ - 1);
  const double wu = u - fu, wv = v - fv;
  return static_cast<double>(value(i0, j0)) * (1.0 - wu) * (1.0 - wv) +
         static_cast<double>(value(i0, j1)) * (1.0 - wu) * wv +
         static_cast<double>(value(i1, j0)) * wu * (1.0 - wv) +
         static_cast<double>(value(i1, j1)) * wu * wv;
}

bool LookupDeclaration::empty() const {
  return !d2im[0] && !d2im[1] && !cpdis[0] && !cpdis[1];
}

std::string LookupDeclaration::first() const {
  for (const auto* set : {&cpdis, &d2im}) {
    for (const auto& ref : *set) {
      if (ref) {
        return ref->keyword == "AXISCORR" ? std::string("AXISCORR (a D2IMARR lookup table)")
                                          : ref->keyword + " = 'Lookup'";
      }
    }
  }
  return {};
}

const char* LookupDeclaration::first_extension() const {
  return (cpdis[0] || cpdis[1]) ? "WCSDVARR" : "D2IMARR";
}

LookupDeclaration find_lookup_distortions(const std::vector<std::string>& cards,
                                          std::vector<std::string>& warnings) {
  const Keys keys(cards);
  LookupDeclaration d;
  auto is_lookup = [](const Keys::Entry& e) {
    return e.parsed.kind == ValueKind::String && upper(e.parsed.text) == "LOOKUP";
  };
  for (const auto& [k, e] : keys.plain) {
    // Declarations astropy and WCSLIB cannot apply either: refuse them by
    // name rather than let WCSLIB fail on an unknown distortion type.
    const bool cp = k.compare(0, 5, "CPDIS") == 0, cq = k.compare(0, 5, "CQDIS") == 0;
    const bool d2 = k.compare(0, 7, "D2IMDIS") == 0;
    if (!(cp || cq || d2)) continue;
    const std::string tail = k.substr(d2 ? 7 : 5);
    const bool plain_axis = tail == "1" || tail == "2";
    if (cq && is_lookup(e)) {
      fail(k +
           " = 'Lookup': sequent lookup-table distortions (on intermediate world "
           "coordinates) are not supported, by astropy either");
    }
    if (cp && is_lookup(e) && !plain_axis) {
      fail(k +
           " = 'Lookup': lookup tables are supported for pixel axes 1 and 2 of the "
           "primary description only (CPDIS1, CPDIS2), as in astropy");
    }
    if (d2 && !plain_axis) {
      fail(k +
           ": detector-to-image corrections are supported for pixel axes 1 and 2 of the "
           "primary description only (D2IMDIS1, D2IMDIS2), as in astropy");
    }
  }
  if (const Keys::Entry* ax = keys.find("AXISCORR")) {
    // The pre-2012 convention: one D2IMARR table for the axis AXISCORR.
    const double v = is_number(ax->parsed) ? number(ax->card, ax->parsed) : kNaN;
    if (v == 1.0 || v == 2.0) {
      LookupRef ref;
      ref.keyword = "AXISCORR";
      ref.one_axis = true;
      d.d2im[static_cast<int>(v) - 1] = ref;
      warnings.push_back(
          "AXISCORR (the pre-2012 detector-to-image convention) is deprecated; "
          "its D2IMARR table is applied to axis " +
          std::to_string(static_cast<int>(v)) + " (as astropy)");
    } else {
      warnings.push_back(
          "AXISCORR must be 1 or 2 (the axis of its D2IMARR table); the "
          "detector-to-image correction is not applied (as astropy)");
    }
  } else {
    for (int j = 1; j <= 2; ++j) {
      const std::string key = "D2IMDIS" + std::to_string(j);
      const Keys::Entry* e = keys.find(key);
      if (e == nullptr) continue;
      if (!is_lookup(*e)) {
        fail(key + " = '" + e->parsed.text +
             "': only 'Lookup' detector-to-image corrections are implemented (astropy ignores "
             "the others, which would leave positions uncorrected)");
      }
      d.d2im[j - 1] = lookup_ref(keys, key, "D2IM", j);
    }
  }
  int polynomial = 0;
  for (int j = 1; j <= 2; ++j) {
    const std::string key = "CPDIS" + std::to_string(j);
    const Keys::Entry* e = keys.find(key);
    if (e == nullptr) continue;
    if (!is_lookup(*e)) {
      polynomial = j;
      continue;
    }
    d.cpdis[j - 1] = lookup_ref(keys, key, "DP", j);
  }
  if (polynomial != 0 && (d.cpdis[0] || d.cpdis[1])) {
    fail("CPDIS" + std::to_string(polynomial) + " = '" +
         keys.find("CPDIS" + std::to_string(polynomial))->parsed.text +
         "' beside a 'Lookup' prior distortion on the other axis: mixing lookup tables with "
         "WCSLIB's distortion functions is not supported");
  }
  // HST headers keep the reference-file names after the tables are gone;
  // astropy ignores them silently.
  auto named_but_unused = [&](const char* key, bool declared, const char* what) {
    const Keys::Entry* e = keys.find(key);
    if (declared || e == nullptr || e->parsed.kind != ValueKind::String) return;
    const std::string v = upper(e->parsed.text);
    if (v.empty() || v == "N/A" || v == "NONE") return;
    warnings.push_back(std::string(key) + " = '" + e->parsed.text + "' names a " + what +
                       " that the header does not declare; it is not applied (as astropy)");
  };
  const bool has_d2im = d.d2im[0] || d.d2im[1] || keys.find("AXISCORR") != nullptr;
  const bool has_cpdis = d.cpdis[0] || d.cpdis[1];
  named_but_unused("D2IMFILE", has_d2im, "detector-to-image correction (no D2IMDISj)");
  named_but_unused("D2IMEXT", has_d2im, "detector-to-image correction (no D2IMDISj)");
  named_but_unused("NPOLFILE", has_cpdis, "lookup-table distortion (no CPDISj)");
  named_but_unused("NPOLEXT", has_cpdis, "lookup-table distortion (no CPDISj)");
  return d;
}

namespace {

// Restores the current HDU of a file on scope exit.
class HduGuard {
 public:
  explicit HduGuard(FitsFile& f) : f_(f), hdu_(f.current_hdu()) {}
  ~HduGuard() {
    int status = 0;
    fits_movabs_hdu(f_.handle(), hdu_, nullptr, &status);
    if (status != 0) clear_fits_errors();
  }
  HduGuard(const HduGuard&) = delete;
  HduGuard& operator=(const HduGuard&) = delete;

 private:
  FitsFile& f_;
  int hdu_;
};

double table_key(FitsFile& f, const std::string& where, const std::string& key, double fallback) {
  if (!has_key(f, key)) return fallback;
  const double v = read_key_double(f, key);
  if (!std::isfinite(v)) fail(where + ": " + key + " is not finite");
  return v;
}

LookupTable read_table(FitsFile& f, const char* extname, const LookupRef& ref,
                       const std::string& declared) {
  const std::string where = declared + " (" + extname + " extension EXTVER " +
                            std::to_string(ref.extver) + " of '" + f.path() + "')";
  int status = 0;
  fits_movnam_hdu(f.handle(), IMAGE_HDU, const_cast<char*>(extname), ref.extver, &status);
  if (status != 0) {
    clear_fits_errors();
    fail(declared + " refers to the " + extname + " image extension with EXTVER " +
         std::to_string(ref.extver) + ", which '" + f.path() + "' does not have");
  }
  const ImageInfo info = image_info(f);
  const size_t ndim = info.naxes.size();
  if (!(ndim == 2 || (ref.one_axis && ndim == 1))) {
    fail(where + ": the table has " + std::to_string(ndim) + " axes, expected " +
         (ref.one_axis ? "1 or 2" : "2"));
  }
  const int64_t nx = info.naxes[0], ny = ndim == 2 ? info.naxes[1] : 1;
  if (nx < 1 || ny < 1 || nx > kMaxLookupValues / ny) {
    fail(where + ": table of " + std::to_string(nx) + " x " + std::to_string(ny) +
         " values; it must be non-empty and hold at most " + std::to_string(kMaxLookupValues));
  }
  std::array<double, 2> crpix{0.0, 0.0}, crval{0.0, 0.0}, cdelt{1.0, 1.0};
  for (size_t k = 0; k < ndim; ++k) {
    const std::string n = std::to_string(k + 1);
    crpix[k] = table_key(f, where, "CRPIX" + n, 0.0);
    crval[k] = table_key(f, where, "CRVAL" + n, 0.0);
    cdelt[k] = table_key(f, where, "CDELT" + n, 1.0);
    if (cdelt[k] == 0.0) fail(where + ": CDELT" + n + " is 0");
  }
  std::vector<float> values = read_image_f32(f);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      fail(where + ": value " + std::to_string(i % static_cast<size_t>(nx) + 1) + "," +
           std::to_string(i / static_cast<size_t>(nx) + 1) + " is not finite");
    }
  }
  if (!ref.swapped) return LookupTable(nx, ny, std::move(values), crpix, crval, cdelt);
  // The table's first axis runs along pixel axis 2: transpose it, and its
  // CRPIX/CRVAL/CDELT with it (astropy transposes the values only, which
  // agrees whenever the two axes share CRPIX, CRVAL and CDELT).
  std::vector<float> t(values.size());
  for (int64_t j = 0; j < ny; ++j) {
    for (int64_t i = 0; i < nx; ++i) {
      t[static_cast<size_t>(i * ny + j)] = values[static_cast<size_t>(j * nx + i)];
    }
  }
  return LookupTable(ny, nx, std::move(t), {crpix[1], crpix[0]}, {crval[1], crval[0]},
                     {cdelt[1], cdelt[0]});
}

}  // namespace

std::shared_ptr<const LookupTables> read_lookup_tables(FitsFile& f, const LookupDeclaration& d,
                                                       std::vector<std::string>& warnings) {
  auto tables = std::make_shared<LookupTables>();
  HduGuard restore(f);
  for (int k = 0; k < 2; ++k) {
    if (const auto& ref = d.d2im[k]) {
      if (ref->one_axis) {
        int status = 0;
        fits_movnam_hdu(f.handle(), IMAGE_HDU, const_cast<char*>("D2IMARR"), 1, &status);
        if (status != 0) {
          clear_fits_errors();
          warnings.push_back("AXISCORR = " + std::to_string(k + 1) +
                             " but the file has no D2IMARR extension; no detector-to-image "
                             "correction is applied (as astropy)");
          continue;
        }
        tables->d2im[k] = read_table(f, "D2IMARR", *ref, "AXISCORR = " + std::to_string(k + 1));
      } else {
        tables->d2im[k] = read_table(f, "D2IMARR", *ref, ref->keyword + " = 'Lookup'");
      }
    }
    if (const auto& ref = d.cpdis[k]) {
      tables->cpdis[k] = read_table(f, "WCSDVARR", *ref, ref->keyword + " = 'Lookup'");
    }
  }
  return tables;
}

void remove_lookup_cards(std::vector<std::string>& cards, const LookupDeclaration& d) {
  auto drop = [&](const std::string& k) {
    if (k == "AXISCORR") return true;
    for (int j = 1; j <= 2; ++j) {
      const std::string n = std::to_string(j);
      if (k == "D2IMDIS" + n || k == "D2IM" + n || k == "D2IMERR" + n) return true;
      if (d.cpdis[j - 1] && (k == "CPDIS" + n || k == "DP" + n || k == "CPERR" + n)) return true;
    }
    return false;
  };
  cards.erase(std::remove_if(cards.begin(), cards.end(),
                             [&](const std::string& c) { return drop(trim(c.substr(0, 8))); }),
              cards.end());
}

std::optional<SipPolynomial> take_sip(std::vector<std::string>& cards) {
  const Keys keys(cards);
  auto order_of = [&](const char* key) -> int64_t {
    const Keys::Entry* e = keys.find(key);
    if (e == nullptr) return -1;
    // check_wcs_header bounds the orders.
    return e->parsed.kind == ValueKind::Integer ? e->parsed.integer : -1;
  };
  const int64_t a_order = order_of("A_ORDER"), b_order = order_of("B_ORDER");
  std::optional<SipPolynomial> sip;
  if (a_order > 1) {
    if (b_order < 0) fail("A_ORDER provided without the B_ORDER of the SIP distortion");
    if (b_order > 1) {
      SipPolynomial s;
      s.a_order = static_cast<int>(a_order);
      s.b_order = static_cast<int>(b_order);
      auto read = [&](char name, int m, std::vector<double>& out) {
        out.assign(static_cast<size_t>((m + 1) * (m + 1)), 0.0);
        for (int p = 0; p <= m; ++p) {
          for (int q = 0; p + q <= m; ++q) {
            const std::string key =
                std::string(1, name) + "_" + std::to_string(p) + "_" + std::to_string(q);
            const Keys::Entry* e = keys.find(key);
            if (e == nullptr) continue;
            if (!is_number(e->parsed)) fail("SIP coefficient " + key + " is not a number");
            const double v = number(e->card, e->parsed);
            if (!std::isfinite(v)) fail("SIP coefficient " + key + " is not finite");
            out[static_cast<size_t>(p * (m + 1) + q)] = v;
          }
        }
      };
      read('A', s.a_order, s.a);
      read('B', s.b_order, s.b);
      sip = std::move(s);
    }
  } else if (b_order > 1) {
    fail("B_ORDER provided without the A_ORDER of the SIP distortion");
  }
  cards.erase(
      std::remove_if(cards.begin(), cards.end(),
                     [](const std::string& c) { return is_sip_keyword(trim(c.substr(0, 8))); }),
      cards.end());
  return sip;
}

namespace {

// sum over p + q <= m of c[p][q] u^p v^q, by Horner's rule in v then u.
double sip_sum(const std::vector<double>& c, int m, double u, double v) {
  double outer = 0.0;
  for (int p = m; p >= 0; --p) {
    double inner = 0.0;
    for (int q = m - p; q >= 0; --q) inner = inner * v + c[static_cast<size_t>(p * (m + 1) + q)];
    outer = outer * u + inner;
  }
  return outer;
}

}  // namespace

PixelDistortion::PixelDistortion(std::shared_ptr<const LookupTables> tables,
                                 std::optional<SipPolynomial> sip)
    : tables_(tables ? std::move(tables) : std::make_shared<const LookupTables>()),
      sip_(std::move(sip)) {}

void PixelDistortion::pix2foc(const double pix[2], double foc[2]) const {
  double t[2] = {pix[0], pix[1]};
  for (int k = 0; k < 2; ++k) {
    if (tables_->d2im[k]) t[k] += tables_->d2im[k]->at(pix[0], pix[1]);
  }
  foc[0] = t[0];
  foc[1] = t[1];
  if (sip_) {
    const double u = t[0] - sip_->crpix[0], v = t[1] - sip_->crpix[1];
    foc[0] += sip_sum(sip_->a, sip_->a_order, u, v);
    foc[1] += sip_sum(sip_->b, sip_->b_order, u, v);
  }
  for (int k = 0; k < 2; ++k) {
    if (tables_->cpdis[k]) foc[k] += tables_->cpdis[k]->at(t[0], t[1]);
  }
}

bool PixelDistortion::foc2pix(const double foc[2], double pix[2]) const {
  pix[0] = foc[0];
  pix[1] = foc[1];
  for (int it = 0; it < kMaxIterations; ++it) {
    double f[2];
    pix2foc(pix, f);
    const double dx = f[0] - foc[0], dy = f[1] - foc[1];
    pix[0] -= dx;
    pix[1] -= dy;
    const double step = std::hypot(dx, dy);
    if (!(step <= kRunawayStep)) return false;  // also NaN
    if (step <= kTolerance) return true;
  }
  return false;
}

}  // namespace gml::fits::detail
