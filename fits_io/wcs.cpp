#include "fits_io/wcs.h"

#include <wcslib/dis.h>
#include <wcslib/prj.h>
#include <wcslib/wcs.h>
#include <wcslib/wcserr.h>
#include <wcslib/wcsfix.h>
#include <wcslib/wcshdr.h>
#include <wcslib/wcsmath.h>
#include <wcslib/wcsutil.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fits_io/header.h"
#include "fits_io/wcs_header_check.h"

namespace gml::fits {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Points per WCSLIB call: bounds the scratch memory of huge batches (and
// of headers that declare thousands of axes).
size_t chunk_points(int naxis) {
  return std::max<size_t>(1, std::min<size_t>(4096, (size_t{1} << 16) / std::max(naxis, 1)));
}

std::mutex& parse_mutex() {
  static std::mutex m;
  return m;
}

// WCSLIB's detailed error notes stay disabled (the library default):
// WCSLIB 7.12 leaks the message of a note that is set again before being
// cleared, which a batched transform does once per failing point, and
// enabling them only around some calls would race with other threads.
// Messages are built from WCSLIB's status tables and our own context.

// The keyword at fault when wcsset() fails, in astropy's words, for the
// failures WCSLIB's status tables only call "Invalid parameter value": a
// celestial CTYPEi whose projection code WCSLIB does not know. Empty when
// no such keyword is found.
std::string keyword_at_fault(const wcsprm* w) {
  for (int i = 0; i < w->naxis; ++i) {
    const std::string ctype = w->ctype[i];
    if (ctype.size() < 8 || ctype[4] != '-') continue;
    const std::string axis = ctype.substr(0, 4), code = ctype.substr(5, 3);
    const bool celestial = axis == "RA--" || axis == "DEC-" || axis.compare(1, 3, "LON") == 0 ||
                           axis.compare(1, 3, "LAT") == 0 || axis.compare(2, 2, "LN") == 0 ||
                           axis.compare(2, 2, "LT") == 0;
    if (!celestial || code == "---") continue;
    bool known = false;
    for (int k = 0; k < prj_ncode && !known; ++k) known = code.compare(0, 3, prj_codes[k], 3) == 0;
    if (!known) {
      return "Unrecognized projection code (" + code + " in CTYPE" + std::to_string(i + 1) +
             (w->alt[0] == ' ' || w->alt[0] == '\0' ? "" : std::string(1, w->alt[0])) + ")";
    }
  }
  return {};
}

// Frees the error notes WCSLIB keeps in a wcsprm and its sub-structs. In
// WCSLIB 7.12 some (those of the distortion structs in particular) are not
// released by wcsfree(), and fixers overwrite others without freeing.
void clear_errors(wcsprm* w) noexcept {
  wcserr_clear(&w->err);
  wcserr_clear(&w->lin.err);
  wcserr_clear(&w->cel.err);
  wcserr_clear(&w->cel.prj.err);
  wcserr_clear(&w->spc.err);
  if (w->lin.dispre != nullptr) wcserr_clear(&w->lin.dispre->err);
  if (w->lin.disseq != nullptr) wcserr_clear(&w->lin.disseq->err);
}

std::string err_text(const wcsprm* w, int status, const char* const* table) {
  std::string msg;
  if (w != nullptr && w->err != nullptr && w->err->msg != nullptr) {
    msg = w->err->msg;
  } else if (table != nullptr && status > 0 && status < 20) {
    msg = table[status];
  }
  return msg + " (WCSLIB status " + std::to_string(status) + ")";
}

std::string trim(const char* s) {
  std::string out(s);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

double wrap_ra(double ra) {
  if (!std::isfinite(ra)) return ra;
  ra = std::fmod(ra, 360.0);
  if (ra < 0) ra += 360.0;
  if (ra >= 360.0) ra -= 360.0;  // fmod of a tiny negative can round to 360
  return ra;
}

// Card-level edit used by cutout_header: returns the numeric value of a
// card "KEY = value", or NaN if the card has no numeric value.
double card_value(const std::string& card) {
  if (card.size() < 10 || card[8] != '=') return kNaN;
  const char* p = card.c_str() + 9;
  char* end = nullptr;
  double v = std::strtod(p, &end);
  return end == p ? kNaN : v;
}

std::string set_card_value(const std::string& card, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%20.13E", v);
  std::string out = card.substr(0, 10) + buf;
  // Keep the original comment, aligned after the value.
  auto slash = card.find(" /", 10);
  if (slash != std::string::npos) out += card.substr(slash);
  out.resize(80, ' ');
  return out;
}

// SIP coefficient cards (A_p_q, B_p_q, AP_p_q, BP_p_q): returns p + q or -1.
int sip_order(const std::string& card) {
  const std::string key = trim(card.substr(0, 8).c_str());
  size_t pos = 0;
  if (key.rfind("AP_", 0) == 0 || key.rfind("BP_", 0) == 0) {
    pos = 3;
  } else if (key.rfind("A_", 0) == 0 || key.rfind("B_", 0) == 0) {
    pos = 2;
  } else {
    return -1;
  }
  int p = 0, q = 0;
  char tail = 0;
  if (std::sscanf(key.c_str() + pos, "%d_%d%c", &p, &q, &tail) != 2) return -1;
  return p + q;
}

}  // namespace

Wcs::Wcs(const std::string& header, char alt) : header_(header), alt_(alt) {
  if (!(alt == ' ' || (alt >= 'A' && alt <= 'Z'))) {
    throw std::invalid_argument(std::string("WCS alternate must be ' ' (primary) or A-Z, got '") +
                                alt + "'");
  }
  // WCSLIB wants whole 80-char records; pad a short final card.
  std::vector<char> buf(header.begin(), header.end());
  buf.resize((buf.size() + 79) / 80 * 80, ' ');
  // Only standard cards reach wcspih, up to END (see wcs_header_check.h).
  const int nkeyrec = static_cast<int>(detail::check_wcs_header(buf.data(), buf.size() / 80));
  buf.resize(static_cast<size_t>(nkeyrec) * 80);
  buf.push_back('\0');
  int nreject = 0, status = 0;
  {
    std::lock_guard<std::mutex> lock(parse_mutex());
    status = wcspih(buf.data(), nkeyrec, WCSHDR_all, 0, &nreject, &nwcs_, &all_);
  }
  if (status != 0) {
    free_all();
    throw WcsError(status, "parse WCS header: " + err_text(nullptr, status, wcshdr_errmsg));
  }
  std::string found;
  std::string first_error;
  int first_error_status = 0;
  // Only the WCS asked for: falling back to an alternate when the primary
  // fails (an HST header's 'O', the pointing before distortion correction)
  // put positions 1.7 arcsec off without a word.
  std::string others;
  int chosen = -1;
  for (int i = 0; i < nwcs_; ++i) {
    const char a = all_[i].alt[0] == '\0' ? ' ' : all_[i].alt[0];
    if (a == alt) {
      chosen = i;
    } else {
      others +=
          std::string(others.empty() ? "" : ", ") + (a == ' ' ? "primary" : std::string(1, a));
    }
  }
  const std::string choose =
      others.empty() ? std::string()
                     : "; the header also has WCS " + others + ", which can be chosen explicitly";
  const std::string wanted =
      alt == ' ' ? "primary WCS" : std::string("alternate WCS '") + alt + "'";
  if (chosen < 0) {
    free_all();
    if (others.empty()) {
      throw WcsError(0,
                     "header has no celestial WCS (need a longitude/latitude CTYPE pair such as "
                     "RA---TAN/DEC--TAN); no WCS keywords found");
    }
    throw WcsError(0, "header has no " + wanted + "; it has WCS " + others +
                          ", which can be chosen explicitly");
  }
  for (int i = chosen; i == chosen; ++i) {
    wcsprm* w = all_ + i;
    // The translations astropy applies by default (WCS.fix with no image
    // shape, so no cylfix), one at a time: wcsfix() in WCSLIB 7.12 leaks
    // the informational notes these leave in w->err, so clear each one.
    cdfix(w);
    clear_errors(w);
    datfix(w);
    clear_errors(w);
    obsfix(0, w);
    clear_errors(w);
    unitfix(0, w);
    clear_errors(w);
    spcfix(w);
    clear_errors(w);
    // celfix() runs wcsset() itself. After a failed wcsset(), WCSLIB 7.12's
    // linset() has allocated its matrices without marking them owned, and a
    // second wcsset() would allocate them again, leaking the first pair;
    // so a failure here is final and is reported as wcsset()'s.
    int st = 0;
    if (celfix(w) > 0) {
      st = (w->err != nullptr && w->err->status > 0) ? w->err->status : WCSERR_BAD_PARAM;
    } else {
      clear_errors(w);
      st = wcsset(w);
    }
    const std::string label = std::string("WCS '") + (w->alt[0] == ' ' ? "primary" : w->alt) + "'";
    if (st != 0) {
      if (first_error.empty()) {
        const std::string keyword = keyword_at_fault(w);
        first_error =
            label + ": " + (keyword.empty() ? "" : keyword + ": ") + err_text(w, st, wcs_errmsg);
        first_error_status = st;
      }
      clear_errors(w);
      continue;
    }
    if (w->lng >= 0 && w->lat >= 0) {
      // WCSLIB 7.12 accepts a singular matrix in wcsset() and only fails
      // later, in sky2pix; reject it here where the header is named.
      const int n = w->naxis, a = w->lng, b = w->lat;
      auto m = [&](int r, int c) { return w->cdelt[r] * w->pc[r * n + c]; };
      const double det = m(a, a) * m(b, b) - m(a, b) * m(b, a);
      if (!(std::isfinite(det) && det != 0.0)) {
        if (first_error.empty()) {
          first_error = label + ": singular or non-finite linear transformation matrix " +
                        "(CDi_j / PCi_j * CDELTi) of the celestial axes";
          first_error_status = LINERR_SINGULAR_MTX;
        }
        continue;
      }
      wcs_ = w;
    } else {
      std::string types;
      for (int k = 0; k < w->naxis; ++k) types += (k ? "," : "") + trim(w->ctype[k]);
      found += (found.empty() ? "" : "; ") + label + " axes [" + types + "]";
    }
  }
  if (wcs_ == nullptr) {
    free_all();
    if (!first_error.empty()) {
      throw WcsError(first_error_status, "invalid WCS: " + first_error + choose);
    }
    throw WcsError(
        0,
        "header has no celestial WCS (need a longitude/latitude CTYPE pair such "
        "as RA---TAN/DEC--TAN)" +
            (found.empty() ? std::string("; no WCS keywords found") : "; found " + found) + choose);
  }
}

Wcs Wcs::from_file(FitsFile& f, char alt) {
  return Wcs(read_header_string(f), alt);
}

Wcs::Wcs(Wcs&& other) noexcept
    : header_(std::move(other.header_)),
      alt_(other.alt_),
      nwcs_(std::exchange(other.nwcs_, 0)),
      all_(std::exchange(other.all_, nullptr)),
      wcs_(std::exchange(other.wcs_, nullptr)) {}

Wcs& Wcs::operator=(Wcs&& other) noexcept {
  if (this != &other) {
    free_all();
    header_ = std::move(other.header_);
    alt_ = other.alt_;
    nwcs_ = std::exchange(other.nwcs_, 0);
    all_ = std::exchange(other.all_, nullptr);
    wcs_ = std::exchange(other.wcs_, nullptr);
  }
  return *this;
}

Wcs::~Wcs() {
  free_all();
}

void Wcs::free_all() noexcept {
  if (all_ != nullptr) {
    for (int i = 0; i < nwcs_; ++i) clear_errors(all_ + i);
    wcsvfree(&nwcs_, &all_);
  }
  all_ = nullptr;
  wcs_ = nullptr;
  nwcs_ = 0;
}

wcsprm* Wcs::w() const {
  if (wcs_ == nullptr) throw std::logic_error("Wcs: use of a moved-from object");
  return wcs_;
}

Wcs Wcs::clone() const {
  w();
  return Wcs(header_, alt_);
}

size_t Wcs::pix2sky(const double* x, const double* y, size_t n, double* ra, double* dec,
                    int32_t* status, Origin origin) {
  if (n == 0) return 0;
  if (!x || !y || !ra || !dec) throw std::invalid_argument("Wcs::pix2sky: null buffer");
  wcsprm* p = w();
  const int nax = p->naxis, ilng = p->lng, ilat = p->lat;
  const double shift = origin == Origin::Zero ? 1.0 : 0.0;
  const size_t kChunk = chunk_points(nax);
  std::vector<double> pix(kChunk * nax), img(kChunk * nax), world(kChunk * nax);
  std::vector<double> phi(kChunk), theta(kChunk);
  std::vector<int> stat(kChunk);
  size_t nbad = 0;
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t m = std::min(kChunk, n - start);
    for (size_t i = 0; i < m; ++i) {
      double* row = &pix[i * nax];
      for (int k = 0; k < nax; ++k) row[k] = p->crpix[k];
      const double xi = x[start + i], yi = y[start + i];
      // Non-finite inputs are replaced by the reference pixel so WCSLIB
      // never sees them; their outputs are overwritten below.
      if (std::isfinite(xi) && std::isfinite(yi)) {
        row[ilng] = xi + shift;
        row[ilat] = yi + shift;
      }
    }
    std::fill(stat.begin(), stat.begin() + m, 0);
    int st = wcsp2s(p, static_cast<int>(m), nax, pix.data(), img.data(), phi.data(), theta.data(),
                    world.data(), stat.data());
    if (st != 0 && st != WCSERR_BAD_PIX) {
      const std::string msg = err_text(p, st, wcs_errmsg);
      clear_errors(p);
      throw WcsError(st, "pix2sky: " + msg);
    }
    // Per-point failures leave notes that the next call would overwrite
    // without freeing.
    clear_errors(p);
    for (size_t i = 0; i < m; ++i) {
      const size_t j = start + i;
      int32_t s = kWcsOk;
      if (!std::isfinite(x[j]) || !std::isfinite(y[j])) {
        s = kWcsNonFinite;
      } else if (stat[i] != 0 || !std::isfinite(world[i * nax + ilng]) ||
                 !std::isfinite(world[i * nax + ilat])) {
        s = kWcsInvalid;
      }
      if (s == kWcsOk) {
        ra[j] = wrap_ra(world[i * nax + ilng]);
        dec[j] = world[i * nax + ilat];
      } else {
        ra[j] = dec[j] = kNaN;
        ++nbad;
      }
      if (status) status[j] = s;
    }
  }
  return nbad;
}

size_t Wcs::sky2pix(const double* ra, const double* dec, size_t n, double* x, double* y,
                    int32_t* status, Origin origin) {
  if (n == 0) return 0;
  if (!x || !y || !ra || !dec) throw std::invalid_argument("Wcs::sky2pix: null buffer");
  wcsprm* p = w();
  const int nax = p->naxis, ilng = p->lng, ilat = p->lat;
  const double shift = origin == Origin::Zero ? 1.0 : 0.0;
  const size_t kChunk = chunk_points(nax);
  std::vector<double> pix(kChunk * nax), img(kChunk * nax), world(kChunk * nax);
  std::vector<double> phi(kChunk), theta(kChunk);
  std::vector<int> stat(kChunk);
  size_t nbad = 0;
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t m = std::min(kChunk, n - start);
    for (size_t i = 0; i < m; ++i) {
      double* row = &world[i * nax];
      for (int k = 0; k < nax; ++k) row[k] = p->crval[k];
      const double a = ra[start + i], d = dec[start + i];
      if (std::isfinite(a) && std::isfinite(d)) {
        row[ilng] = a;
        row[ilat] = d;
      }
    }
    std::fill(stat.begin(), stat.begin() + m, 0);
    int st = wcss2p(p, static_cast<int>(m), nax, world.data(), phi.data(), theta.data(), img.data(),
                    pix.data(), stat.data());
    if (st != 0 && st != WCSERR_BAD_WORLD) {
      const std::string msg = err_text(p, st, wcs_errmsg);
      clear_errors(p);
      throw WcsError(st, "sky2pix: " + msg);
    }
    clear_errors(p);
    for (size_t i = 0; i < m; ++i) {
      const size_t j = start + i;
      int32_t s = kWcsOk;
      if (!std::isfinite(ra[j]) || !std::isfinite(dec[j])) {
        s = kWcsNonFinite;
      } else if (stat[i] != 0 || !std::isfinite(pix[i * nax + ilng]) ||
                 !std::isfinite(pix[i * nax + ilat])) {
        s = kWcsInvalid;
      }
      if (s == kWcsOk) {
        x[j] = pix[i * nax + ilng] - shift;
        y[j] = pix[i * nax + ilat] - shift;
      } else {
        x[j] = y[j] = kNaN;
        ++nbad;
      }
      if (status) status[j] = s;
    }
  }
  return nbad;
}

