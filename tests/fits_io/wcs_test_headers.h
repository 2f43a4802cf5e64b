// Header texts and small FITS files for the WCS tests: the header of a
// gzip FITS file read as text, header cards edited by keyword, and MEF
// files assembled from a real header and its lookup-table extensions.
#pragma once

#include <fitsio.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/wcs_header_check.h"
#include "test_util.h"

namespace gml::fits::test {

inline std::string pad_card(const std::string& text) {
  std::string c = text;
  c.resize(80, ' ');
  return c;
}

inline std::string keyword_of(const std::string& card) {
  std::string k = card.substr(0, 8);
  while (!k.empty() && k.back() == ' ') k.pop_back();
  return k;
}

inline bool is_end_card(const std::string& card) {
  return card.compare(0, 3, "END") == 0 && card.find_first_not_of(' ', 3) == std::string::npos;
}

inline std::vector<std::string> split_cards(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 80 <= text.size(); i += 80) out.push_back(text.substr(i, 80));
  return out;
}

inline std::string join_cards(const std::vector<std::string>& cards) {
  std::string out;
  for (const auto& c : cards) out += c;
  return out;
}

/// The primary header of a gzip-compressed FITS file, up to and including
/// END, as the raw cards (not through CFITSIO, which refuses some files).
inline std::string gz_primary_header(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) throw std::runtime_error("cannot open " + path);
  std::string out;
  char card[80];
  while (gzread(gz, card, 80) == 80) {
    out.append(card, 80);
    if (is_end_card(out.substr(out.size() - 80))) break;
  }
  gzclose(gz);
  return out;
}

inline std::string text_file(const std::string& path) {
  const auto bytes = read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

/// `base` (a .hdr file) without its END card, CTYPE1/2 set to `ctype1`,
/// `ctype2`, and the SIP cards of `sip_from` appended, as
/// tests/golden/make_wcs_distortion_golden.py builds it.
inline std::string composite_header(const std::string& base, const std::string& sip_from,
                                    const std::string& ctype1, const std::string& ctype2) {
  std::vector<std::string> out;
  for (std::string c : split_cards(text_file(data_path(base)))) {
    if (is_end_card(c)) continue;
    const std::string k = keyword_of(c);
    if (k == "CTYPE1" || k == "CTYPE2") {
      std::string v = k == "CTYPE1" ? ctype1 : ctype2;
      v.resize(std::max<size_t>(v.size(), 8), ' ');
      c = pad_card(k + "  = '" + v + "'");
    }
    out.push_back(c);
  }
  for (const std::string& c : split_cards(text_file(data_path(sip_from)))) {
    const std::string k = keyword_of(c);
    // The SIP orders and coefficients (not A_DMAX, B_DMAX).
    if (detail::is_sip_keyword(k) && k.find("DMAX") == std::string::npos) out.push_back(c);
  }
  return join_cards(out);
}

/// Cards of `header` for which `keep` is true.
inline std::string filter_cards(const std::string& header,
                                const std::function<bool(const std::string&)>& keep) {
  std::vector<std::string> out;
  for (const auto& c : split_cards(header)) {
    if (keep(c)) out.push_back(c);
  }
  return join_cards(out);
}

/// The header without its lookup-table distortion cards (CPDISj, DPj,
/// CPERRj, D2IM*, AXISCORR): the same WCS with SIP and without tables.
inline std::string without_lookup_cards(const std::string& header) {
  return filter_cards(header, [](const std::string& c) {
    const std::string k = keyword_of(c);
    return !(k.rfind("CPDIS", 0) == 0 || k.rfind("CPERR", 0) == 0 || k == "DP1" || k == "DP2" ||
             k.rfind("D2IM", 0) == 0 || k == "AXISCORR");
  });
}

/// One image extension of a test file.
struct TestImage {
  std::string extname;
  int extver = 1;
  std::vector<int64_t> naxes;
  std::vector<float> values;
  std::vector<std::string> cards;  ///< extra header cards (CRPIX1 = ..., ...)
};

/// Writes a FITS file: an empty primary HDU, a 1 x 1 image HDU whose header
/// holds the WCS `cards` (structural keywords are CFITSIO's), then `images`.
inline void write_wcs_file(const std::string& path, const std::vector<std::string>& cards,
                           const std::vector<TestImage>& images) {
  FitsFile f = FitsFile::create(path);
  write_empty_primary(f);
  const float one = 0.0f;
  write_image(f, {1, 1}, &one);
  int status = 0;
  static const char* const kStructural[] = {"SIMPLE", "XTENSION", "BITPIX", "PCOUNT",
                                            "GCOUNT", "EXTEND",   "END"};
  for (const auto& c : cards) {
    const std::string k = keyword_of(c);
    bool skip = k.rfind("NAXIS", 0) == 0;
    for (const char* s : kStructural) skip = skip || k == s;
    if (skip) continue;
    std::string card = c;
    fits_write_record(f.handle(), card.c_str(), &status);
  }
  for (const auto& im : images) {
    write_image(f, im.naxes, im.values.data());
    fits_update_key_str(f.handle(), "EXTNAME", const_cast<char*>(im.extname.c_str()), nullptr,
                        &status);
    int extver = im.extver;
    fits_update_key(f.handle(), TINT, "EXTVER", &extver, nullptr, &status);
    for (const auto& c : im.cards) fits_write_record(f.handle(), pad_card(c).c_str(), &status);
  }
  if (status != 0)
    throw std::runtime_error("write_wcs_file: CFITSIO status " + std::to_string(status));
  f.commit();
}

/// An image extension of a real file as a TestImage, with its CRPIXk,
/// CRVALk, CDELTk cards.
inline TestImage image_of(const std::string& path, const std::string& extname, int extver) {
  FitsFile f = FitsFile::open(path);
  int status = 0;
  fits_movnam_hdu(f.handle(), IMAGE_HDU, const_cast<char*>(extname.c_str()), extver, &status);
  if (status != 0) throw std::runtime_error("no " + extname + " in " + path);
  TestImage im;
  im.extname = extname;
  im.extver = extver;
  im.naxes = image_info(f).naxes;
  im.values = read_image_f32(f);
  for (const char* k : {"CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2"}) {
    if (has_key(f, k)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%-8s= %20.12G", k, read_key_double(f, k));
      im.cards.push_back(buf);
    }
  }
  return im;
}

}  // namespace gml::fits::test
