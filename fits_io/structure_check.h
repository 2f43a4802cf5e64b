// Strict structural validation of FITS files (FITS Standard 4.0), run on
// the raw bytes before CFITSIO parses them. CFITSIO 4.2 trusts headers in
// places (fixed-size copies of keyword values, table column parsing), so a
// malformed file can abort or corrupt the host process inside the library.
// This check walks the file HDU by HDU and accepts only what the standard
// allows on the paths CFITSIO's open, HDU scan and table set-up take:
//  - headers of whole 2880-byte blocks of 80-byte printable-ASCII cards,
//    legal keyword names, well-formed values, an END card, blank fill;
//  - the mandatory keywords, in order, with legal values (SIMPLE/XTENSION,
//    BITPIX, NAXIS <= 999, NAXISn >= 0, PCOUNT/GCOUNT, TFIELDS <= 999) and
//    none repeated later in the header;
//  - for tables: TFORMn (and TBCOLn) for every column with valid syntax,
//    widths summing to NAXIS1, TDIMn within the repeat count, column
//    keywords indexed 1..TFIELDS, each at most once;
//  - data units whose size does not overflow and which lie inside the file;
//  - after the last HDU, at most blank or zero filler records.
// Errors are FitsError naming the HDU, the card and the problem.
#pragma once

#include <cstddef>
#include <string>

namespace gml::fits {

/// Validates a FITS file held in memory. `label` names it in errors.
/// Throws FitsError describing the first violation.
void check_fits_structure(const void* data, size_t size, const std::string& label);

/// Validates the file at `path` (a plain name, no extended syntax); gzip
/// files are decompressed on the fly, data units are skipped, so memory use
/// stays bounded whatever the file size. Throws FitsError.
void check_fits_file_structure(const std::string& path);

namespace detail {

/// The local file that CFITSIO would open for `path`, which may use the
/// extended filename syntax ("file://cat.fits[1][col RA]" gives
/// "cat.fits"). Like CFITSIO, tries the compressed names cat.fits.gz,
/// .Z, .z and .zip when the name itself does not exist. Returns an empty
/// string when nothing exists (CFITSIO will then report the missing file)
/// and throws FitsError for inputs that are not local files (stdin, http://,
/// ftp://, mem:// and other drivers), which cannot be validated first.
std::string fits_base_file(const std::string& path);

}  // namespace detail
}  // namespace gml::fits
