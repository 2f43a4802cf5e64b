// Lookup-table distortions of the FITS distortion paper draft (Calabretta et
// al., "Representations of distortions in FITS world coordinate systems"),
// as the HST pipelines write them and astropy.wcs applies them:
//   D2IMDISj = 'Lookup' (tables in D2IMARR image extensions; also the older
//                        AXISCORR convention with one D2IMARR table),
//   CPDISj   = 'Lookup' (tables in WCSDVARR image extensions),
// each with DPj / D2IMj records 'EXTVER: n', 'NAXES: 2', 'AXIS.1: 1',
// 'AXIS.2: 2'. WCSLIB 7.12 implements neither: the tables are read here and
// applied around WCSLIB's transform, with the SIP polynomial of the same
// header, in astropy's order (pipeline.c):
//   t   = p + d2im(p)                      detector -> image, on pixel p
//   foc = t + sip(t - CRPIX) + cpdis(t)    the prior distortions, on t
//   world = WCSLIB(foc)                    linear, projection, sequent
// All pixel coordinates here are FITS 1-based.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fits_io/fits_file.h"

namespace gml::fits::detail {

/// Largest lookup table read (values): HST's are 65 x 33 and 4096 x 1.
constexpr int64_t kMaxLookupValues = int64_t{1} << 22;

/// One lookup table: corrections in pixels on a grid that the table's own
/// CRPIXk/CRVALk/CDELTk place on the image's pixel axes. Bilinear between
/// grid points; beyond the grid, the edge values (astropy's clamping).
class LookupTable {
 public:
  /// `values` holds nx * ny corrections, x (pixel axis 1) varying fastest.
  LookupTable(int64_t nx, int64_t ny, std::vector<float> values, std::array<double, 2> crpix,
              std::array<double, 2> crval, std::array<double, 2> cdelt);
  /// Correction at image pixel (x, y); NaN for non-finite input.
  double at(double x, double y) const;
  int64_t nx() const noexcept { return nx_; }
  int64_t ny() const noexcept { return ny_; }

 private:
  float value(int64_t i, int64_t j) const { return values_[static_cast<size_t>(j * nx_ + i)]; }
  int64_t nx_, ny_;
  std::vector<float> values_;
  std::array<double, 2> crpix_, crval_, cdelt_;
};

/// The tables of one file, per pixel axis (index 0 = axis 1). Immutable
/// once read, so clones of a Wcs share them.
struct LookupTables {
  std::optional<LookupTable> d2im[2];
  std::optional<LookupTable> cpdis[2];
};

/// Forward SIP polynomials A_p_q, B_p_q (p + q <= order) of pixel offsets
/// from CRPIX, as astropy reads them (AP/BP are not needed: the inverse is
/// iterative).
struct SipPolynomial {
  int a_order = 0, b_order = 0;
  std::vector<double> a, b;  // (order + 1)^2, coefficient of u^p v^q at p * (order + 1) + q
  std::array<double, 2> crpix{};
};

/// One lookup-table distortion declared by a header.
struct LookupRef {
  std::string keyword;    ///< the declaring card: "CPDIS1", "D2IMDIS2" or "AXISCORR"
  int extver = 1;         ///< EXTVER of the WCSDVARR / D2IMARR extension
  bool swapped = false;   ///< the table's first axis runs along pixel axis 2
  bool one_axis = false;  ///< AXISCORR convention: a 1-D (or N x 1) D2IMARR table
};

/// What a header declares; empty() when it has no lookup distortions.
struct LookupDeclaration {
  std::optional<LookupRef> d2im[2];
  std::optional<LookupRef> cpdis[2];
  bool empty() const;
  /// The declaring card of the first table, CPDISj before D2IMDISj, e.g.
  /// "CPDIS1 = 'Lookup'", and the extension name its table is in.
  std::string first() const;
  const char* first_extension() const;
};

/// Scans the (checked) header cards for lookup distortions, in astropy's
/// reading: AXISCORR takes precedence over D2IMDISj; EXTVER defaults to 1;
/// DPj.AXIS.j must be present (1 or 2), NAXES if present must be 2.
/// Throws WcsError (status 0) naming the card for what cannot be applied:
/// malformed records, a 'Lookup' on an axis other than 1 or 2, on an
/// alternate description (CPDIS1A) or as a sequent distortion (CQDISi),
/// a D2IMDISj other than 'Lookup', and one CPDISj 'Lookup' beside a
/// polynomial one. Appends to `warnings` what astropy warns about or
/// ignores (AXISCORR not 1 or 2; D2IMFILE/NPOLFILE naming a correction the
/// header does not declare; AXISCORR itself, deprecated).
LookupDeclaration find_lookup_distortions(const std::vector<std::string>& cards,
                                          std::vector<std::string>& warnings);

/// Reads the declared tables from the image extensions of `f`, checking
/// each extension (present, image of 2 axes (1 for AXISCORR), at most
/// kMaxLookupValues values, finite CRPIX/CRVAL/CDELT with CDELT != 0,
/// finite values) before allocating. The current HDU of `f` is restored.
/// Throws WcsError naming the declaring card for a missing or malformed
/// extension, FitsError for I/O failures. An AXISCORR table that the file
/// lacks is skipped with a warning, as astropy skips it.
std::shared_ptr<const LookupTables> read_lookup_tables(FitsFile& f, const LookupDeclaration& d,
                                                       std::vector<std::string>& warnings);

/// Removes the lookup-distortion cards (CPDISj, DPj, CPERRj of lookup axes;
/// D2IMDISj, D2IMj, D2IMERRj; AXISCORR), which WCSLIB must not interpret.
void remove_lookup_cards(std::vector<std::string>& cards, const LookupDeclaration& d);

/// Reads the forward SIP polynomials from the cards and removes every SIP
/// card (A_ORDER, A_p_q, AP_p_q, ..., A_DMAX), as astropy does before it
/// hands a header to WCSLIB. Empty when A_ORDER/B_ORDER are absent or not
/// above 1 (astropy's rule). Throws WcsError for A_ORDER > 1 without
/// B_ORDER, or the reverse. `crpix` is left for the caller.
std::optional<SipPolynomial> take_sip(std::vector<std::string>& cards);

/// astropy's pixel -> focal-plane pipeline (see the top of this file) and
/// its iterative inverse.
class PixelDistortion {
 public:
  /// The inverse stops when a correction step is below this (pixels);
  /// astropy's all_world2pix defaults to 1e-4.
  static constexpr double kTolerance = 1e-10;
  static constexpr int kMaxIterations = 50;

  PixelDistortion(std::shared_ptr<const LookupTables> tables, std::optional<SipPolynomial> sip);

  /// Focal-plane coordinates of pixel `pix` (x, y).
  void pix2foc(const double pix[2], double foc[2]) const;
  /// Pixel whose focal-plane coordinates are `foc`, by astropy's fixed
  /// point iteration pix <- pix - (pix2foc(pix) - foc) from pix = foc.
  /// Returns false (pix undefined) if it does not converge within
  /// kMaxIterations or runs off to non-finite values.
  bool foc2pix(const double foc[2], double pix[2]) const;

  const LookupTables& tables() const noexcept { return *tables_; }
  bool has_sip() const noexcept { return sip_.has_value(); }

 private:
  std::shared_ptr<const LookupTables> tables_;
  std::optional<SipPolynomial> sip_;
};

}  // namespace gml::fits::detail
