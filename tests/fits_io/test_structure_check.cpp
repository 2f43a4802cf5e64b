// The FITS structure check that runs before CFITSIO: every real file passes,
// malformed ones (including the fuzzer's reproducers of CFITSIO and WCSLIB
// crashes) give a FitsError/WcsError naming the HDU, card and problem.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "fits_io/card.h"
#include "fits_io/fits_file.h"
#include "fits_io/structure_check.h"
#include "fits_io/table.h"
#include "fits_io/wcs.h"
#include "test_util.h"

namespace gml::fits {
namespace {

using test::Contains;
namespace fs = std::filesystem;

std::string card(const std::string& text) {
  std::string c = text;
  c.resize(80, ' ');
  return c;
}

// Header cards + END, padded to a whole block, then `data_bytes` zero
// bytes padded to a whole block.
std::string hdu(const std::vector<std::string>& cards, size_t data_bytes = 0) {
  std::string h;
  for (const auto& c : cards) h += card(c);
  h += card("END");
  h.resize((h.size() + 2879) / 2880 * 2880, ' ');
  h.append((data_bytes + 2879) / 2880 * 2880, '\0');
  return h;
}

std::string empty_primary() {
  return hdu({"SIMPLE  =                    T", "BITPIX  =                    8",
              "NAXIS   =                    0", "EXTEND  =                    T"});
}

std::vector<std::string> bintable(const std::string& tform1, long naxis1) {
  return {"XTENSION= 'BINTABLE'",           "BITPIX  =                    8",
          "NAXIS   =                    2", "NAXIS1  = " + std::to_string(naxis1),
          "NAXIS2  =                    3", "PCOUNT  =                    0",
          "GCOUNT  =                    1", "TFIELDS =                    2",
          "TTYPE1  = 'A       '",           "TFORM1  = '" + tform1 + "'",
          "TTYPE2  = 'B       '",           "TFORM2  = 'J       '"};
}

// Runs the check on `bytes`; returns the error message ("" if it passed).
std::string check(const std::string& bytes, int* status = nullptr) {
  try {
    check_fits_structure(bytes.data(), bytes.size(), "t.fits");
  } catch (const FitsError& e) {
    if (status) *status = e.status();
    return e.what();
  }
  return {};
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string p = e.path().string();
    auto ends = [&](const std::string& s) {
      return p.size() >= s.size() && p.compare(p.size() - s.size(), s.size(), s) == 0;
    };
    if (e.is_regular_file() && (ends(".fits") || ends(".fits.gz"))) out.push_back(p);
  }
  return out;
}

TEST(StructureCheck, EveryRealFilePasses) {
  const auto files = files_under(GML_TEST_DATA);
  ASSERT_GE(files.size(), 17u);
  // Among them a DSS plate file whose SKEW card holds two numbers: astropy
  // reads it with a warning, and so does this check (CFITSIO never reads
  // SKEW by itself).
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    EXPECT_NO_THROW(check_fits_file_structure(path));
    EXPECT_NO_THROW(FitsFile::open(path));
  }
  for (const auto& path : files_under(std::string(GML_TEST_DATA) + "/../tests/fuzz/corpus/table")) {
    SCOPED_TRACE(path);
    EXPECT_NO_THROW(check_fits_file_structure(path));
  }
}

TEST(StructureCheck, ValidTableFilePasses) {
  const std::string f = empty_primary() + hdu(bintable("E", 8), 24);
  EXPECT_EQ(check(f), "");
  FitsFile file = FitsFile::open_memory(f.data(), f.size(), "mem");
  EXPECT_EQ(file.num_hdus(), 2);
}

TEST(StructureCheck, TruncatedFilesAreRejected) {
  const std::string f = empty_primary() + hdu(bintable("E", 8), 24);
  int status = 0;
  EXPECT_TRUE(Contains(check(f.substr(0, 2880 + 1000), &status), "ends inside the header"));
  EXPECT_EQ(status, NO_END);
  EXPECT_TRUE(Contains(check(f.substr(0, 2 * 2880)), "data unit needs 2880 bytes"));
  EXPECT_TRUE(Contains(check(""), "empty"));
  EXPECT_TRUE(Contains(check(f.substr(0, 100)), "ends inside the header"));
  // A whole extra record of garbage after the last HDU.
  EXPECT_TRUE(Contains(check(f + std::string(2880, 'x')), "neither an XTENSION"));
  EXPECT_EQ(check(f + std::string(2880, '\0')), "");  // zero filler is fine
}

