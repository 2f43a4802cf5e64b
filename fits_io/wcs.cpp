#include "fits_io/wcs.h"

#include <wcslib/dis.h>
#include <wcslib/wcs.h>
#include <wcslib/wcserr.h>
#include <wcslib/wcsfix.h>
#include <wcslib/wcshdr.h>
#include <wcslib/wcsmath.h>
#include <wcslib/wcsutil.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fits_io/card.h"
#include "fits_io/header.h"
#include "fits_io/wcs_diagnosis.h"
#include "fits_io/wcs_distortion.h"
#include "fits_io/wcs_header_check.h"
#include "fits_io/wcs_header_repair.h"
#include "fits_io/wcs_tab.h"

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
// Messages are built from WCSLIB's status tables and our own context
// (wcs_diagnosis.h).

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

double wrap_ra(double ra) {
  if (!std::isfinite(ra)) return ra;
  ra = std::fmod(ra, 360.0);
  if (ra < 0) ra += 360.0;
  if (ra >= 360.0) ra -= 360.0;  // fmod of a tiny negative can round to 360
  return ra;
}

void check_alt(char alt) {
  if (!(alt == ' ' || (alt >= 'A' && alt <= 'Z'))) {
    throw std::invalid_argument(std::string("WCS alternate must be ' ' (primary) or A-Z, got '") +
                                alt + "'");
  }
}

// Only standard cards reach wcspih, up to END (see wcs_header_check.h).
detail::CheckedHeader checked_cards(const std::string& header) {
  // WCSLIB wants whole 80-char records; pad a short final card.
  std::string buf = header;
  buf.resize((buf.size() + 79) / 80 * 80, ' ');
  return detail::check_wcs_header(buf.data(), buf.size() / 80);
}

bool has_tabular_axis(const wcsprm* w) {
  for (int k = 0; k < w->naxis; ++k) {
    if (w->types[k] / 100 % 10 == 5) return true;
  }
  return false;
}

}  // namespace

// What from_file() read beyond the header, kept for clone().
struct Wcs::FileData {
  std::shared_ptr<const detail::LookupTables> tables;  // null: none declared
  std::vector<std::string> warnings;                   // from reading the tables
  std::vector<detail::TabArray> tab;                   // -TAB arrays of the chosen WCS
};

Wcs::Wcs(const std::string& header, char alt) : Wcs(header, alt, nullptr, nullptr, nullptr) {}

