// Row-block reads (catalog_rows.h) against CFITSIO's column reads: the
// same values bit for bit and the same flags, on the real SDSS catalog and
// on a table built byte by byte with every awkward encoding: TNULL
// integers, NaN/Inf/signed-zero/subnormal floats, TSCAL/TZERO, unsigned and
// signed-byte offsets, vector columns, and columns the decoder leaves to
// CFITSIO.
#include <gtest/gtest.h>

#include <fitsio.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "adapters/catalog.h"
#include "adapters/column_map.h"
#include "fits_io/fits_file.h"
#include "fits_io/table.h"

using namespace gml::adapters;
using Path = CatalogReader::ReadPath;

namespace {

const std::string kRowsSdss = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";

template <typename T>
struct Result {
  std::vector<T> values;
  std::vector<int32_t> flags;
};

template <typename T>
Result<T> read_with(CatalogReader& r, Path path, const BoundMapping& m, int64_t first, int64_t n) {
  r.set_read_path(path);
  Result<T> out;
  out.values.assign(static_cast<size_t>(n * m.n_outputs()), T(-12345));
  out.flags.assign(static_cast<size_t>(n), -1);
  r.read(m, first, n, out.values.data(), out.flags.data());
  r.set_read_path(Path::Auto);
  return out;
}

// Reads rows [first, first + n) both ways and requires identical bytes
// (NaN payloads and signed zeros included) and identical flags.
template <typename T>
void expect_paths_agree(CatalogReader& r, const BoundMapping& m, int64_t first, int64_t n) {
  r.set_read_path(Path::Auto);
  ASSERT_TRUE(r.reads_row_blocks(m)) << "the mapping should take the row-block path";
  const Result<T> fast = read_with<T>(r, Path::Auto, m, first, n);
  const Result<T> cols = read_with<T>(r, Path::Columns, m, first, n);
  const int64_t nout = m.n_outputs();
  int64_t mismatches = 0;
  for (size_t i = 0; i < fast.values.size(); ++i) {
    if (std::memcmp(&fast.values[i], &cols.values[i], sizeof(T)) != 0 && mismatches++ < 5) {
      ADD_FAILURE() << "row " << first + static_cast<int64_t>(i) / nout << " output '"
                    << m.outputs[i % static_cast<size_t>(nout)].spec.name << "': row blocks give "
                    << fast.values[i] << ", columns give " << cols.values[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(fast.flags[i], cols.flags[i]) << "flags of row " << first + i;
  }
}

// A mapping naming every element of every numeric column, as c<k>=COL[e].
std::string every_element(const CatalogReader& r) {
  std::string mapping;
  int k = 0;
  for (const gml::fits::ColumnInfo& c : r.columns()) {
    if (!c.is_numeric() || c.type == gml::fits::ColumnType::Bool) continue;
    for (int64_t e = 0; e < c.repeat; ++e) {
      mapping += (mapping.empty() ? "" : ",") + ("c" + std::to_string(k++)) + "=" + c.name +
                 (c.repeat > 1 ? "[" + std::to_string(e) + "]" : "");
    }
  }
  return mapping;
}

void put_be(std::vector<uint8_t>& row, size_t at, const void* v, size_t n) {
  const auto* p = static_cast<const uint8_t*>(v);
  for (size_t i = 0; i < n; ++i) row[at + i] = p[n - 1 - i];  // host is little-endian
}
template <typename V>
void put(std::vector<uint8_t>& row, size_t& at, V v) {
  put_be(row, at, &v, sizeof v);
  at += sizeof v;
}

constexpr float kFNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kFInf = std::numeric_limits<float>::infinity();
constexpr double kDNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kDInf = std::numeric_limits<double>::infinity();

float f32_at(int64_t i, int salt) {
  static const float special[] = {kFNaN,   kFInf,   -kFInf,   -0.0f, 0.0f,   1e-40f,
                                  -1e-42f, 3.4e38f, 1.2e-38f, -3.5f, -0.25f, 7.0f};
  if ((i + salt) % 5 == 0) return special[((i + salt) / 5) % 12];
  return 1.0f + static_cast<float>((i * 7 + salt) % 1000) * 0.37f;
}
double f64_at(int64_t i) {
  static const double special[] = {kDNaN,  kDInf,    -0.0,   5e-320, 1e300, -1e300,
                                   1e-310, 2.3e-308, 3.5e38, -2.0,   0.0,   1e-30};
  if (i % 4 == 1) return special[(i / 4) % 12];
  return static_cast<double>(i) * 0.001 + 1.0;
}

// A binary table written byte by byte, so every stored bit pattern is the
// test's choice rather than a writer's.
class EncodedTable : public ::testing::Test {
 protected:
  static constexpr int64_t kRows = 30000;  // ~2.4 MB: several row blocks

  void SetUp() override {
    path_ = ::testing::TempDir() + "gml_catalog_rows_encoded.fits";
    gml::fits::FitsFile f = gml::fits::FitsFile::create(path_);
    fitsfile* fp = f.handle();
    int status = 0;
    fits_create_img(fp, BYTE_IMG, 0, nullptr, &status);
    const char* ttype[] = {"ID", "I16", "J32", "U8",    "S8",     "U16", "SCI",  "SCE", "F",
                           "D",  "VEC", "VI",  "BIGTN", "WIDETN", "SCD", "NAME", "OK",  "BITS"};
    const char* tform[] = {"1K", "1I", "1J", "1B", "1B", "1I", "1J", "1E", "1E",
                           "1D", "4E", "3I", "1J", "1I", "1D", "5A", "1L", "3X"};
    fits_create_tbl(fp, BINARY_TBL, kRows, 18, const_cast<char**>(ttype), const_cast<char**>(tform),
                    nullptr, "ENC", &status);
    auto key_ll = [&](const char* k, LONGLONG v) {
      fits_write_key(fp, TLONGLONG, k, &v, nullptr, &status);
    };
    auto key_d = [&](const char* k, double v) {
      fits_write_key(fp, TDOUBLE, k, &v, nullptr, &status);
    };
    key_ll("TNULL1", -1);
    key_ll("TNULL2", -999);
    key_ll("TNULL3", -99999);
    key_ll("TNULL4", 255);
    key_ll("TZERO5", -128);   // signed bytes
    key_ll("TZERO6", 32768);  // unsigned 16-bit
    key_d("TSCAL7", 0.001);
    key_d("TZERO7", 10.0);
    key_ll("TNULL7", -2147483647 - 1);
    key_d("TSCAL8", 2.5);
    key_d("TZERO8", -1.0);
    key_ll("TNULL12", 7);
    key_ll("TNULL13", 5000000000LL);  // outside int32: CFITSIO truncates it
    key_ll("TNULL14", 40000);         // outside int16: CFITSIO never matches it
    key_d("TSCAL15", 1e-3);
    key_d("TZERO15", 5.0);
    ASSERT_EQ(status, 0);
    // CFITSIO reads the scaling keywords of a new table only on reopening;
    // the raw bytes below are written unscaled either way.
    std::vector<uint8_t> row(81), all;
    all.reserve(static_cast<size_t>(kRows) * row.size());
    for (int64_t i = 0; i < kRows; ++i) {
      size_t at = 0;
      put<int64_t>(row, at, i % 11 == 3 ? -1 : i);
      put<int16_t>(row, at, i % 13 == 5 ? -999 : static_cast<int16_t>(i * 37 % 60000 - 30000));
      put<int32_t>(row, at, i % 17 == 2 ? -99999 : static_cast<int32_t>(i * 7919 - 100000000));
      put<uint8_t>(row, at, static_cast<uint8_t>(i % 256));
      put<uint8_t>(row, at, static_cast<uint8_t>(i * 3 % 256));
      put<int16_t>(row, at, static_cast<int16_t>(static_cast<uint16_t>(i * 131 % 65536)));
      put<int32_t>(row, at,
                   i % 19 == 4 ? -2147483647 - 1 : static_cast<int32_t>(i * 1000 - 5000000));
      put<float>(row, at, f32_at(i, 3));
      put<float>(row, at, f32_at(i, 0));
      put<double>(row, at, f64_at(i));
      for (int k = 0; k < 4; ++k) put<float>(row, at, f32_at(i, 1 + k));
      for (int k = 0; k < 3; ++k) put<int16_t>(row, at, static_cast<int16_t>((i + k) % 10));
      put<int32_t>(row, at, i % 3 == 0 ? 705032704 : static_cast<int32_t>(i));  // 5e9 mod 2^32
      put<int16_t>(row, at, static_cast<int16_t>(i % 100 - 50));
      put<double>(row, at, i % 6 == 0 ? (i % 12 == 0 ? -0.0 : 4e-320) : 1.5 * i);
      std::memcpy(row.data() + at, "abcde", 5);
      at += 5;
      put<uint8_t>(row, at, i % 3 == 0 ? 'T' : (i % 3 == 1 ? 'F' : 0));
      put<uint8_t>(row, at, 0xA0);
      ASSERT_EQ(at, row.size());
      all.insert(all.end(), row.begin(), row.end());
    }
    fits_write_tblbytes(fp, 1, 1, static_cast<LONGLONG>(all.size()), all.data(), &status);
    ASSERT_EQ(status, 0);
    f.commit();
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

}  // namespace

TEST(CatalogRows, SdssColumnsAreBitIdenticalToColumnReads) {
  CatalogReader r(kRowsSdss);
  const BoundMapping every = r.bind(every_element(r));
  ASSERT_EQ(every.n_outputs(), 2 + 5 * 5 + 11);
  expect_paths_agree<float>(r, every, 0, r.nrows());
  expect_paths_agree<double>(r, every, 0, r.nrows());
  // A range that starts and ends inside row blocks.
  expect_paths_agree<float>(r, every, 4321, 5000);
}

TEST(CatalogRows, SdssConversionsAndFlagsAreIdentical) {
  CatalogReader r(kRowsSdss);
  const BoundMapping m = r.bind(
      "u=mag(MODELFLUX[0]),g=mag(MODELFLUX[1]),eu=magerr(MODELFLUX[0],MODELFLUX_IVAR[0]),"
      "er=magerr(PETROFLUX[2],PETROFLUX_IVAR[2]),s=sigma(MODELFLUX_IVAR[4]),"
      "n=nmgy(J_M_EXT),nuv=mag(NUV_FLUX_AUTO),z=Z,ra=RA");
  const Result<float> fast = read_with<float>(r, Path::Auto, m, 0, r.nrows());
  int64_t flagged = 0;
  for (int32_t f : fast.flags) flagged += f != 0;
  EXPECT_GT(flagged, 0) << "the real catalog has non-positive fluxes to flag";
  expect_paths_agree<float>(r, m, 0, r.nrows());
  expect_paths_agree<double>(r, m, 17, 9000);
}

TEST_F(EncodedTable, EveryEncodingIsBitIdenticalToColumnReads) {
  CatalogReader r(path_);
  const BoundMapping every = r.bind(every_element(r));
  ASSERT_EQ(every.n_outputs(), 13 + 4 + 3);
  expect_paths_agree<float>(r, every, 0, kRows);
  expect_paths_agree<double>(r, every, 0, kRows);
  expect_paths_agree<double>(r, every, 12001, 17777);
  const BoundMapping conv = r.bind(
      "m=mag(F),e=magerr(F,SCE),s=sigma(D),n=nmgy(SCI),mv=mag(VEC[2]),"
      "ev=magerr(VEC[0],VEC[3]),ni=nmgy(I16),sd=sigma(SCD),mu=mag(U16),vi=VI[1]");
  expect_paths_agree<float>(r, conv, 0, kRows);
  expect_paths_agree<double>(r, conv, 0, kRows);
}

TEST_F(EncodedTable, DecodesAsCfitsioDefinesTheEncodings) {
  CatalogReader r(path_);
  const BoundMapping m = r.bind(
      "id=ID,i16=I16,u8=U8,s8=S8,u16=U16,sci=SCI,sce=SCE,f=F,d=D,"
      "vi=VI[0],big=BIGTN,wide=WIDETN,scd=SCD");
  ASSERT_TRUE(r.reads_row_blocks(m));
  const int64_t n = m.n_outputs();
  const Result<double> d = read_with<double>(r, Path::Auto, m, 0, kRows);
  const Result<float> f = read_with<float>(r, Path::Auto, m, 0, kRows);
  auto at = [&](int64_t row, int64_t col) { return d.values[static_cast<size_t>(row * n + col)]; };
  // TNULL integers: the value is NaN, the row flagged, the row kept.
  EXPECT_TRUE(std::isnan(at(3, 0)));
  EXPECT_EQ(d.flags[3] & kFlagNull, kFlagNull);
  EXPECT_EQ(at(4, 0), 4.0);
  EXPECT_TRUE(std::isnan(at(5, 1)));    // I16 == -999
  EXPECT_TRUE(std::isnan(at(255, 2)));  // U8 == 255
  // Offsets and scales.
  EXPECT_EQ(at(1, 3), 3.0 - 128.0);                                    // B, TZERO -128
  EXPECT_EQ(at(300, 4), static_cast<int16_t>(300 * 131) + 32768.0);    // I, TZERO 32768
  EXPECT_EQ(at(1, 5), (1000.0 - 5000000.0) * 0.001 + 10.0);            // J, TSCAL/TZERO
  EXPECT_TRUE(std::isnan(at(4, 5)));                                   // ... and TNULL
  EXPECT_EQ(at(1, 6), static_cast<double>(f32_at(1, 3)) * 2.5 - 1.0);  // E, TSCAL/TZERO
  // Floats: NaN and Inf are null; zero exponents read as +0 (TZERO if scaled).
  EXPECT_TRUE(std::isnan(at(0, 7)));  // F special[0] = NaN
  EXPECT_EQ(d.flags[0] & kFlagNull, kFlagNull);
  EXPECT_TRUE(std::isnan(at(5, 7)));      // +Inf
  EXPECT_TRUE(std::isnan(at(10, 7)));     // -Inf
  EXPECT_EQ(at(15, 7), 0.0);              // -0.0 ...
  EXPECT_FALSE(std::signbit(at(15, 7)));  // ... without its sign
  EXPECT_EQ(at(25, 7), 0.0);              // subnormal 1e-40
  EXPECT_EQ(at(12, 6), -1.0);             // SCE: a stored -0.0 reads as TZERO
  // Doubles: 1e300 survives in float64 and is flagged non-finite in float32.
  EXPECT_EQ(at(17, 8), 1e300);
  EXPECT_TRUE(std::isnan(f.values[static_cast<size_t>(17 * n + 8)]));
  EXPECT_EQ(f.flags[17] & kFlagNonFinite, kFlagNonFinite);
  EXPECT_EQ(at(13, 8), 0.0);  // 5e-320, subnormal
  // Vector of int16 with TNULL 7 on element 0.
  EXPECT_TRUE(std::isnan(at(7, 9)));
  EXPECT_EQ(at(8, 9), 8.0);
  // J with TNULL 5e9: CFITSIO compares with it truncated to 32 bits.
  EXPECT_TRUE(std::isnan(at(3, 10)));
  EXPECT_EQ(at(4, 10), 4.0);
  // I with TNULL 40000 can never match.
  for (int64_t i = 0; i < 200; ++i) ASSERT_FALSE(std::isnan(at(i, 11))) << i;
  // D with TSCAL/TZERO: -0 and subnormals read as TZERO.
  EXPECT_EQ(at(12, 12), 5.0);
  EXPECT_EQ(at(6, 12), 5.0);
  EXPECT_EQ(at(7, 12), 1.5 * 7 * 1e-3 + 5.0);
}

TEST_F(EncodedTable, ColumnsTheDecoderLeavesAloneGoThroughCfitsio) {
  CatalogReader r(path_);
  // A logical column sends the whole mapping to column reads.
  const BoundMapping with_logical = r.bind("ok=OK,f=F,id=ID");
  EXPECT_FALSE(r.reads_row_blocks(with_logical));
  const Result<float> v = read_with<float>(r, Path::Auto, with_logical, 0, 6);
  EXPECT_EQ(v.values[0], 1.0f);          // 'T'
  EXPECT_EQ(v.values[3], 0.0f);          // 'F'
  EXPECT_TRUE(std::isnan(v.values[6]));  // undefined logical
  EXPECT_EQ(v.flags[2] & kFlagNull, kFlagNull);
  // The numeric columns alone do not.
  EXPECT_TRUE(r.reads_row_blocks(r.bind("f=F,id=ID")));
}

TEST(CatalogRows, WideRowsWithFewNeededFieldsUseColumnReads) {
  const std::string path = ::testing::TempDir() + "gml_catalog_rows_wide.fits";
  {
    gml::fits::FitsFile f = gml::fits::FitsFile::create(path);
    gml::fits::Table t = gml::fits::create_table(
        f, "WIDE",
        {{"A", gml::fits::ColumnType::Float64, 1, "", {}},
         {"SPEC", gml::fits::ColumnType::Float32, 4000, "", {}}});  // 16 kB rows
    std::vector<double> a = {1.5, 2.5, 3.5};
    std::vector<float> spec(3 * 4000);
    for (size_t i = 0; i < spec.size(); ++i) spec[i] = static_cast<float>(i);
    t.write_column("A", 0, 3, a.data());
    t.write_column("SPEC", 0, 3, spec.data());
    f.commit();
  }
  CatalogReader r(path);
  const BoundMapping one = r.bind("a=A,s=SPEC[3999]");
  EXPECT_FALSE(r.reads_row_blocks(one));
  std::string many;
  for (int k = 0; k < 10; ++k)
    many += (k ? "," : "") + ("s" + std::to_string(k)) + "=SPEC[" + std::to_string(k * 400) + "]";
  const BoundMapping m = r.bind(many);
  expect_paths_agree<float>(r, m, 0, 3);
  std::vector<float> out(2 * 2);
  r.read(one, 1, 2, out.data(), nullptr);
  EXPECT_EQ(out[0], 2.5f);
  EXPECT_EQ(out[1], 4000.0f + 3999.0f);
  EXPECT_EQ(out[3], 8000.0f + 3999.0f);
  std::remove(path.c_str());
}