TEST(StructureCheck, MissingEndIsRejected) {
  std::string f = empty_primary();
  std::memcpy(&f[4 * 80], "   ", 3);  // blank out END
  int status = 0;
  const std::string msg = check(f, &status);
  EXPECT_TRUE(Contains(msg, "HDU 1"));
  EXPECT_TRUE(Contains(msg, "no END card"));
  EXPECT_EQ(status, NO_END);
}

TEST(StructureCheck, BadCharactersNameHduAndCard) {
  std::string f = empty_primary() + hdu(bintable("E", 8), 24);
  f[2880 + 8 * 80 + 15] = '\x85';  // inside TTYPE1's value
  int status = 0;
  const std::string msg = check(f, &status);
  EXPECT_TRUE(Contains(msg, "HDU 2, card 9"));
  EXPECT_TRUE(Contains(msg, "not printable ASCII (code 133)"));
  EXPECT_EQ(status, BAD_KEYCHAR);
  f = empty_primary();
  std::memcpy(&f[3 * 80], "EXT ND", 6);
  EXPECT_TRUE(Contains(check(f), "left-justified"));
  f = empty_primary();
  std::memcpy(&f[3 * 80], "exTEND", 6);
  EXPECT_TRUE(Contains(check(f), "illegal character 'e'"));
}

TEST(StructureCheck, BadValuesAreRejected) {
  auto with = [](const std::string& c) {
    return check(hdu({"SIMPLE  =                    T", "BITPIX  =                    8",
                      "NAXIS   =                    0", c}));
  };
  // Keywords CFITSIO reads when it opens an HDU must parse.
  EXPECT_TRUE(Contains(with("BSCALE  = 'one'"), "must be a number"));
  EXPECT_TRUE(Contains(with("BZERO   = 1.5.3"), "not a FITS string, logical or number"));
  EXPECT_TRUE(Contains(with("EXTNAME = 'SCI"), "unterminated string"));
  EXPECT_TRUE(Contains(with("TTYPE1  = 'A' junk"), "unexpected text after the value"));
  EXPECT_TRUE(Contains(with("ZCMPTYPE=R 'RICE_1'"), "must be '= '"));
  EXPECT_TRUE(Contains(with("END     x"), "END card is not blank"));
  // Others are read only on request, where the reader reports them (the WCS
  // layer refuses a malformed WCS keyword, test_wcs_keywords.cpp); astropy
  // reads such files with a warning.
  EXPECT_EQ(with("OBJECT  = 'M31"), "");
  EXPECT_EQ(with("OBJECT  = 'M31' junk"), "");
  EXPECT_EQ(with("EXPTIME = 1.5.3"), "");
  EXPECT_EQ(with("CTYPE1  =R 'A---TNX'"), "");
  EXPECT_EQ(with("EXPTIME =               1.5D+3 / [s] exposure"), "");
  EXPECT_EQ(with("Z       =           (1.0, -2)"), "");
  EXPECT_EQ(with("HISTORY ' anything goes here"), "");
  EXPECT_EQ(with("HIERARCH ESO DET CHIP = 'ccd1' / comment"), "");
}

TEST(StructureCheck, SimpleFalseIsReadAsTheStructureAllows) {
  // SIMPLE = F: "does not conform somewhere"; CFITSIO and astropy read it.
  EXPECT_EQ(check(hdu({"SIMPLE  =                    F", "BITPIX  =                    8",
                       "NAXIS   =                    0"})),
            "");
  int status = 0;
  EXPECT_TRUE(
      Contains(check(hdu({"SIMPLE  =                    1", "BITPIX  =                    8",
                          "NAXIS   =                    0"}),
                     &status),
               "SIMPLE must be T or F"));
  EXPECT_EQ(status, BAD_SIMPLE);
}