std::array<double, 2> Wcs::pix2sky(double x, double y, Origin origin) {
  std::array<double, 2> out{};
  pix2sky(&x, &y, 1, &out[0], &out[1], nullptr, origin);
  return out;
}

std::array<double, 2> Wcs::sky2pix(double ra, double dec, Origin origin) {
  std::array<double, 2> out{};
  sky2pix(&ra, &dec, 1, &out[0], &out[1], nullptr, origin);
  return out;
}

int Wcs::naxis() const {
  return w()->naxis;
}
int Wcs::lng_axis() const {
  return w()->lng;
}
int Wcs::lat_axis() const {
  return w()->lat;
}

std::string Wcs::ctype(int axis) const {
  if (axis < 0 || axis >= naxis()) {
    throw std::invalid_argument("Wcs::ctype: axis " + std::to_string(axis) + " out of range");
  }
  return trim(w()->ctype[axis]);
}

std::string Wcs::projection() const {
  return trim(w()->cel.prj.code);
}

std::string Wcs::radesys() const {
  return trim(w()->radesys);
}

std::array<double, 2> Wcs::crpix() const {
  const wcsprm* p = w();
  return {p->crpix[p->lng], p->crpix[p->lat]};
}

std::array<double, 2> Wcs::crval() const {
  const wcsprm* p = w();
  return {p->crval[p->lng], p->crval[p->lat]};
}

