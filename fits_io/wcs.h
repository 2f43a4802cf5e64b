// Celestial world coordinate systems through WCSLIB: parsing (including the
// SIP, TPV, TNX/ZPX and DSS distortion conventions WCSLIB understands, the
// lookup-table distortions of HST headers (wcs_distortion.h) and -TAB
// coordinates read from the file), batched pixel <-> sky transforms with
// per-point status, and header output for cutouts and resampled stamps.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fits_io/errors.h"
#include "fits_io/fits_file.h"

struct wcsprm;  // WCSLIB (wcslib/wcs.h)

namespace gml::fits {
namespace detail {
class PixelDistortion;
struct LookupDeclaration;
struct SipPolynomial;
}  // namespace detail

/// Pixel numbering convention of coordinates passed to or returned by Wcs.
/// One: FITS convention, the centre of the first pixel is 1.0 (astropy's
/// origin=1). Zero: C/numpy convention, the first pixel centre is 0.0
/// (astropy's origin=0).
enum class Origin { Zero = 0, One = 1 };

/// Per-point status of a batched transform.
enum WcsPointStatus : int32_t {
  kWcsOk = 0,
  kWcsNonFinite = 1,  ///< input was NaN or infinite
  kWcsInvalid = 2     ///< outside the projection's domain / did not converge
};

/// One celestial WCS (RAII over a WCSLIB wcsprm). Movable, not copyable;
/// use clone() for a copy.
///
/// Thread compatibility: the transforms use scratch memory inside the
/// wcsprm (WCSLIB's distortion code), so one Wcs must not be used by two
/// threads at once; give each thread its own clone(). Distinct objects may
/// be used concurrently. Construction serialises on an internal mutex
/// because WCSLIB's header parser is not guaranteed re-entrant.
class Wcs {
 public:
  /// Parses `header`, a sequence of 80-character FITS cards (as from
  /// read_header_string; an END card and trailing padding are allowed).
  /// Non-standard but recognised keywords are accepted (WCSHDR_all), then
  /// wcsfix() translates deprecated usage (as astropy does) and wcsset()
  /// validates. `alt` selects the WCS: ' ' the primary, 'A'..'Z' an
  /// alternate (WCSNAMEa / CTYPEia keywords). There is no fallback: when the
  /// chosen WCS is missing or invalid the header is refused, and the message
  /// names the alternates present, so a caller never gets another WCS (an
  /// old pointing, a WCS without its distortion) without asking for it.
  ///
  /// What astropy repairs is repaired the same way, each with an entry in
  /// warnings(): a malformed card that is not a WCS keyword is left out;
  /// SCAMP PVi_m keywords beside SIP ones, or SIP beside TPV, are dropped
  /// (wcs_header_repair.h). A header that needs its file is refused with a
  /// message saying so: lookup-table distortions (CPDISj / D2IMDISj =
  /// 'Lookup', AXISCORR), whose tables are image extensions, and -TAB
  /// coordinates, whose arrays are a binary table; use from_file().
  /// Throws WcsError if the header cannot be parsed, the chosen WCS is
  /// absent or has no celestial axes (message says which WCS were found),
  /// or its parameters are invalid (message names the keyword at fault
  /// where it can be found); std::invalid_argument for a bad `alt`.
  explicit Wcs(const std::string& header, char alt = ' ');

  /// WCS `alt` of the current HDU of `f`, with what the header takes from
  /// the rest of the file: the lookup tables of CPDISj / D2IMDISj = 'Lookup'
  /// (WCSDVARR / D2IMARR image extensions, checked before they are read)
  /// and the arrays of -TAB axes (binary table columns). The current HDU is
  /// unchanged afterwards. Throws FitsError / WcsError (e.g. a declared
  /// extension the file lacks, a malformed table).
  static Wcs from_file(FitsFile& f, char alt = ' ');

  /// WCS `alt` of the HDU `hdu` of `f`: an EXTNAME, or a 0-based HDU index
  /// written in digits. Empty: the current HDU, or, when that is an empty
  /// primary without a WCS, the first extension that has one (survey MEFs
  /// keep image and WCS behind an empty primary). Leaves `f` at the HDU
  /// read. Throws std::invalid_argument for an index beyond any file,
  /// FitsError for an HDU the file lacks, WcsError as from_file().
  static Wcs from_hdu(FitsFile& f, const std::string& hdu, char alt = ' ');

  /// The WCS this object holds: ' ' (primary) or 'A'..'Z'.
  char alternate() const noexcept { return alt_; }

  Wcs(Wcs&& other) noexcept;
  Wcs& operator=(Wcs&& other) noexcept;
  Wcs(const Wcs&) = delete;
  Wcs& operator=(const Wcs&) = delete;
  ~Wcs();

  /// Independent copy (re-parsed from the same header text; lookup tables
  /// are shared, read-only, and -TAB arrays copied).
  Wcs clone() const;

  /// What was repaired or ignored while reading the header, one line each,
  /// in astropy's sense of a FITSFixedWarning (e.g. "card 117 (SKEW): ...;
  /// left out (not a WCS keyword)"). Empty for a clean header. Hosts log
  /// them.
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

  /// Pixel -> sky for n points. x, y are pixel coordinates along the two
  /// celestial pixel axes in the `origin` convention (default FITS,
  /// 1-based); ra, dec receive degrees, RA in [0, 360). Any further axes
  /// (e.g. spectral) are held at their reference pixel. Outputs of failed
  /// points are NaN; `status` (optional, n entries) receives a
  /// WcsPointStatus per point. Returns the number of failed points. Never
  /// throws for bad points; throws std::invalid_argument for null buffers
  /// with n > 0 and WcsError only if WCSLIB reports an internal failure.
  size_t pix2sky(const double* x, const double* y, size_t n, double* ra, double* dec,
                 int32_t* status = nullptr, Origin origin = Origin::One);