TEST(StructureCheck, MandatoryKeywordsInOrder) {
  int status = 0;
  std::string msg = check(hdu({"BITPIX  =                    8", "SIMPLE  =                    T",
                               "NAXIS   =                    0"}),
                          &status);
  EXPECT_EQ(status, NO_SIMPLE);
  EXPECT_TRUE(Contains(msg, "HDU 1, card 1 (BITPIX)"));
  auto tab = bintable("E", 8);
  std::swap(tab[5], tab[6]);  // GCOUNT before PCOUNT
  EXPECT_TRUE(Contains(check(empty_primary() + hdu(tab, 24), &status), "PCOUNT expected"));
  tab = bintable("E", 8);
  tab.push_back("NAXIS2  =                    5");
  EXPECT_TRUE(Contains(check(empty_primary() + hdu(tab, 24)), "repeated or out of place"));
  tab = bintable("E", 8);
  tab[0] = "XTENSION= 'FOREIGN '";
  EXPECT_TRUE(Contains(check(empty_primary() + hdu(tab, 24)), "unsupported extension"));
}

TEST(StructureCheck, HugeNaxisAndSizesAreRejected) {
  int status = 0;
  std::string msg = check(hdu({"SIMPLE  =                    T", "BITPIX  =                    8",
                               "NAXIS   =                 1000"}),
                          &status);
  EXPECT_EQ(status, BAD_NAXIS);
  EXPECT_TRUE(Contains(msg, "HDU 1, card 3 (NAXIS)"));
  msg = check(hdu({"SIMPLE  =                    T", "BITPIX  =                  -64",
                   "NAXIS   =                    2", "NAXIS1  =  4000000000000",
                   "NAXIS2  =  4000000000000"}));
  EXPECT_TRUE(Contains(msg, "overflows 64 bits"));
  msg = check(hdu({"SIMPLE  =                    T", "BITPIX  =                    8",
                   "NAXIS   =                    1", "NAXIS1  =                   -5"}));
  EXPECT_TRUE(Contains(msg, "NAXIS1"));
  msg = check(hdu({"SIMPLE  =                    T", "BITPIX  =                    8",
                   "NAXIS   =                    1", "NAXIS1  = 99999999999999999999"}));
  EXPECT_TRUE(Contains(msg, "must be an integer"));
}

TEST(StructureCheck, DataBeyondEndOfFileIsRejected) {
  const std::string f = hdu({"SIMPLE  =                    T", "BITPIX  =                   16",
                             "NAXIS   =                    2", "NAXIS1  =                 1000",
                             "NAXIS2  =                 1000"},
                            2880);
  int status = 0;
  const std::string msg = check(f, &status);
  EXPECT_EQ(status, READ_ERROR);
  EXPECT_TRUE(Contains(msg, "HDU 1: the data unit needs 2001600 bytes"));
  EXPECT_TRUE(Contains(msg, "only 2880 left"));
}