std::array<double, 4> Wcs::cd() const {
  const wcsprm* p = w();
  const int n = p->naxis, a = p->lng, b = p->lat;
  // After wcsset the effective matrix is diag(CDELT) * PC in every case.
  auto m = [&](int i, int j) { return p->cdelt[i] * p->pc[i * n + j]; };
  return {m(a, a), m(a, b), m(b, a), m(b, b)};
}

double Wcs::pixel_scale_arcsec() const {
  auto c = cd();
  return 3600.0 * std::sqrt(std::fabs(c[0] * c[3] - c[1] * c[2]));
}

bool Wcs::has_distortion() const {
  const wcsprm* p = w();
  return p->lin.dispre != nullptr || p->lin.disseq != nullptr;
}

std::string Wcs::to_header() const {
  int nkey = 0;
  char* text = nullptr;
  int st = wcshdo(WCSHDO_safe | WCSHDO_P17, w(), &nkey, &text);
  std::string out;
  if (text != nullptr) {
    out.assign(text, static_cast<size_t>(nkey) * 80);
    wcsdealloc(text);
  }
  if (st != 0) throw WcsError(st, "write WCS header: " + err_text(w(), st, wcs_errmsg));
  return out;
}

std::string Wcs::cutout_header(double x0, double y0, double scale) const {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(scale) || scale <= 0) {
    throw std::invalid_argument("Wcs::cutout_header: x0, y0 must be finite and scale > 0");
  }
  Wcs copy = clone();
  wcsprm* p = copy.wcs_;
  const int n = p->naxis;
  const int axes[2] = {p->lng, p->lat};
  const double origin[2] = {x0, y0};
  for (int k = 0; k < 2; ++k) {
    const int j = axes[k];
    p->crpix[j] = (p->crpix[j] - origin[k] + 0.5) / scale + 0.5;
    // Scaling the pixel-axis columns of the linear matrix keeps sequent
    // distortions (TPV, TNX, ZPX), defined on CD-scaled coordinates, exact.
    for (int i = 0; i < n; ++i) {
      p->pc[i * n + j] *= scale;
      if (p->altlin & 2) p->cd[i * n + j] *= scale;
    }
  }
  if (!(p->altlin & 2)) p->altlin |= 1;  // the (scaled) PC matrix is now the truth
  // Prior distortions (SIP) are functions of pixel offsets from CRPIX;
  // move their renormalisation offsets along with CRPIX.
  if (disprm* d = p->lin.dispre) {
    for (int i = 0; i < d->ndp; ++i) {
      dpkey& k = d->dp[i];
      const char* off = std::strstr(k.field, ".OFFSET.");
      if (off == nullptr) continue;
      const int jhat = std::atoi(off + 8);
      if (jhat >= 1 && jhat <= 2) {
        const int j = axes[jhat - 1];
        if (k.type == 0) {
          k.type = 1;
          k.value.f = k.value.i;
        }
        k.value.f = p->crpix[j];
      }
    }
  }
  p->flag = 0;
  int st = wcsset(p);
  if (st != 0) throw WcsError(st, "cutout header: " + err_text(p, st, wcs_errmsg));
  std::string text = copy.to_header();
  if (scale == 1.0 || p->lin.dispre == nullptr) return text;
  // SIP polynomials map pixel offsets to pixel corrections: with pixels
  // `scale` times larger, the order-(p+q) coefficient scales by
  // scale^(p+q-1).
  std::string out;
  for (size_t pos = 0; pos + 80 <= text.size(); pos += 80) {
    std::string card = text.substr(pos, 80);
    const int order = sip_order(card);
    const double v = card_value(card);
    if (order >= 0 && std::isfinite(v)) card = set_card_value(card, v * std::pow(scale, order - 1));
    out += card;
  }
  return out;
}

}  // namespace gml::fits
