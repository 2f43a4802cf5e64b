// Header keywords: typed round trips with units and comments, long strings,
// HISTORY/COMMENT, and errors for missing or mistyped keywords.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "test_util.h"

namespace gml::fits {
namespace {

TEST(Header, TypedKeywordsRoundTripWithUnitsAndComments) {
  test::ScratchDir dir;
  const std::string path = dir.file("h.fits");
  const std::string long_text(150, 'q');
  const double third = 1.0 / 3.0;
  {
    FitsFile f = FitsFile::create(path);
    write_empty_primary(f);
    write_key_string(f, "TELESCOP", "SDSS 2.5m", "telescope");
    write_key_string(f, "LONGSTR", long_text, "needs CONTINUE cards");
    write_key_int(f, "NSTARS", int64_t{1} << 40, "number of stars");
    write_key_double(f, "EXPTIME", 53.907456, "exposure", "s");
    write_key_double(f, "THIRD", third, "1/3 to full precision", "");
    write_key_bool(f, "CALIB", true, "calibrated");
    write_key_bool(f, "SKYSUB", false);
    write_history(f, "made by the header round-trip test");
    write_comment(f, "a comment card");
    // Updating replaces rather than duplicates.
    write_key_int(f, "NSTARS", 12, "number of stars");
    EXPECT_THROW(write_key_double(f, "BAD", std::nan(""), ""), std::invalid_argument);
    EXPECT_THROW(write_key_int(f, "", 1), std::invalid_argument);
    f.commit();
  }
  FitsFile f = FitsFile::open(path);
  KeyInfo info;
  EXPECT_EQ(read_key_string(f, "TELESCOP", &info), "SDSS 2.5m");
  EXPECT_EQ(info.comment, "telescope");
  EXPECT_EQ(read_key_string(f, "LONGSTR"), long_text);
  EXPECT_EQ(read_key_int(f, "NSTARS"), 12);
  EXPECT_DOUBLE_EQ(read_key_double(f, "EXPTIME", &info), 53.907456);
  EXPECT_EQ(info.unit, "s");
  EXPECT_EQ(info.comment, "exposure");
  EXPECT_EQ(read_key_double(f, "THIRD"), third);  // bit-exact
  EXPECT_TRUE(read_key_bool(f, "CALIB", &info));
  EXPECT_EQ(info.unit, "");
  EXPECT_EQ(info.comment, "calibrated");
  EXPECT_FALSE(read_key_bool(f, "SKYSUB"));
  EXPECT_TRUE(has_key(f, "calib"));  // keyword names are case-insensitive
  EXPECT_FALSE(has_key(f, "MISSING"));

  const std::string hdr = read_header_string(f);
  EXPECT_EQ(hdr.size() % 80, 0u);
  EXPECT_NE(hdr.find("HISTORY made by the header round-trip test"), std::string::npos);
  EXPECT_NE(hdr.find("COMMENT a comment card"), std::string::npos);

  try {
    read_key_double(f, "MISSING");
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_EQ(e.status(), KEY_NO_EXIST);
    EXPECT_TRUE(test::Contains(e.what(), "MISSING"));
    EXPECT_TRUE(test::Contains(e.what(), path));
  }
  // A string value cannot be read as a number.
  EXPECT_THROW(read_key_int(f, "TELESCOP"), FitsError);
  // Read-only files refuse writes with a CFITSIO error, not a crash.
  EXPECT_THROW(write_key_int(f, "NEW", 1), FitsError);
}

}  // namespace
}  // namespace gml::fits
