// Catalog adapter: mapping syntax, conversions, flags, streaming, and
// agreement with astropy/numpy on the real SDSS catalog.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/catalog.h"
#include "adapters/column_map.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "fits_io/fits_file.h"
#include "fits_io/table.h"

using namespace gml::adapters;

namespace {

const std::string kSdss = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

uint64_t fnv1a64(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A small table with the awkward cases: TNULL integers, NaN/Inf floats,
// non-positive fluxes and ivars, and a string column.
class AwkwardTable : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "gml_catalog_awkward.fits";
    gml::fits::FitsFile f = gml::fits::FitsFile::create(path_);
    std::vector<gml::fits::ColumnSpec> cols(4);
    cols[0] = {"NAME", gml::fits::ColumnType::String, 8, "", std::nullopt};
    cols[1] = {"COUNT", gml::fits::ColumnType::Int32, 1, "ct", int64_t{-99}};
    cols[2] = {"FLUX", gml::fits::ColumnType::Float32, 2, "nanomaggy", std::nullopt};
    cols[3] = {"IVAR", gml::fits::ColumnType::Float32, 2, "nanomaggy-2", std::nullopt};
    gml::fits::Table t = gml::fits::create_table(f, "AWK", cols);
    t.write_strings("NAME", 0, {"a", "b", "c", "d", "e", "f"});
    const int64_t count[] = {1, -99, 3, 4, 5, 6};
    const uint8_t count_null[] = {0, 1, 0, 0, 0, 0};
    t.write_column("COUNT", 0, 6, count, count_null);
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    // row: 0 clean, 1 null count, 2 NaN flux, 3 Inf flux, 4 flux 0, 5 ivar -1
    const float flux[] = {10, 20, 10, 20, nan, 20, inf, 20, 0, 5, 10, 20};
    const float ivar[] = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, -1, 4};
    t.write_column("FLUX", 0, 6, flux);
    t.write_column("IVAR", 0, 6, ivar);
    f.commit();
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

}  // namespace

TEST(ColumnMap, ParsesNamesElementsAndConversions) {
  const auto m = parse_column_map(
      " u = MODELFLUX[0] , mag( MODELFLUX [ 2 ] ),e=magerr(F[1],IV[1]),Z,s=SIGMA(IV[3]),"
      "m=nmgy(MAG_R)");
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0].name, "u");
  EXPECT_EQ(m[0].conversion, Conversion::Identity);
  EXPECT_EQ(m[0].args[0].column, "MODELFLUX");
  EXPECT_EQ(m[0].args[0].element, 0);
  EXPECT_EQ(m[1].name, "mag(MODELFLUX[2])");  // no name: the expression
  EXPECT_EQ(m[1].conversion, Conversion::Mag);
  EXPECT_EQ(m[1].args[0].element, 2);
  EXPECT_EQ(m[2].conversion, Conversion::MagErr);
  ASSERT_EQ(m[2].args.size(), 2u);
  EXPECT_EQ(m[2].args[1].column, "IV");
  EXPECT_EQ(m[3].name, "Z");
  EXPECT_EQ(m[3].args[0].element, -1);
  EXPECT_EQ(m[4].conversion, Conversion::Sigma);  // function names ignore case
  EXPECT_EQ(m[5].conversion, Conversion::Nmgy);
  EXPECT_EQ(m[5].expression, "nmgy(MAG_R)");
}