  /// Sky -> pixel for n points (degrees in, pixels out in the `origin`
  /// convention). Distortions are inverted iteratively: by WCSLIB, and for
  /// lookup-table distortions as astropy's all_world2pix does, to a last
  /// correction below 1e-10 pixel (astropy's default tolerance: 1e-4); a
  /// point that does not converge in 50 steps is kWcsInvalid. Any further
  /// axes are held at the world coordinates of the reference pixel. Same
  /// failure semantics as pix2sky.
  size_t sky2pix(const double* ra, const double* dec, size_t n, double* x, double* y,
                 int32_t* status = nullptr, Origin origin = Origin::One);

  /// Single-point convenience forms; return {NaN, NaN} on failure.
  std::array<double, 2> pix2sky(double x, double y, Origin origin = Origin::One);
  std::array<double, 2> sky2pix(double ra, double dec, Origin origin = Origin::One);

  /// Number of axes of the WCS (2 for images, more for cubes).
  int naxis() const;
  /// 0-based indices of the longitude and latitude axes.
  int lng_axis() const;
  int lat_axis() const;
  /// CTYPE of axis i (0-based), e.g. "RA---TAN-SIP".
  std::string ctype(int axis) const;
  /// Projection code, e.g. "TAN", "ZPN", "HPX". TPV/TNX/ZPX headers report
  /// the underlying projection (TAN or ZPN), as WCSLIB translates them.
  std::string projection() const;
  /// Celestial reference frame (RADESYS, e.g. "ICRS", "FK5"); empty if none.
  std::string radesys() const;
  /// Reference pixel (FITS 1-based) and reference world coordinates (deg)
  /// of the celestial axes.
  std::array<double, 2> crpix() const;
  std::array<double, 2> crval() const;
  /// Linear part of the celestial transform in degrees per pixel, row-major
  /// {CD1_1, CD1_2, CD2_1, CD2_2} (CDELT folded into PC if the header used
  /// PC/CDELT or CROTA). Excludes distortions.
  std::array<double, 4> cd() const;
  /// Mean pixel scale at the reference point, arcsec/pixel:
  /// 3600 * sqrt(|det CD|). Excludes distortions.
  double pixel_scale_arcsec() const;
  /// True if the WCS has a prior (e.g. SIP, lookup tables) or sequent
  /// (e.g. TPV, TNX) distortion.
  bool has_distortion() const;
  /// True if the WCS has lookup-table distortions (CPDISj / D2IMDISj).
  bool has_lookup_tables() const noexcept { return pixel_ != nullptr; }

  /// The WCS as FITS header cards (80-character records, no END), written
  /// by WCSLIB's wcshdo with full precision; distortions are included
  /// (SIP and TPV in their native keywords). Throws WcsError, also for a
  /// WCS with lookup-table distortions, which header cards cannot hold.
  std::string to_header() const;

  /// Header for a stamp cut out of this image and optionally resampled.
  /// The stamp's pixel grid starts at the lower-left edge of original pixel
  /// (x0, y0) (FITS 1-based) and each stamp pixel spans `scale` original
  /// pixels per axis (1 = plain cutout, 2 = 2x2 binning, 0.5 = 2x
  /// upsampling): stamp pixel u has its centre at original coordinate
  /// x0 - 0.5 + (u - 0.5) * scale (likewise for y). For a plain cutout
  /// this is CRPIX -= x0 - 1, like astropy's Cutout2D. Distortion
  /// polynomials given in pixel units (SIP) are rescaled to match.
  /// Throws std::invalid_argument for scale <= 0 or non-finite arguments,
  /// WcsError if WCSLIB rejects the result or the WCS has lookup-table
  /// distortions (see to_header).
  std::string cutout_header(double x0, double y0, double scale = 1.0) const;

  /// The header text this WCS was parsed from.
  const std::string& source_header() const noexcept { return header_; }

 private:
  struct FileData;  // what from_file() read beyond the header
  enum class Direction { PixToSky, SkyToPix };

  Wcs() = default;
  // `file`, when given, is read for -TAB arrays, which are recorded in
  // `record`; otherwise they are taken from `data` (clones).
  Wcs(const std::string& header, char alt, std::shared_ptr<const FileData> data, FitsFile* file,
      FileData* record);
  // Sets up what follows the choice of wcs_: the pixel distortion for
  // lookup tables, the world coordinates of -TAB axes at the reference.
  void finish_setup(const detail::LookupDeclaration& lookup,
                    std::optional<detail::SipPolynomial> sip);
  void free_all() noexcept;
  wcsprm* w() const;
  // The batched transform behind pix2sky and sky2pix.
  size_t transform(Direction dir, const double* in_lng, const double* in_lat, size_t n,
                   double* out_lng, double* out_lat, int32_t* status, Origin origin);

  std::string header_;
  char alt_ = ' ';
  int nwcs_ = 0;
  wcsprm* all_ = nullptr;  // array from wcspih, freed with wcsvfree
  wcsprm* wcs_ = nullptr;  // the chosen element of all_
  std::shared_ptr<const FileData> file_data_;
  // Lookup tables and SIP, applied around WCSLIB when the header has
  // lookup-table distortions (WCSLIB then holds no prior distortion).
  std::shared_ptr<const detail::PixelDistortion> pixel_;
  // World coordinates that sky2pix gives the non-celestial axes: CRVAL,
  // or for -TAB axes the world coordinate of the reference pixel.
  std::vector<double> ref_world_;
  std::vector<std::string> warnings_;
};

}  // namespace gml::fits
