// C entry points of the WCS section: a parsed celestial WCS and batched
// pixel <-> sky transforms with per-point status.
#include <memory>
#include <mutex>
#include <string>

#include "capi/src/firewall.h"
#include "capi/src/handles.h"
#include "core/common/error.h"
#include "core/common/runtime.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/wcs.h"

// WCSLIB keeps scratch memory inside a wcsprm, so transforms on one handle
// are serialised; hosts may share a handle between threads.
struct gml_wcs {
  explicit gml_wcs(gml::fits::Wcs w) : wcs(std::move(w)) {}
  std::mutex mu;
  gml::fits::Wcs wcs;
};

namespace {

using gml::fits::FitsFile;
using gml::fits::Wcs;

gml_wcs& require_wcs(const gml_wcs* wcs) {
  gml::capi::require_live_handle(wcs, gml::capi::HandleKind::Wcs, "wcs");
  return const_cast<gml_wcs&>(*wcs);
}

// What WCSLIB or the reader repaired or left out, as astropy warns of it.
void log_repairs(const gml::fits::Wcs& wcs, const std::string& source) {
  for (const std::string& w : wcs.warnings()) gml::log_warning("WCS of " + source + ": " + w);
}

}  // namespace

using gml::capi::guard;

namespace {

// A batched transform (pix2sky or sky2pix: two coordinate arrays in, two
// out, a status per point): the arguments checked, then
// transform(wcs, origin) under the handle's lock.
template <class Transform>
gml_status coordinate_batch(const char* function, const gml_wcs* wcs, const double* in_a,
                            const double* in_b, int64_t n, int32_t origin, const double* out_a,
                            const double* out_b, Transform&& transform) {
  return guard(function, [&] {
    gml_wcs& w = require_wcs(wcs);
    gml::require(n >= 0, "n must be >= 0");
    gml::capi::checked_elements({n}, sizeof(double), "coordinate arrays");
    gml::require(n == 0 || (in_a && in_b && out_a && out_b),
                 "coordinate buffers must not be NULL when n > 0");
    gml::require(origin == 0 || origin == 1, "origin must be 0 or 1");
    if (n == 0) return;
    std::lock_guard<std::mutex> lock(w.mu);
    transform(w.wcs, origin == 0 ? gml::fits::Origin::Zero : gml::fits::Origin::One);
  });
}

}  // namespace

namespace {

gml_status open_file(const char* function, const char* path, const char* hdu, char alt,
                     gml_wcs** out) {
  return guard(function, [&] {
    gml::require(path != nullptr, "path must not be NULL");
    gml::require(out != nullptr, "out must not be NULL");
    gml::require(hdu == nullptr || *hdu != '\0', "hdu must be NULL or a non-empty name/index");
    gml::require(alt == ' ' || (alt >= 'A' && alt <= 'Z'),
                 "alt must be ' ' or '\\0' (the primary WCS) or a letter A-Z");
    FitsFile f = FitsFile::open(path);
    auto w = std::make_unique<gml_wcs>(Wcs::from_hdu(f, hdu ? hdu : "", alt));
    log_repairs(w->wcs, "'" + std::string(path) + "'");
    *out = gml::capi::publish(std::move(w), gml::capi::HandleKind::Wcs);
  });
}

gml_status open_header(const char* function, const char* header, size_t length, char alt,
                       gml_wcs** out) {
  return guard(function, [&] {
    gml::require(header != nullptr, "header must not be NULL");
    gml::require(out != nullptr, "out must not be NULL");
    gml::require(length > 0 && length % 80 == 0,
                 "length must be a positive multiple of 80 (whole header cards)");
    gml::require(alt == ' ' || (alt >= 'A' && alt <= 'Z'),
                 "alt must be ' ' or '\\0' (the primary WCS) or a letter A-Z");
    auto w = std::make_unique<gml_wcs>(Wcs(std::string(header, length), alt));
    log_repairs(w->wcs, "the header");
    *out = gml::capi::publish(std::move(w), gml::capi::HandleKind::Wcs);
  });
}

}  // namespace

extern "C" {

GML_API gml_status gml_wcs_open(const char* path, const char* hdu, gml_wcs** out) {
  return open_file("gml_wcs_open", path, hdu, ' ', out);
}

GML_API gml_status gml_wcs_open_header(const char* header, size_t length, gml_wcs** out) {
  return open_header("gml_wcs_open_header", header, length, ' ', out);
}

GML_API void gml_wcs_free(gml_wcs* wcs) {
  if (gml::capi::retire_handle(wcs, gml::capi::HandleKind::Wcs, "gml_wcs_free")) delete wcs;
}

GML_API gml_status gml_wcs_pix2sky(const gml_wcs* wcs, const double* x, const double* y, int64_t n,
                                   int32_t origin, double* ra, double* dec, int32_t* status) {
  return coordinate_batch("gml_wcs_pix2sky", wcs, x, y, n, origin, ra, dec,
                          [&](gml::fits::Wcs& w, gml::fits::Origin o) {
                            w.pix2sky(x, y, static_cast<size_t>(n), ra, dec, status, o);
                          });
}

GML_API gml_status gml_wcs_sky2pix(const gml_wcs* wcs, const double* ra, const double* dec,
                                   int64_t n, int32_t origin, double* x, double* y,
                                   int32_t* status) {
  return coordinate_batch("gml_wcs_sky2pix", wcs, ra, dec, n, origin, x, y,
                          [&](gml::fits::Wcs& w, gml::fits::Origin o) {
                            w.sky2pix(ra, dec, static_cast<size_t>(n), x, y, status, o);
                          });
}

GML_API gml_status gml_wcs_pixel_scale(const gml_wcs* wcs, double* arcsec_per_pixel) {
  return guard("gml_wcs_pixel_scale", [&] {
    gml_wcs& w = require_wcs(wcs);
    gml::require(arcsec_per_pixel != nullptr, "arcsec_per_pixel must not be NULL");
    std::lock_guard<std::mutex> lock(w.mu);
    *arcsec_per_pixel = w.wcs.pixel_scale_arcsec();
  });
}

GML_API gml_status gml_wcs_header(const gml_wcs* wcs, char* buf, size_t capacity, size_t* length) {
  std::string text;
  const gml_status s = guard("gml_wcs_header", [&] {
    gml_wcs& w = require_wcs(wcs);
    gml::require(length != nullptr, "length must not be NULL");
    std::lock_guard<std::mutex> lock(w.mu);
    text = w.wcs.to_header();
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_wcs_header", text, buf, capacity, length);
}

GML_API gml_status gml_wcs_open_alternate(const char* path, const char* hdu, char alt,
                                          gml_wcs** out) {
  return open_file("gml_wcs_open_alternate", path, hdu, alt == '\0' ? ' ' : alt, out);
}

GML_API gml_status gml_wcs_open_header_alternate(const char* header, size_t length, char alt,
                                                 gml_wcs** out) {
  return open_header("gml_wcs_open_header_alternate", header, length, alt == '\0' ? ' ' : alt, out);
}

}  // extern "C"