Wcs::Wcs(const std::string& header, char alt, std::shared_ptr<const FileData> data, FitsFile* file,
         FileData* record)
    : header_(header), alt_(alt), file_data_(std::move(data)) {
  check_alt(alt);
  detail::CheckedHeader checked = checked_cards(header);
  warnings_ = std::move(checked.warnings);
  std::vector<std::string> cards = std::move(checked.cards);
  detail::repair_scamp_sip(cards, alt, warnings_);
  // Lookup tables and SIP are applied around WCSLIB, which must not see
  // their keywords (as astropy hands WCSLIB a header without them).
  const detail::LookupDeclaration lookup = detail::find_lookup_distortions(cards, warnings_);
  std::optional<detail::SipPolynomial> sip;
  if (!lookup.empty()) {
    if (file_data_ == nullptr || file_data_->tables == nullptr) {
      throw WcsError(0, lookup.first() + " needs the " + lookup.first_extension() +
                            " extensions of the file; open the file instead of its header");
    }
    warnings_.insert(warnings_.end(), file_data_->warnings.begin(), file_data_->warnings.end());
    detail::remove_lookup_cards(cards, lookup);
    sip = detail::take_sip(cards);
  }
  std::string buf;
  buf.reserve(cards.size() * 80 + 1);
  for (const auto& c : cards) buf += c;
  const int nkeyrec = static_cast<int>(cards.size());
  int nreject = 0, status = 0;
  {
    std::lock_guard<std::mutex> lock(parse_mutex());
    status = wcspih(&buf[0], nkeyrec, WCSHDR_all, 0, &nreject, &nwcs_, &all_);
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
    const std::string label = std::string("WCS '") + (w->alt[0] == ' ' ? "primary" : w->alt) + "'";
    if (w->nwtb > 0) {
      try {
        if (file != nullptr) {
          detail::read_tab_arrays(*file, *w, record->tab);
        } else if (file_data_ != nullptr && !file_data_->tab.empty()) {
          detail::fill_tab_arrays(*w, file_data_->tab);
        } else {
          throw WcsError(0, label + ": " + detail::tab_description(*w) +
                                " needs the binary table extension of the file that holds its "
                                "coordinate arrays; open the file instead of its header");
        }
      } catch (...) {
        free_all();
        throw;
      }
    }
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
    // After a failed wcsset(), WCSLIB 7.12's linset() has allocated its
    // matrices without marking them owned, and a second wcsset() would
    // allocate them again, leaking the first pair; so a failure here is
    // final. celfix() (NCP, GLS) works on a set struct.
    int st = wcsset(w);
    clear_errors(w);
    if (st == 0) {
      if (celfix(w) > 0) st = WCSERR_BAD_PARAM;
      clear_errors(w);
      if (st == 0) st = wcsset(w);
      clear_errors(w);
    }
    if (st != 0) {
      if (first_error.empty()) {
        const std::string keyword = detail::keyword_at_fault(*w, st);
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
          first_error = label + ": " + detail::singular_matrix_message(*w, a, b);
          first_error_status = LINERR_SINGULAR_MTX;
        }
        continue;
      }
      wcs_ = w;
    } else {
      std::string types;
      for (int k = 0; k < w->naxis; ++k)
        types += (k ? "," : "") + detail::without_trailing_blanks(w->ctype[k]);
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
  try {
    finish_setup(lookup, std::move(sip));
  } catch (...) {
    free_all();
    throw;
  }
}

void Wcs::finish_setup(const detail::LookupDeclaration& lookup,
                       std::optional<detail::SipPolynomial> sip) {
  wcsprm* p = wcs_;
  if (!lookup.empty()) {
    if (p->naxis != 2) {
      throw WcsError(0, lookup.first() +
                            ": lookup-table and SIP distortions only work in 2 "
                            "dimensions, and this WCS has " +
                            std::to_string(p->naxis) + " axes (as astropy)");
    }
    if (p->lin.dispre != nullptr) {
      throw WcsError(0, lookup.first() +
                            " beside another prior distortion (CPDISj / DPj): "
                            "combining them is not supported");
    }
    if (sip) sip->crpix = {p->crpix[0], p->crpix[1]};
    pixel_ = std::make_shared<const detail::PixelDistortion>(file_data_->tables, std::move(sip));
  }
  ref_world_.assign(p->crval, p->crval + p->naxis);
  if (has_tabular_axis(p)) {
    // At the reference pixel a -TAB axis has a table entry, not CRVAL.
    const size_t n = static_cast<size_t>(p->naxis);
    std::vector<double> img(n), world(n), phi(1), theta(1);
    std::vector<int> stat(1);
    const int st = wcsp2s(p, 1, p->naxis, p->crpix, img.data(), phi.data(), theta.data(),
                          world.data(), stat.data());
    clear_errors(p);
    if (st != 0) {
      throw WcsError(st, detail::tab_description(*p) +
                             ": no world coordinate at the reference pixel: " +
                             err_text(nullptr, st, wcs_errmsg));
    }
    for (int k = 0; k < p->naxis; ++k) {
      if (p->types[k] / 100 % 10 == 5)
        ref_world_[static_cast<size_t>(k)] = world[static_cast<size_t>(k)];
    }
  }
}

Wcs Wcs::from_file(FitsFile& f, char alt) {
  check_alt(alt);
  const std::string header = read_header_string(f);
  auto data = std::make_shared<FileData>();
  // The constructor reports this scan's warnings and errors; here it only
  // says which tables to read.
  std::vector<std::string> ignored;
  const detail::LookupDeclaration lookup =
      detail::find_lookup_distortions(checked_cards(header).cards, ignored);
  if (!lookup.empty()) data->tables = detail::read_lookup_tables(f, lookup, data->warnings);
  FileData* record = data.get();
  return Wcs(header, alt, std::move(data), &f, record);
}

Wcs::Wcs(Wcs&& other) noexcept
    : header_(std::move(other.header_)),
      alt_(other.alt_),
      nwcs_(std::exchange(other.nwcs_, 0)),
      all_(std::exchange(other.all_, nullptr)),
      wcs_(std::exchange(other.wcs_, nullptr)),
      file_data_(std::move(other.file_data_)),
      pixel_(std::move(other.pixel_)),
      ref_world_(std::move(other.ref_world_)),
      warnings_(std::move(other.warnings_)) {}

Wcs& Wcs::operator=(Wcs&& other) noexcept {
  if (this != &other) {
    free_all();
    header_ = std::move(other.header_);
    alt_ = other.alt_;
    nwcs_ = std::exchange(other.nwcs_, 0);
    all_ = std::exchange(other.all_, nullptr);
    wcs_ = std::exchange(other.wcs_, nullptr);
    file_data_ = std::move(other.file_data_);
    pixel_ = std::move(other.pixel_);
    ref_world_ = std::move(other.ref_world_);
    warnings_ = std::move(other.warnings_);
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
  return Wcs(header_, alt_, file_data_, nullptr, nullptr);
}

size_t Wcs::pix2sky(const double* x, const double* y, size_t n, double* ra, double* dec,
                    int32_t* status, Origin origin) {
  return transform(Direction::PixToSky, x, y, n, ra, dec, status, origin);
}

size_t Wcs::sky2pix(const double* ra, const double* dec, size_t n, double* x, double* y,
                    int32_t* status, Origin origin) {
  return transform(Direction::SkyToPix, ra, dec, n, x, y, status, origin);
}

size_t Wcs::transform(Direction dir, const double* in_lng, const double* in_lat, size_t n,
                      double* out_lng, double* out_lat, int32_t* status, Origin origin) {
  const bool to_sky = dir == Direction::PixToSky;
  const char* name = to_sky ? "pix2sky" : "sky2pix";
  if (n == 0) return 0;
  if (!in_lng || !in_lat || !out_lng || !out_lat) {
    throw std::invalid_argument(std::string("Wcs::") + name + ": null buffer");
  }
  wcsprm* p = w();
  const int nax = p->naxis, ilng = p->lng, ilat = p->lat;
  const double shift = origin == Origin::Zero ? 1.0 : 0.0;
  const size_t kChunk = chunk_points(nax);
  std::vector<double> pix(kChunk * nax), img(kChunk * nax), world(kChunk * nax);
  std::vector<double> phi(kChunk), theta(kChunk);
  std::vector<int> stat(kChunk);
  std::vector<char> overflow(kChunk);  // distortion left the doubles
  // WCSLIB reads `given` and writes `found`: pixels and world coordinates
  // in turn. Axes other than the celestial pair are held at the reference
  // pixel, or its world coordinates.
  std::vector<double>& given = to_sky ? pix : world;
  const std::vector<double>& found = to_sky ? world : pix;
  const double* hold = to_sky ? p->crpix : ref_world_.data();
  const double in_shift = to_sky ? shift : 0.0;
  size_t nbad = 0;
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t m = std::min(kChunk, n - start);
    std::fill(stat.begin(), stat.begin() + m, 0);
    std::fill(overflow.begin(), overflow.begin() + m, 0);
    for (size_t i = 0; i < m; ++i) {
      double* row = &given[i * nax];
      std::copy(hold, hold + nax, row);
      const double a = in_lng[start + i], b = in_lat[start + i];
      // Non-finite inputs are replaced by the reference point so WCSLIB
      // never sees them; their outputs are overwritten below.
      if (!(std::isfinite(a) && std::isfinite(b))) continue;
      row[ilng] = a + in_shift;
      row[ilat] = b + in_shift;
      if (to_sky && pixel_) {
        const double pixel[2] = {row[0], row[1]};
        pixel_->pix2foc(pixel, row);
        // A polynomial far off the image can overflow; WCSLIB must not see
        // that either.
        if (!(std::isfinite(row[0]) && std::isfinite(row[1]))) {
          std::copy(hold, hold + nax, row);
          overflow[i] = 1;
        }
      }
    }
    const int st = to_sky ? wcsp2s(p, static_cast<int>(m), nax, pix.data(), img.data(), phi.data(),
                                   theta.data(), world.data(), stat.data())
                          : wcss2p(p, static_cast<int>(m), nax, world.data(), phi.data(),
                                   theta.data(), img.data(), pix.data(), stat.data());
    if (st != 0 && st != (to_sky ? WCSERR_BAD_PIX : WCSERR_BAD_WORLD)) {
      const std::string msg = err_text(p, st, wcs_errmsg);
      clear_errors(p);
      throw WcsError(st, std::string(name) + ": " + msg);
    }
    // Per-point failures leave notes that the next call would overwrite
    // without freeing.
    clear_errors(p);
    for (size_t i = 0; i < m; ++i) {
      const size_t j = start + i;
      const double* row = &found[i * nax];
      double a = row[ilng], b = row[ilat];
      int32_t s = kWcsOk;
      if (!std::isfinite(in_lng[j]) || !std::isfinite(in_lat[j])) {
        s = kWcsNonFinite;
      } else if (stat[i] != 0 || overflow[i] || !std::isfinite(a) || !std::isfinite(b)) {
        s = kWcsInvalid;
      } else if (!to_sky && pixel_) {
        double pixel[2];
        if (pixel_->foc2pix(row, pixel)) {
          a = pixel[ilng];
          b = pixel[ilat];
        } else {
          s = kWcsInvalid;
        }
      }
      if (s == kWcsOk) {
        out_lng[j] = to_sky ? wrap_ra(a) : a - shift;
        out_lat[j] = to_sky ? b : b - shift;
      } else {
        out_lng[j] = out_lat[j] = kNaN;
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
  return detail::without_trailing_blanks(w()->ctype[axis]);
}

std::string Wcs::projection() const {
  return detail::without_trailing_blanks(w()->cel.prj.code);
}

std::string Wcs::radesys() const {
  return detail::without_trailing_blanks(w()->radesys);
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
  return p->lin.dispre != nullptr || p->lin.disseq != nullptr || pixel_ != nullptr;
}

std::string Wcs::to_header() const {
  if (pixel_) {
    throw WcsError(0,
                   "write WCS header: the WCS has lookup-table distortions, which live in "
                   "WCSDVARR/D2IMARR image extensions that header cards cannot hold");
  }
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

}  // namespace gml::fits
