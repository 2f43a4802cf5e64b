// Binary tables: the real SDSS catalog against astropy, and write/read round
// trips of every supported column kind, nulls and error reporting.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/table.h"
#include "test_util.h"

namespace gml::fits {
namespace {

using test::Contains;

std::string fnv1a64(const void* data, size_t n) {
  uint64_t h = 0xCBF29CE484222325ULL;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Every column of the kcorrect SDSS sample must come back bit-for-bit as
// astropy reads it (hash over all rows plus spot values), also when the
// catalog is streamed in chunks that do not divide the row count.
TEST(TableCatalog, GstColumnsBitExactWithAstropy) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "golden hashes are of LE bytes");
  const auto doc = test::load_json(test::golden_path("catalog.json"));
  FitsFile f = FitsFile::open(test::data_path(doc["file"]));
  EXPECT_EQ(f.num_hdus(), 2);
  EXPECT_EQ(f.move_to(doc["extname"].get<std::string>()), HduType::BinaryTable);
  EXPECT_EQ(f.current_hdu(), doc["hdu"].get<int>());
  Table t(f);
  const int64_t nrows = doc["nrows"];
  ASSERT_EQ(t.nrows(), nrows);
  ASSERT_EQ(static_cast<size_t>(t.ncols()), doc["columns"].size());
  const int64_t chunk = 3331;
  for (const auto& c : doc["columns"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const ColumnInfo& info = t.column(name);
    const int64_t repeat = c["repeat"];
    EXPECT_EQ(info.repeat, repeat);
    std::string hash;
    std::vector<double> widened;
    if (c["type"] == "float64") {
      EXPECT_EQ(info.type, ColumnType::Float64);
      std::vector<double> v(static_cast<size_t>(nrows * repeat));
      for (int64_t r = 0; r < nrows; r += chunk) {
        const int64_t n = std::min(chunk, nrows - r);
        EXPECT_EQ(t.read_column(name, r, n, v.data() + r * repeat), 0);
      }
      hash = fnv1a64(v.data(), v.size() * sizeof(double));
      widened = v;
    } else {
      EXPECT_EQ(info.type, ColumnType::Float32);
      std::vector<float> v(static_cast<size_t>(nrows * repeat));
      for (int64_t r = 0; r < nrows; r += chunk) {
        const int64_t n = std::min(chunk, nrows - r);
        EXPECT_EQ(t.read_column(name, r, n, v.data() + r * repeat), 0);
      }
      hash = fnv1a64(v.data(), v.size() * sizeof(float));
      // float32 -> float64 reads must be the exact widening.
      std::vector<double> d(v.size());
      t.read_column(name, 0, nrows, d.data());
      for (size_t k = 0; k < v.size(); ++k) ASSERT_EQ(d[k], static_cast<double>(v[k]));
      widened = d;
    }
    EXPECT_EQ(hash, c["fnv1a64"].get<std::string>());
    for (auto& [row, values] : c["samples"].items()) {
      const int64_t r = std::stoll(row);
      for (int64_t k = 0; k < repeat; ++k) {
        EXPECT_EQ(widened[r * repeat + k], values[k].get<double>()) << "row " << r;
      }
    }
  }
}

TEST(TableCatalog, MissingColumnListsAvailableColumns) {
  FitsFile f = FitsFile::open(test::data_path("sdss/gst_tests_small.fits"));
  f.move_to(2);
  Table t(f);
  std::vector<double> out(10);
  try {
    t.read_column("REDSHIFT", 0, 10, out.data());
    FAIL() << "expected FitsError";
  } catch (const FitsError& e) {
    EXPECT_EQ(e.status(), COL_NOT_FOUND);
    EXPECT_PRED2(Contains, e.what(), "REDSHIFT");
    EXPECT_PRED2(Contains, e.what(), "MODELFLUX_IVAR");
    EXPECT_PRED2(Contains, e.what(), "NUV_FLUX_AUTO");
  }
  // Lookups ignore case, as FITS column names do.
  EXPECT_EQ(t.column("modelflux").repeat, 5);
  EXPECT_THROW(t.read_column("RA", 9995, 10, out.data()), std::invalid_argument);
  EXPECT_THROW(t.read_column("RA", -1, 1, out.data()), std::invalid_argument);
  std::vector<int64_t> iv(10);
  // Float columns are not silently truncated into integers.
  EXPECT_THROW(t.read_column("Z", 0, 10, iv.data()), std::invalid_argument);
  EXPECT_THROW(t.read_strings("RA", 0, 1), std::invalid_argument);
}

// Writes one table of every kind with nulls, reads it back in two chunks.
TEST(TableRoundTrip, VectorColumnsNullsUnitsAndStrings) {
  test::ScratchDir dir;
  const std::string path = dir.file("t.fits");
  const int64_t n = 7;
  std::vector<double> d(n);
  std::vector<float> vec3(n * 3);
  std::vector<int64_t> ids(n), small(n);
  std::vector<uint8_t> id_null(n, 0), vec_null(n * 3, 0);
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) {
    d[i] = 1.0 / 3.0 + static_cast<double>(i) * 1e10;
    for (int k = 0; k < 3; ++k) vec3[i * 3 + k] = static_cast<float>(i) + 0.25f * k;
    ids[i] = (int64_t{1} << 40) + i;
    small[i] = -i;
    names.push_back("gal" + std::string(static_cast<size_t>(i), 'x'));
  }
  id_null[2] = 1;
  vec_null[4] = 1;
  small[3] = -32768;  // equals TNULL, so it reads back as null
  {
    FitsFile f = FitsFile::create(path);
    Table t = create_table(f, "CAT",
                           {{"FLUXD", ColumnType::Float64, 1, "nanomaggy", {}},
                            {"VEC", ColumnType::Float32, 3, "mag", {}},
                            {"OBJID", ColumnType::Int64, 1, "", int64_t{-1}},
                            {"SMALL", ColumnType::Int16, 1, "", int64_t{-32768}},
                            {"NAME", ColumnType::String, 8, "", {}},
                            {"FLAG", ColumnType::Bool, 1, "", {}}});
    t.write_column("FLUXD", 0, n, d.data());
    t.write_column("VEC", 0, n, vec3.data(), vec_null.data());
    t.write_column("OBJID", 0, n, ids.data(), id_null.data());
    t.write_column("SMALL", 0, n, small.data());
    t.write_strings("NAME", 0, names);
    std::vector<int64_t> flags = {1, 0, 1, 1, 0, 0, 1};
    t.write_column("FLAG", 0, n, flags.data());
    EXPECT_EQ(t.nrows(), n);
    f.commit();
  }
  FitsFile f = FitsFile::open(path);
  f.move_to("cat");
  Table t(f);
  ASSERT_EQ(t.nrows(), n);
  EXPECT_EQ(t.column("FLUXD").unit, "nanomaggy");
  EXPECT_EQ(t.column("VEC").unit, "mag");
  EXPECT_EQ(t.column("VEC").repeat, 3);
  EXPECT_EQ(t.column("VEC").tform, "3E");
  EXPECT_EQ(t.column("OBJID").type, ColumnType::Int64);
  EXPECT_EQ(t.column("OBJID").tnull, -1);
  EXPECT_EQ(t.column("SMALL").type, ColumnType::Int16);
  EXPECT_EQ(t.column("NAME").type, ColumnType::String);
  EXPECT_FALSE(t.column("FLUXD").tnull.has_value());