TEST(ColumnMap, RejectsMalformedMappingsWithAReason) {
  struct Case {
    const char* mapping;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty"},
      {"a=", "expected a column"},
      {"a=F[", "element index"},
      {"a=F[-1]", "element index"},
      {"a=F[1", "expected ']'"},
      {"a=log(F)", "unknown function 'log'"},
      {"a=mag(F,G)", "takes 1 argument"},
      {"a=magerr(F)", "takes 2 arguments"},
      {"a=mag(F", "expected ')'"},
      {"a=F,a=G", "used twice"},
      {"a=F,,b=G", "expected"},
      {"a=F b", "expected ','"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of([&] { parse_column_map(c.mapping); });
    EXPECT_NE(msg.find(c.says), std::string::npos) << "'" << c.mapping << "' gave: " << msg;
  }
}

TEST(Conversions, FormulasAndDomainFlags) {
  int32_t flags = 0;
  double x[2] = {100.0, 0.0};
  EXPECT_DOUBLE_EQ(convert(Conversion::Mag, x, flags), 17.5);
  x[0] = 1.0;
  EXPECT_DOUBLE_EQ(convert(Conversion::Mag, x, flags), 22.5);
  x[0] = 4.0, x[1] = 4.0;
  EXPECT_DOUBLE_EQ(convert(Conversion::MagErr, x, flags), 2.5 / std::log(10.0) / 8.0);
  EXPECT_DOUBLE_EQ(convert(Conversion::Sigma, x + 1, flags), 0.5);
  x[0] = 17.5;
  EXPECT_NEAR(convert(Conversion::Nmgy, x, flags), 100.0, 1e-12);
  EXPECT_EQ(flags, 0);

  auto flagged = [](Conversion c, double a, double b, int32_t want) {
    int32_t f = 0;
    const double in[2] = {a, b};
    EXPECT_TRUE(std::isnan(convert(c, in, f))) << to_string(c) << "(" << a << "," << b << ")";
    EXPECT_EQ(f, want) << to_string(c) << "(" << a << "," << b << ")";
  };
  const double inf = std::numeric_limits<double>::infinity();
  flagged(Conversion::Mag, 0.0, 0, kFlagBadFlux);
  flagged(Conversion::Mag, -3.0, 0, kFlagBadFlux);
  flagged(Conversion::Mag, kNaN, 0, kFlagNull);
  flagged(Conversion::Mag, inf, 0, kFlagNonFinite);
  flagged(Conversion::MagErr, -1.0, 0.0, kFlagBadFlux | kFlagBadIvar);
  flagged(Conversion::MagErr, 5.0, -2.0, kFlagBadIvar);
  flagged(Conversion::Sigma, 0.0, 0, kFlagBadIvar);
  flagged(Conversion::Identity, -inf, 0, kFlagNonFinite);
  flagged(Conversion::Nmgy, -1000.0, 0, kFlagNonFinite);  // 10^409 overflows
  int32_t f = 0;
  const double neg[1] = {-7.0};
  EXPECT_EQ(convert(Conversion::Identity, neg, f), -7.0);  // plain values are not judged
  EXPECT_EQ(f, 0);
}

TEST(CatalogReader, ColumnsMatchAstropyBitForBit) {
  const nlohmann::json golden = load_json(std::string(GML_GOLDEN) + "/fits/catalog.json");
  CatalogReader r(kSdss);
  ASSERT_EQ(r.nrows(), golden["nrows"].get<int64_t>());
  EXPECT_EQ(r.extension(), 1);
  for (const auto& col : golden["columns"]) {
    const std::string name = col["name"];
    const int64_t repeat = col["repeat"];
    std::string mapping;
    for (int64_t k = 0; k < repeat; ++k) {
      mapping += (k ? "," : "") + std::string("c") + std::to_string(k) + "=" + name +
                 (repeat > 1 ? "[" + std::to_string(k) + "]" : "");
    }
    const BoundMapping m = r.bind(mapping);
    const size_t n = static_cast<size_t>(r.nrows() * repeat);
    std::vector<int32_t> flags(static_cast<size_t>(r.nrows()), -1);
    std::string got;
    if (col["type"] == "float32") {
      std::vector<float> v(n);
      r.read(m, 0, r.nrows(), v.data(), flags.data());
      got = hex(fnv1a64(v.data(), n * sizeof(float)));
    } else {
      std::vector<double> v(n);
      r.read(m, 0, r.nrows(), v.data(), flags.data());
      got = hex(fnv1a64(v.data(), n * sizeof(double)));
    }
    EXPECT_EQ(got, col["fnv1a64"].get<std::string>()) << name;
    if (col["nan_count"].get<int64_t>() == 0) {
      for (int32_t fl : flags) ASSERT_EQ(fl, 0) << name;
    }
  }
}

TEST(CatalogReader, ConversionsMatchNumpyAndFlagNonPositiveFlux) {
  const nlohmann::json g = load_json(std::string(GML_GOLDEN) + "/catalog/conversions.json");
  CatalogReader r(kSdss);
  const BoundMapping m = r.bind(g["mapping"]);
  ASSERT_EQ(m.n_outputs(), 9);
  EXPECT_EQ(m.outputs[0].unit, "mag");
  EXPECT_EQ(m.outputs[7].unit, "nanomaggy");
  const int64_t n = r.nrows();
  std::vector<float> v(static_cast<size_t>(n * m.n_outputs()));
  std::vector<int32_t> flags(static_cast<size_t>(n));
  r.read(m, 0, n, v.data(), flags.data());

  std::vector<int64_t> flagged;
  for (int64_t i = 0; i < n; ++i) {
    if (flags[i] != 0) {
      flagged.push_back(i);
      EXPECT_EQ(flags[i], kFlagBadFlux) << "row " << i;
    }
  }
  EXPECT_EQ(flagged, g["rows_u_flux_nonpositive"].get<std::vector<int64_t>>());

  const auto rows = g["rows"].get<std::vector<int64_t>>();
  for (int64_t j = 0; j < m.n_outputs(); ++j) {
    const auto& ref = g["outputs"][m.outputs[j].spec.name];
    for (size_t i = 0; i < rows.size(); ++i) {
      const float got = v[rows[i] * m.n_outputs() + j];
      if (ref[i].is_null()) {
        EXPECT_TRUE(std::isnan(got)) << m.outputs[j].spec.name << " row " << rows[i];
      } else {
        const double want = ref[i];
        // float32 output of a float64 computation: within float rounding.
        EXPECT_NEAR(got, want, std::abs(want) * 1.2e-7 + 1e-30)
            << m.outputs[j].spec.name << " row " << rows[i];
      }
    }
  }
  // nmgy() inverts mag(): numpy's round trip of the r magnitudes.
  for (size_t i = 0; i < rows.size(); ++i) {
    int32_t f = 0;
    const double mag = g["outputs"]["r"][i];
    const double back = convert(Conversion::Nmgy, &mag, f);
    EXPECT_NEAR(back, g["nmgy_of_r_mag"][i].get<double>(), 1e-9 * back);
    EXPECT_NEAR(back, g["r_flux"][i].get<double>(), 1e-9 * back);
  }
}

TEST(CatalogReader, SelectsHdusAndExplainsMistakes) {
  EXPECT_EQ(CatalogReader(kSdss, "1").nrows(), 10000);
  EXPECT_EQ(CatalogReader(kSdss, "gsttest").nrows(), 10000);
  EXPECT_EQ(CatalogReader(kSdss + "[GSTTEST]").nrows(), 10000);
  EXPECT_THROW(CatalogReader(kSdss, "0"), std::invalid_argument);  // the image HDU
  auto status_of = [](auto&& fn) {
    try {
      fn();
    } catch (const gml::Error& e) {
      return e.status();
    }
    return gml::Status::Ok;
  };
  EXPECT_EQ(status_of([&] { CatalogReader(kSdss, "7"); }), gml::Status::NotFound);
  EXPECT_EQ(status_of([&] { CatalogReader(kSdss, "NOPE"); }), gml::Status::NotFound);
  EXPECT_EQ(status_of([&] { CatalogReader("/nonexistent/cat.fits"); }), gml::Status::Io);

  CatalogReader r(kSdss);
  const std::string missing = error_of([&] { r.bind("a=MODELFLUXX[0]"); });
  EXPECT_NE(missing.find("MODELFLUXX"), std::string::npos) << missing;
  EXPECT_NE(missing.find("available columns: RA, DEC, MODELFLUX[5]"), std::string::npos) << missing;
  EXPECT_EQ(status_of([&] { r.bind("a=NOPE"); }), gml::Status::NotFound);
  const std::string vec = error_of([&] { r.bind("a=MODELFLUX"); });
  EXPECT_NE(vec.find("vector of 5 elements"), std::string::npos) << vec;
  const std::string range = error_of([&] { r.bind("a=mag(MODELFLUX[5])"); });
  EXPECT_NE(range.find("out of range"), std::string::npos) << range;
  EXPECT_NO_THROW(r.bind("a=Z[0]"));  // [0] of a scalar is the scalar
  EXPECT_THROW(r.bind("a=Z[1]"), std::invalid_argument);
  const BoundMapping m = r.bind("a=Z");
  float out[2];
  EXPECT_THROW(r.read(m, 9999, 2, out, nullptr), std::invalid_argument);
  EXPECT_THROW(r.read(m, -1, 1, out, nullptr), std::invalid_argument);
}

TEST_F(AwkwardTable, FlagsEveryBadRowAndKeepsIt) {
  CatalogReader r(path_);
  const std::string str = error_of([&] { r.bind("n=NAME"); });
  EXPECT_NE(str.find("string"), std::string::npos) << str;
  const BoundMapping m =
      r.bind("c=COUNT,m=mag(FLUX[0]),e=magerr(FLUX[1],IVAR[1]),f=FLUX[1],s=sigma(IVAR[0])");
  EXPECT_EQ(m.outputs[0].unit, "ct");  // a plain column keeps its TUNIT
  EXPECT_EQ(m.sources.size(), 3u);     // FLUX is read once for two outputs
  std::vector<double> v(6 * 5);
  std::vector<int32_t> flags(6);
  r.read(m, 0, 6, v.data(), flags.data());
  EXPECT_EQ(flags[0], 0);
  EXPECT_DOUBLE_EQ(v[0], 1.0);
  EXPECT_DOUBLE_EQ(v[1], 22.5 - 2.5 * std::log10(10.0));
  EXPECT_EQ(flags[1], kFlagNull);  // TNULL count
  EXPECT_TRUE(std::isnan(v[5 + 0]));
  EXPECT_FALSE(std::isnan(v[5 + 1]));  // other outputs of the row survive
  EXPECT_EQ(flags[2], kFlagNull);      // NaN flux
  EXPECT_TRUE(std::isnan(v[10 + 1]));
  EXPECT_EQ(flags[3], kFlagNull);     // CFITSIO reads a stored Inf as undefined
  EXPECT_EQ(flags[4], kFlagBadFlux);  // flux 0 under mag
  EXPECT_DOUBLE_EQ(v[20 + 3], 5.0);   // the same kind of value, unconverted, is fine
  EXPECT_EQ(flags[5], kFlagBadIvar);  // ivar -1 under sigma
}

TEST(CatalogReader, StreamsInChunksThatTileTheRangeAndCanBeCancelled) {
  CatalogReader r(kSdss);
  const BoundMapping m = r.bind("u=mag(MODELFLUX[0]),ra=RA,z=Z");
  std::vector<float> all(10000 * 3);
  r.read(m, 0, 10000, all.data(), nullptr);
  int64_t next = 100, chunks = 0;
  r.stream(m, 100, 9900, 777, [&](const CatalogChunk& c) {
    ASSERT_EQ(c.first_row, next);
    ASSERT_LE(c.n_rows, 777);
    ASSERT_EQ(c.n_outputs, 3);
    for (int64_t i = 0; i < c.n_rows * 3; ++i) {
      const float want = all[c.first_row * 3 + i];
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(c.values[i]));
      } else {
        ASSERT_EQ(c.values[i], want);
      }
    }
    next += c.n_rows;
    ++chunks;
  });
  EXPECT_EQ(next, 10000);
  EXPECT_EQ(chunks, (9900 + 776) / 777);

  gml::RunControl control;
  gml::Progress progress(&control, "catalog", 10000, "rows");
  int64_t seen = 0;
  try {
    r.stream(
        m, 0, 10000, 1000,
        [&](const CatalogChunk& c) {
          seen += c.n_rows;
          if (seen == 3000) control.request_cancel();
        },
        &progress);
    ADD_FAILURE() << "stream was not cancelled";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Cancelled);
  }
  EXPECT_EQ(seen, 3000);
}