TEST(StructureCheck, BadTableColumnsAreRejected) {
  auto msg = [](const std::vector<std::string>& cards, size_t data = 24) {
    int status = 0;
    std::string m = check(empty_primary() + hdu(cards, data), &status);
    return m + " [status " + std::to_string(status) + "]";
  };
  EXPECT_TRUE(Contains(msg(bintable("Z", 8)), "column 1: bad TFORM 'Z': unknown data type 'Z'"));
  EXPECT_TRUE(Contains(msg(bintable("Z", 8)), "[status 261]"));
  EXPECT_TRUE(Contains(msg(bintable("3E", 8)), "sum to 16 bytes but NAXIS1 is 8"));
  EXPECT_TRUE(Contains(msg(bintable("99999999999999999E", 8)), "repeat count is too large"));
  EXPECT_TRUE(Contains(msg(bintable("2PE(5)", 8)), "must be 0 or 1"));
  EXPECT_EQ(check(empty_primary() + hdu(bintable("1PE(5)", 12), 36)), "");
  EXPECT_EQ(check(empty_primary() + hdu(bintable("16X", 6), 18)), "");
  auto tab = bintable("4E", 20);
  tab.push_back("TDIM1   = '(2,3)'");
  EXPECT_TRUE(Contains(msg(tab, 60), "holds more elements than the repeat count 4"));
  tab.back() = "TDIM1   = '(2,x)'";
  EXPECT_TRUE(Contains(msg(tab, 60), "bad TDIM"));
  tab.back() = "TDIM1   = '(2,2)'";
  EXPECT_EQ(check(empty_primary() + hdu(tab, 60)), "");
  tab = bintable("E", 8);
  tab.push_back("TTYPE1  = 'again'");
  EXPECT_TRUE(Contains(msg(tab), "column keyword repeated"));
  tab = bintable("E", 8);
  tab.push_back("TFORM3  = 'E'");
  EXPECT_TRUE(Contains(msg(tab), "index out of range"));
  tab = bintable("E", 8);
  tab.push_back("TFORM01 = 'E'");
  EXPECT_TRUE(Contains(msg(tab), "index out of range"));
  tab = bintable("E", 8);
  tab.erase(tab.begin() + 11);  // TFORM2
  EXPECT_TRUE(Contains(msg(tab), "column 2 has no TFORM2"));

  std::vector<std::string> ascii = {"XTENSION= 'TABLE   '",
                                    "BITPIX  =                    8",
                                    "NAXIS   =                    2",
                                    "NAXIS1  =                   10",
                                    "NAXIS2  =                    2",
                                    "PCOUNT  =                    0",
                                    "GCOUNT  =                    1",
                                    "TFIELDS =                    1",
                                    "TFORM1  = 'F10.3'",
                                    "TBCOL1  =                    1"};
  EXPECT_EQ(check(empty_primary() + hdu(ascii, 20)), "");
  ascii[9] = "TBCOL1  =                    2";
  EXPECT_TRUE(Contains(msg(ascii, 20), "runs past the row width"));
  ascii[9] = "TBCOL1  =                    1";
  ascii[8] = "TFORM1  = 'F10'";
  EXPECT_TRUE(Contains(msg(ascii, 20), "bad TFORM 'F10'"));
}

TEST(StructureCheck, FuzzerReproducersAreRejectedCleanly) {
  const std::string dir = std::string(GML_TEST_DATA) + "/../tests/fuzz/findings/";
  for (const char* name :
       {"cfitsio_strcpy_overflow_num_hdus.fits", "cfitsio_ffgtbp_abort_table_header.fits"}) {
    SCOPED_TRACE(name);
    auto bytes = test::read_bytes(dir + name);
    bytes.resize((bytes.size() + 2879) / 2880 * 2880, '\0');  // as the fuzz harness does
    try {
      FitsFile::open_memory(bytes.data(), bytes.size(), name);
      FAIL() << "accepted";
    } catch (const FitsError& e) {
      EXPECT_TRUE(Contains(e.what(), "invalid FITS file"));
    }
    EXPECT_THROW(FitsFile::open(dir + name), FitsError);
  }
  for (const char* name :
       {"wcslib_linset_leak.hdr", "wcslib_dpfill_tnx_overflow.hdr",
        "wcslib_wcspih_wat_sequence_overflow.hdr", "wcslib_dpfill_wat_mangled_key_overflow.hdr",
        "wcslib_wcspih_dss_value_type_null_deref.hdr"}) {
    SCOPED_TRACE(name);
    const auto hdr = test::read_bytes(dir + name);
    EXPECT_THROW(Wcs(std::string(hdr.begin(), hdr.end())), WcsError);
  }
}

TEST(StructureCheck, GzipFilesAreCheckedWhileStreaming) {
  test::ScratchDir dir;
  auto write_gz = [&](const std::string& name, const std::string& bytes) {
    const std::string path = dir.file(name);
    gzFile gz = gzopen(path.c_str(), "wb");
    gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(gz);
    return path;
  };
  const std::string good = empty_primary() + hdu(bintable("E", 8), 24);
  FitsFile f = FitsFile::open(write_gz("good.fits.gz", good) + "[1]");
  EXPECT_EQ(f.hdu_type(), HduType::BinaryTable);
  std::string bad = good;
  bad[2880 + 9 * 80 + 12] = '\x01';
  try {
    FitsFile::open(write_gz("bad.fits.gz", bad));
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_TRUE(Contains(e.what(), "bad.fits.gz"));
    EXPECT_TRUE(Contains(e.what(), "HDU 2, card 10"));
  }
  // A gzip stream cut short, and gzip data with no name hint.
  const auto gz = test::read_bytes(write_gz("cut.fits.gz", good));
  test::write_bytes(dir.file("cut.fits"), gz.data(), gz.size() / 2);
  EXPECT_THROW(FitsFile::open(dir.file("cut.fits")), FitsError);
  // CFITSIO opens "x.fits" as "x.fits.gz" when only the latter exists.
  EXPECT_EQ(detail::fits_base_file(dir.file("good.fits")), dir.file("good.fits.gz"));
}

