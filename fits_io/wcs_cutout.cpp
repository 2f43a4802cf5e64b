// Wcs::cutout_header: the header of a stamp cut out of an image and
// resampled, by moving CRPIX and scaling the linear matrix and the SIP
// polynomials.
#include "fits_io/wcs.h"

#include <wcslib/dis.h>
#include <wcslib/wcs.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "fits_io/card.h"
#include "fits_io/wcs_header_check.h"

namespace gml::fits {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The numeric value of a card "KEY = value", or NaN if it has none.
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
  const std::string key = detail::without_trailing_blanks(card.substr(0, 8).c_str());
  const size_t pos = detail::sip_prefix_length(key);
  if (pos == 0) return -1;
  int p = 0, q = 0;
  char tail = 0;
  if (std::sscanf(key.c_str() + pos, "%d_%d%c", &p, &q, &tail) != 2) return -1;
  return p + q;
}

}  // namespace

std::string Wcs::cutout_header(double x0, double y0, double scale) const {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(scale) || scale <= 0) {
    throw std::invalid_argument("Wcs::cutout_header: x0, y0 must be finite and scale > 0");
  }
  if (pixel_) {
    throw WcsError(0,
                   "cutout header: the WCS has lookup-table distortions, which live in "
                   "WCSDVARR/D2IMARR image extensions that header cards cannot hold");
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
  if (st != 0) {
    throw WcsError(st, "cutout header: " + std::string(wcs_errmsg[st]) + " (WCSLIB status " +
                           std::to_string(st) + ")");
  }
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
