// What lookup-table distortions need from their file: the declared
// WCSDVARR / D2IMARR extensions, checked before use; their axis mapping;
// the pre-2012 AXISCORR convention; and -TAB tables. The files are built
// from the real HST ACS header and tables of data/wcs/dist_lookup.fits.gz.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fits_io/wcs.h"
#include "test_util.h"
#include "wcs_test_headers.h"

namespace gml::fits {
namespace {

using test::Contains;
using test::data_path;
using test::keyword_of;
using test::pad_card;
using test::TestImage;

const std::string kAcs = data_path("wcs/dist_lookup.fits.gz");

std::vector<std::string> acs_cards() {
  FitsFile f = FitsFile::open(kAcs);
  f.move_to(2);
  return test::split_cards(read_header_string(f));
}

std::vector<TestImage> acs_tables() {
  return {test::image_of(kAcs, "D2IMARR", 1), test::image_of(kAcs, "WCSDVARR", 1),
          test::image_of(kAcs, "WCSDVARR", 2)};
}

// Replaces the first card with keyword `key` (and value text `match` if
// given) by `card`, or removes it if `card` is empty.
void edit(std::vector<std::string>& cards, const std::string& key, const std::string& match,
          const std::string& card) {
  for (size_t i = 0; i < cards.size(); ++i) {
    if (keyword_of(cards[i]) == key && cards[i].find(match) != std::string::npos) {
      if (card.empty()) {
        cards.erase(cards.begin() + static_cast<long>(i));
      } else {
        cards[i] = pad_card(card);
      }
      return;
    }
  }
  throw std::runtime_error("edit: no card " + key + " " + match);
}

std::string write(test::ScratchDir& dir, const std::string& name,
                  const std::vector<std::string>& cards, const std::vector<TestImage>& images) {
  const std::string path = dir.file(name);
  test::write_wcs_file(path, cards, images);
  return path;
}

Wcs open_wcs(const std::string& path) {
  FitsFile f = FitsFile::open(path);
  f.move_to(2);
  Wcs w = Wcs::from_file(f);
  EXPECT_EQ(f.current_hdu(), 2);  // the tables were read, the HDU restored
  return w;
}

// Expects opening `path` to fail with a message holding every `parts`.
void expect_refused(const std::string& path, const std::vector<std::string>& parts) {
  try {
    open_wcs(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const WcsError& e) {
    for (const auto& p : parts) EXPECT_TRUE(Contains(e.what(), p)) << e.what();
  }
}

double max_sep(Wcs& a, Wcs& b) {
  double worst = 0;
  for (double x = -20; x <= 4120; x += 257.3) {
    for (double y = -10; y <= 2060; y += 129.7) {
      const auto p = a.pix2sky(x, y), q = b.pix2sky(x, y);
      worst = std::max(worst, test::sep_mas(p[0], p[1], q[0], q[1]));
    }
  }
  return worst;
}

TEST(WcsLookupFiles, RebuiltFileMatchesTheOriginal) {
  test::ScratchDir dir;
  Wcs rebuilt = open_wcs(write(dir, "acs.fits", acs_cards(), acs_tables()));
  FitsFile f = FitsFile::open(kAcs);
  f.move_to(2);
  Wcs original = Wcs::from_file(f);
  EXPECT_EQ(max_sep(rebuilt, original), 0.0);
}

TEST(WcsLookupFiles, MissingOrMalformedExtensionsAreErrors) {
  test::ScratchDir dir;
  auto tables = acs_tables();
  // The second WCSDVARR table is missing.
  expect_refused(write(dir, "missing.fits", acs_cards(), {tables[0], tables[1]}),
                 {"CPDIS2 = 'Lookup'", "WCSDVARR", "EXTVER 2", "does not have"});
  // EXTVER pointing elsewhere.
  auto cards = acs_cards();
  edit(cards, "DP1", "EXTVER", "DP1     = 'EXTVER: 7'");
  expect_refused(write(dir, "extver.fits", cards, tables), {"CPDIS1 = 'Lookup'", "EXTVER 7"});
  // A non-finite correction.
  auto nan_tables = tables;
  nan_tables[1].values[100] = std::numeric_limits<float>::quiet_NaN();
  expect_refused(write(dir, "nan.fits", acs_cards(), nan_tables),
                 {"CPDIS1 = 'Lookup'", "value 36,2 is not finite"});
  // CDELT 0 in the table's own WCS.
  auto cdelt_tables = tables;
  cdelt_tables[2].cards = {"CRPIX1  = 0.0", "CRPIX2  = 0.0", "CDELT1  = 0.0", "CDELT2  = 64.0"};
  expect_refused(write(dir, "cdelt.fits", acs_cards(), cdelt_tables),
                 {"CPDIS2 = 'Lookup'", "CDELT1 is 0"});
  // A 3-D table.
  auto cube = tables;
  cube[1].naxes = {65, 11, 3};
  expect_refused(write(dir, "cube.fits", acs_cards(), cube), {"3 axes, expected 2"});
  // A table larger than any real one: refused before its data is read.
  auto big = tables;
  big[1].naxes = {2049, 2049};
  big[1].values.assign(2049 * 2049, 0.0f);
  expect_refused(write(dir, "big.fits", acs_cards(), big), {"at most 4194304"});
}

TEST(WcsLookupFiles, MalformedRecordsAreErrors) {
  test::ScratchDir dir;
  const auto tables = acs_tables();
  struct Case {
    const char* key;
    const char* match;
    const char* card;  // replacement, "" to remove
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"DP1", "NAXES", "DP1     = 'NAXES: 3'", {"CPDIS1 = 'Lookup'", "NAXES: 3", "3-D"}},
      {"DP1", "AXIS.1", "", {"CPDIS1 = 'Lookup' needs the record DP1 = 'AXIS.1: n'"}},
      {"DP2", "AXIS.2", "DP2     = 'AXIS.2: 1'", {"map both table axes to the same pixel axis"}},
      {"DP1", "EXTVER", "DP1     = 'EXTVER: one'", {"DP1 = 'EXTVER: one'", "integer"}},
      {"CPDIS2", "", "CQDIS2  = 'Lookup'", {"CQDIS2 = 'Lookup'", "sequent"}},
      {"D2IMDIS1", "", "D2IMDIS1= 'Polynomial'", {"D2IMDIS1 = 'Polynomial'", "only 'Lookup'"}},
      {"CPDIS1", "", "CPDIS1  = 'Polynomial'", {"CPDIS1 = 'Polynomial'", "beside a 'Lookup'"}},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.card);
    auto cards = acs_cards();
    edit(cards, c.key, c.match, c.card);
    expect_refused(write(dir, "rec" + std::to_string(n++) + ".fits", cards, tables), c.parts);
  }
}

// A table given with its axes exchanged (DPj.AXIS.1 = 2) is the same
// distortion once transposed.
TEST(WcsLookupFiles, ExchangedTableAxesAreTransposed) {
  test::ScratchDir dir;
  auto tables = acs_tables();
  TestImage& t = tables[1];
  const int64_t nx = t.naxes[0], ny = t.naxes[1];
  std::vector<float> transposed(t.values.size());
  for (int64_t j = 0; j < ny; ++j) {
    for (int64_t i = 0; i < nx; ++i) transposed[i * ny + j] = t.values[j * nx + i];
  }
  t.values = transposed;
  t.naxes = {ny, nx};
  auto cards = acs_cards();
  edit(cards, "DP1", "AXIS.1", "DP1     = 'AXIS.1: 2'");
  edit(cards, "DP1", "AXIS.2", "DP1     = 'AXIS.2: 1'");
  Wcs swapped = open_wcs(write(dir, "swapped.fits", cards, tables));
  Wcs original = open_wcs(write(dir, "original.fits", acs_cards(), acs_tables()));
  EXPECT_LE(max_sep(swapped, original), 1e-9);
  // Not transposing would be wrong by milliarcseconds.
  edit(cards, "DP1", "AXIS.1", "DP1     = 'AXIS.1: 1'");
  edit(cards, "DP1", "AXIS.2", "DP1     = 'AXIS.2: 2'");
  Wcs wrong = open_wcs(write(dir, "wrong.fits", cards, tables));
  EXPECT_GT(max_sep(wrong, original), 0.5);
}

// The pre-2012 convention: AXISCORR names the axis of the one D2IMARR
// table, stored 1-D.
TEST(WcsLookupFiles, AxiscorrConvention) {
  test::ScratchDir dir;
  auto tables = acs_tables();
  tables[0].naxes = {tables[0].naxes[0]};
  tables[0].cards = {"CRPIX1  = 0.0", "CRVAL1  = 0.0", "CDELT1  = 1.0"};
  auto cards = test::split_cards(test::without_lookup_cards(test::join_cards(acs_cards())));
  // Keep the CPDIS tables, replace D2IMDIS1 by AXISCORR.
  for (const auto& c : acs_cards()) {
    const std::string k = keyword_of(c);
    if (k.rfind("CPDIS", 0) == 0 || k == "DP1" || k == "DP2") cards.push_back(c);
  }
  cards.push_back(pad_card("AXISCORR=                    1"));
  Wcs old_style = open_wcs(write(dir, "axiscorr.fits", cards, tables));
  Wcs original = open_wcs(write(dir, "original.fits", acs_cards(), acs_tables()));
  EXPECT_LE(max_sep(old_style, original), 1e-9);
  bool warned = false;
  for (const auto& w : old_style.warnings()) warned = warned || Contains(w, "AXISCORR");
  EXPECT_TRUE(warned);
  // Without the D2IMARR table astropy skips the correction; so do we, with
  // a warning, and the result differs from the corrected one.
  Wcs no_table = open_wcs(write(dir, "no_table.fits", cards, {tables[1], tables[2]}));
  bool skipped = false;
  for (const auto& w : no_table.warnings()) {
    skipped = skipped || Contains(w, "no D2IMARR extension");
  }
  EXPECT_TRUE(skipped);
  EXPECT_GT(max_sep(no_table, original), 0.05);
}

// The -TAB arrays are looked up by EXTNAME and column; a file without
// them is refused by name.
TEST(WcsTabFiles, MissingTableIsNamed) {
  test::ScratchDir dir;
  FitsFile f = FitsFile::open(data_path("wcs/tab-time-last-axis.fits"));
  const auto cards = test::split_cards(read_header_string(f));
  try {
    open_wcs(write(dir, "tab.fits", cards, {}));
    ADD_FAILURE() << "accepted without its table";
  } catch (const WcsError& e) {
    EXPECT_TRUE(Contains(e.what(), "CTYPE3 = 'TIME-TAB'")) << e.what();
    EXPECT_TRUE(Contains(e.what(), "binary table 'WCS-TABLE'")) << e.what();
  }
}

// Which HDU's WCS a caller means (Wcs::from_hdu, behind gml_wcs_open).
TEST(WcsFromHdu, DefaultSkipsAnEmptyPrimaryAndIndicesCountFromZero) {
  test::ScratchDir dir;
  const std::vector<std::string> cards = {
      pad_card("CTYPE1  = 'RA---TAN'"), pad_card("CTYPE2  = 'DEC--TAN'"),
      pad_card("CRVAL1  = 150.0"),      pad_card("CRVAL2  = 2.0"),
      pad_card("CRPIX1  = 1.0"),        pad_card("CRPIX2  = 1.0"),
      pad_card("CDELT1  = -0.001"),     pad_card("CDELT2  = 0.001")};
  const std::string path = write(dir, "mef.fits", cards, {});

  FitsFile f = FitsFile::open(path);
  Wcs by_default = Wcs::from_hdu(f, "");
  EXPECT_EQ(f.current_hdu(), 2);  // the first extension, behind the empty primary
  FitsFile g = FitsFile::open(path);
  Wcs by_index = Wcs::from_hdu(g, "1");
  EXPECT_EQ(by_default.crval(), by_index.crval());
  EXPECT_EQ(by_default.pix2sky(10.0, 20.0), by_index.pix2sky(10.0, 20.0));
  EXPECT_THROW(Wcs::from_hdu(g, "0"), WcsError);  // the empty primary itself
  EXPECT_THROW(Wcs::from_hdu(g, "1234567"), std::invalid_argument);
  EXPECT_THROW(Wcs::from_hdu(g, "NO_SUCH_HDU"), FitsError);

  // A catalog: an empty primary and a table, no WCS anywhere. The search
  // reports the primary's failure and leaves the file where it started.
  FitsFile c = FitsFile::open(test::data_path("sdss/gst_tests_small.fits"));
  EXPECT_THROW(Wcs::from_hdu(c, ""), WcsError);
  EXPECT_EQ(c.current_hdu(), 1);
}

}  // namespace
}  // namespace gml::fits