TEST(StructureCheck, ExtendedFilenamesValidateTheBaseFile) {
  const std::string cat = test::data_path("sdss/gst_tests_small.fits");
  EXPECT_EQ(detail::fits_base_file(cat + "[GSTTEST][col RA;DEC]"), cat);
  EXPECT_EQ(detail::fits_base_file("file://" + cat + "[1]"), cat);
  EXPECT_EQ(detail::fits_base_file(cat + "+1"), cat);
  EXPECT_EQ(detail::fits_base_file("/no/such/file.fits[1]"), "");
  EXPECT_THROW(detail::fits_base_file("http://example.org/x.fits"), FitsError);
  EXPECT_THROW(detail::fits_base_file("-"), FitsError);
  FitsFile f = FitsFile::open(cat + "[GSTTEST][col RA;DEC][#row <= 3]");
  EXPECT_EQ(Table(f).nrows(), 3);
}

TEST(StructureCheck, CardParser) {
  detail::Card c;
  EXPECT_EQ(detail::parse_card(card("NAXIS1  =                 -123 / c").c_str(), c), "");
  EXPECT_EQ(c.kind, detail::ValueKind::Integer);
  EXPECT_EQ(c.integer, -123);
  EXPECT_EQ(detail::parse_card(card("OBJECT  = 'O''Brien  '").c_str(), c), "");
  EXPECT_EQ(c.text, "O'Brien");
  EXPECT_EQ(detail::parse_card(card("BIG     = 9223372036854775808").c_str(), c), "");
  EXPECT_TRUE(c.overflow);
  EXPECT_EQ(detail::keyword_index("TFORM12", "TFORM"), 12);
  EXPECT_EQ(detail::keyword_index("TFORM012", "TFORM"), -1);
  EXPECT_EQ(detail::keyword_index("TFORMAT", "TFORM"), 0);
}

TEST(StructureCheck, WcsHeadersAreChecked) {
  const std::string base = card("CTYPE1  = 'RA---TAN'") + card("CTYPE2  = 'DEC--TAN'") +
                           card("CRVAL1  = 10.0") + card("CRVAL2  = 20.0") +
                           card("CDELT1  = -0.001") + card("CDELT2  = 0.001");
  EXPECT_NO_THROW(Wcs(card("NAXIS   =                    2") + base));
  auto msg = [&](const std::string& extra) {
    try {
      Wcs w(extra + base);
    } catch (const WcsError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_TRUE(Contains(msg(card("NAXIS   =            100000000")), "card 1 (NAXIS)"));
  EXPECT_TRUE(Contains(msg(card("WCSAXESA=                 5000")), "[0, 99]"));
  EXPECT_TRUE(Contains(msg(card("A_ORDER =               100000")), "A_ORDER"));
  EXPECT_TRUE(Contains(msg(card("CRPIX1  = 1.0.0")), "not a FITS string"));
  EXPECT_TRUE(
      Contains(msg(card("WAT1_001= 'wtype=tnx axtype=ra lngcor = \"1. 42 2. 0. 1 2 3 4\"'")),
               "WAT1: lngcor: surface type must be 1-3"));
  EXPECT_TRUE(Contains(msg(card("WAT1_001= 'wtype=tnx lngcor = \"1. 2. 2. 0. 1 2 .. 4 5\"'")),
                       "lngcor: '..' is not a number"));
  // Cards after END are fill and never reach WCSLIB.
  EXPECT_NO_THROW(Wcs(base + card("END") + std::string(80, '\x01')));
}

}  // namespace
}  // namespace gml::fits
