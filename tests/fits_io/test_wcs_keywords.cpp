// Header keywords: WCSLIB failures name the keyword at fault (as astropy's
// messages do), and the headers astropy repairs are repaired the same way,
// with a warning.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fits_io/wcs.h"
#include "test_util.h"
#include "wcs_test_headers.h"

namespace gml::fits {
namespace {

using test::Contains;
using test::data_path;
using test::pad_card;

// A valid TAN header with `extra` cards appended (later cards win in
// WCSLIB), or with the base card of the same keyword replaced.
std::string tan_header(const std::vector<std::string>& extra) {
  std::vector<std::string> base = {
      "NAXIS   =                    2", "CTYPE1  = 'RA---TAN'",
      "CTYPE2  = 'DEC--TAN'",           "CRVAL1  =                 10.0",
      "CRVAL2  =                 20.0", "CRPIX1  =                  1.0",
      "CRPIX2  =                  1.0", "CDELT1  =               -0.001",
      "CDELT2  =                0.001"};
  std::string out;
  for (const auto& b : base) {
    bool replaced = false;
    for (const auto& e : extra) replaced = replaced || e.compare(0, 8, b, 0, 8) == 0;
    if (!replaced) out += pad_card(b);
  }
  for (const auto& e : extra) out += pad_card(e);
  return out;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (Contains(l, part)) return true;
  }
  return false;
}

struct FaultCase {
  const char* what;
  std::vector<std::string> cards;
  int status;
  const char* message;
};

// Each failure category of wcsset() that a header can cause, with the
// keyword the message must name.
TEST(WcsKeywordAtFault, MessagesNameTheKeyword) {
  const std::vector<FaultCase> cases = {
      {"unknown projection",
       {"CTYPE1  = 'RA---XYZ'", "CTYPE2  = 'DEC--XYZ'"},
       4,
       "Unrecognized projection code (XYZ in CTYPE1)"},
      {"mixed projections",
       {"CTYPE2  = 'DEC--SIN'"},
       4,
       "Inconsistent projection types (expected DEC--TAN, got DEC--SIN in CTYPE2)"},
      {"two longitudes",
       {"CTYPE2  = 'RA---TAN'"},
       4,
       "Inconsistent projection types (expected DEC--TAN, got RA---TAN in CTYPE2)"},
      {"mixed frames",
       {"CTYPE1  = 'GLON-TAN'"},
       4,
       "Inconsistent projection types (expected GLAT-TAN, got DEC--TAN in CTYPE2)"},
      {"lone longitude",
       {"CTYPE2  = 'FREQ'"},
       4,
       "Unmatched celestial axes (CTYPE1 = 'RA---TAN' has no DEC--TAN partner)"},
      {"two cubefaces",
       {"NAXIS   =                    4", "CTYPE3  = 'CUBEFACE'", "CTYPE4  = 'CUBEFACE'"},
       4,
       "Multiple CUBEFACE axes (in CTYPE3 and CTYPE4)"},
      {"unknown spectral algorithm",
       {"NAXIS   =                    3", "CTYPE3  = 'VELO-XXX'", "CRVAL3  =                  1.0"},
       4,
       "Unrecognized spectral algorithm code (XXX in CTYPE3)"},
      {"angle in metres",
       {"CUNIT1  = 'm'"},
       6,
       "In CUNIT1: Mismatched units type: have 'm', want 'deg'"},
      {"unparsable unit", {"CUNIT2  = 'blah'"}, 6, "In CUNIT2: Invalid unit string 'blah'"},
      {"frequency in degrees",
       {"NAXIS   =                    3", "CTYPE3  = 'FREQ'", "CUNIT3  = 'deg'",
        "CRVAL3  =                1.4E9"},
       6,
       "In CUNIT3: Mismatched units type: have 'deg', want 'Hz'"},
      {"zero CDELT",
       {"CDELT1  =                  0.0"},
       3,
       "Linear transformation matrix is singular (CDELT1 = 0)"},
      {"singular CD",
       {"CD1_1   =                  1.0", "CD1_2   =                  1.0",
        "CD2_1   =                  1.0", "CD2_2   =                  1.0"},
       3,
       "singular or not finite (CD1_1, CD1_2, CD2_1, CD2_2)"},
      {"bad ZPN coefficients",
       {"CTYPE1  = 'RA---ZPN'", "CTYPE2  = 'DEC--ZPN'", "PV2_1   =                  0.0",
        "PV2_2   =                  0.0"},
       5,
       "Invalid parameters for ZPN projection (PV2_1 = 0, PV2_2 = 0 of CTYPE2 = 'DEC--ZPN')"},
      {"bad CEA lambda",
       {"CTYPE1  = 'RA---CEA'", "CTYPE2  = 'DEC--CEA'", "PV2_1   =                  2.0"},
       5,
       "Invalid parameters for CEA projection (PV2_1 = 2"},
      {"bad native latitude",
       {"CTYPE1  = 'RA---CAR'", "CTYPE2  = 'DEC--CAR'", "PV1_3   =                 95.0"},
       6,
       "Invalid celestial coordinate transformation parameters (PV1_3 = 95)"},
      {"latitude out of range",
       {"CRVAL2  =                100.0"},
       7,
       "CRVAL2 = 100 is not a latitude"},
      {"alternate description", {"CTYPE1A = 'RA---QQQ'", "CTYPE2A = 'DEC--QQQ'"}, 4, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const bool alternate = c.cards[0].compare(0, 7, "CTYPE1A") == 0;
    try {
      Wcs w(tan_header(c.cards), alternate ? 'A' : ' ');
      ADD_FAILURE() << "accepted";
    } catch (const WcsError& e) {
      EXPECT_EQ(e.status(), c.status) << e.what();
      if (alternate) {
        // The alternate's keywords carry its letter.
        EXPECT_TRUE(Contains(e.what(), "Unrecognized projection code (QQQ in CTYPE1A)"))
            << e.what();
      } else {
        EXPECT_TRUE(Contains(e.what(), c.message)) << e.what();
      }
    }
  }
}

// A malformed card that is not a WCS keyword is left out, as astropy does
// (it "fixes" the card); a malformed WCS keyword is an error.
TEST(WcsHeaderRepair, MalformedCardIsLeftOutUnlessItIsAWcsKeyword) {
  const std::string dss = test::gz_primary_header(data_path("wcs/dss.14.29.56-62.41.05.fits.gz"));
  Wcs w(dss);
  ASSERT_EQ(w.warnings().size(), 1u);
  EXPECT_TRUE(Contains(w.warnings()[0], "card 117 (SKEW)")) << w.warnings()[0];
  EXPECT_TRUE(Contains(w.warnings()[0], "left out")) << w.warnings()[0];
  // The same card under a WCS keyword.
  std::string broken = dss;
  const size_t at = broken.find("SKEW    = ");
  broken.replace(at, 8, "CROTA2  ");
  try {
    Wcs b(broken);
    ADD_FAILURE() << "a malformed CROTA2 was accepted";
  } catch (const WcsError& e) {
    EXPECT_TRUE(Contains(e.what(), "card 117 (CROTA2)")) << e.what();
  }
}

// SIMPLE = F describes the file, not the WCS: the header reads as with T.
TEST(WcsHeaderRepair, SimpleFalseHeaderIsRead) {
  const std::string body = tan_header({});
  Wcs t(pad_card("SIMPLE  =                    T") + body);
  Wcs f(pad_card("SIMPLE  =                    F") + body);
  EXPECT_EQ(f.pix2sky(50, 60), t.pix2sky(50, 60));
  EXPECT_TRUE(f.warnings().empty());
}

// astropy's SCAMP/SIP repairs, each announced.
TEST(WcsHeaderRepair, ScampAndSipConflicts) {
  // SIP header with SCAMP PV1_0..PV2_16: WCSLIB refuses PV1_5 on TAN.
  Wcs sip(test::text_file(data_path("wcs/too_many_pv.hdr")));
  EXPECT_TRUE(any_contains(sip.warnings(), "the PVi_m keywords are removed"));
  EXPECT_EQ(sip.ctype(0), "RA---TAN-SIP");
  // TPV with SIP keywords: SIP dropped.
  Wcs tpv(test::composite_header("wcs/tpvonly.hdr", "wcs/siponly.hdr", "RA---TPV", "DEC--TPV"));
  EXPECT_TRUE(any_contains(tpv.warnings(), "CTYPE -TPV with SIP keywords: SIP removed"));
  // Pre-2012 SCAMP: TAN with PV1_5..: read as TPV.
  Wcs tan(test::composite_header("wcs/tpvonly.hdr", "wcs/siponly.hdr", "RA---TAN", "DEC--TAN"));
  EXPECT_TRUE(any_contains(tan.warnings(), "read as CTYPE1 = 'RA---TPV', CTYPE2 = 'DEC--TPV'"));
  EXPECT_TRUE(tan.has_distortion());
  // The three describe the same image to well under a pixel (0.27"), the
  // TPV and SCAMP-TAN readings identically.
  for (double x : {1.0, 1024.0, 2048.0}) {
    for (double y : {1.0, 2048.0, 4096.0}) {
      const auto a = tpv.pix2sky(x, y), b = tan.pix2sky(x, y);
      EXPECT_EQ(a, b);
    }
  }
  // A TAN header with only PV1_5 is also SCAMP's: WCSLIB alone refuses it.
  Wcs one(tan_header({"PV1_5   =                  0.1"}));
  EXPECT_TRUE(any_contains(one.warnings(), "read as CTYPE1 = 'RA---TPV'"));
  // No repair for a clean header.
  EXPECT_TRUE(Wcs(tan_header({})).warnings().empty());
}

}  // namespace
}  // namespace gml::fits