  std::vector<double> d2(n);
  EXPECT_EQ(t.read_column("FLUXD", 0, 3, d2.data()), 0);
  EXPECT_EQ(t.read_column("FLUXD", 3, n - 3, d2.data() + 3), 0);
  EXPECT_EQ(d2, d);

  std::vector<float> v2(n * 3);
  std::vector<uint8_t> mask(n * 3, 7);
  EXPECT_EQ(t.read_column("VEC", 0, n, v2.data(), mask.data()), 1);
  for (int64_t k = 0; k < n * 3; ++k) {
    EXPECT_EQ(mask[k], k == 4 ? 1 : 0);
    if (k == 4) {
      EXPECT_TRUE(std::isnan(v2[k]));
    } else {
      EXPECT_EQ(v2[k], vec3[k]);
    }
  }
  // Row-chunked vector read lands row-major.
  std::vector<float> row5(3);
  t.read_column("VEC", 5, 1, row5.data());
  EXPECT_EQ(row5[2], vec3[5 * 3 + 2]);

  std::vector<int64_t> id2(n);
  std::vector<uint8_t> idmask(n);
  EXPECT_EQ(t.read_column("OBJID", 0, n, id2.data(), idmask.data()), 1);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(idmask[i], i == 2 ? 1 : 0);
    EXPECT_EQ(id2[i], i == 2 ? -1 : ids[i]);  // nulls read back as TNULL
  }
  // A float view of an integer column turns TNULL into NaN.
  std::vector<double> idd(n);
  EXPECT_EQ(t.read_column("OBJID", 0, n, idd.data()), 1);
  EXPECT_TRUE(std::isnan(idd[2]));
  EXPECT_EQ(idd[1], static_cast<double>(ids[1]));

  std::vector<float> sm(n);
  EXPECT_EQ(t.read_column("SMALL", 0, n, sm.data()), 1);
  EXPECT_TRUE(std::isnan(sm[3]));
  EXPECT_EQ(sm[6], -6.0f);

  EXPECT_EQ(t.read_strings("NAME", 0, n),
            std::vector<std::string>({"gal", "galx", "galxx", "galxxx", "galxxxx", "galxxxxx",
                                      "galxxxxx"}));  // clipped to 8A
  std::vector<int64_t> fl(n);
  t.read_column("FLAG", 0, n, fl.data());
  EXPECT_EQ(fl, (std::vector<int64_t>{1, 0, 1, 1, 0, 0, 1}));
  // Wrong kinds are refused with the column's TFORM in the message.
  try {
    std::vector<double> bad(n);
    t.read_column("NAME", 0, n, bad.data());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_PRED2(Contains, e.what(), "8A");
  }
}

TEST(TableRoundTrip, NullsNeedTnullAndTablesNeedColumns) {
  test::ScratchDir dir;
  FitsFile f = FitsFile::create(dir.file("t.fits"));
  EXPECT_THROW(create_table(f, "X", {}), std::invalid_argument);
  EXPECT_THROW(create_table(f, "X", {{"A", ColumnType::Float32, 1, "", int64_t{0}}}),
               std::invalid_argument);
  EXPECT_THROW(
      create_table(f, "X",
                   {{"A", ColumnType::Float32, 1, "", {}}, {"a", ColumnType::Float32, 1, "", {}}}),
      std::invalid_argument);
  Table t = create_table(f, "X", {{"N", ColumnType::Int32, 1, "", {}}});
  std::vector<int64_t> v = {1, 2};
  std::vector<uint8_t> m = {0, 1};
  EXPECT_THROW(t.write_column("N", 0, 2, v.data(), m.data()), std::invalid_argument);
  EXPECT_THROW(Table{(f.move_to(1), f)}, FitsError);  // primary HDU is an image
}

}  // namespace
}  // namespace gml::fits