namespace gml::fits {
namespace {

// WCSLIB 7.12 dereferences NULL on a DSS plate or SIP keyword that holds
// anything but a number (found by fuzz_fits_wcs from the DSS test file's
// keywords): such cards are errors naming the keyword, before WCSLIB.
TEST(WcsKeywords, DssAndSipKeywordsMustHoldTheTypesWcslibReads) {
  for (const char* card : {"XPIXELSZ", "XPIXELSZ=", "AMDX1   = 'x'", "PPO3    = T", "CNPIX2  = '1'",
                           "PLTDECD = 'x'", "A_1_1   = T", "PLTDECSN=    1.5"}) {
    SCOPED_TRACE(card);
    try {
      Wcs w(tan_header({card}));
      ADD_FAILURE() << "accepted";
    } catch (const WcsError& e) {
      const std::string key = std::string(card).substr(0, std::string(card).find_first_of(" ="));
      EXPECT_TRUE(Contains(e.what(), key)) << e.what();
    }
  }
  // The same keywords with numbers reach WCSLIB (which then wants the rest
  // of a DSS plate solution, and says so).
  try {
    Wcs w(tan_header({"XPIXELSZ=                 25.0", "PLTDECSN= '-'"}));
  } catch (const WcsError& e) {
    EXPECT_FALSE(Contains(e.what(), "value must be")) << e.what();
  }
}

}  // namespace
}  // namespace gml::fits
