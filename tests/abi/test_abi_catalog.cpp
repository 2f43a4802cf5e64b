// Catalogs through libgalaxyml.so: the real SDSS catalog against astropy's
// golden values, row flags, streaming with progress and cancel, and a
// result table written by the writer and read back.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

const std::string kCatalogSdss = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

std::string fnv1a64_hex(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string json_of(gml_catalog* cat, const char* mapping) {
  size_t len = 0;
  gml_status s = mapping ? gml_catalog_describe_mapping(cat, mapping, nullptr, 0, &len)
                         : gml_catalog_columns_json(cat, nullptr, 0, &len);
  EXPECT_EQ(s, GML_OK) << gml_last_error();
  std::string text(len, '\0');
  s = mapping ? gml_catalog_describe_mapping(cat, mapping, &text[0], len, &len)
              : gml_catalog_columns_json(cat, &text[0], len, &len);
  EXPECT_EQ(s, GML_OK) << gml_last_error();
  text.resize(len - 1);
  return text;
}

class AbiCatalog : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gml_catalog_open(kCatalogSdss.c_str(), nullptr, &cat_), GML_OK) << gml_last_error();
  }
  void TearDown() override { gml_catalog_free(cat_); }
  gml_catalog* cat_ = nullptr;
};

}  // namespace

TEST_F(AbiCatalog, ColumnsMatchAstropyBitForBit) {
  const nlohmann::json golden = load_json(std::string(GML_GOLDEN) + "/fits/catalog.json");
  int64_t n = 0;
  ASSERT_EQ(gml_catalog_num_rows(cat_, &n), GML_OK);
  ASSERT_EQ(n, 10000);
  const nlohmann::json cols = nlohmann::json::parse(json_of(cat_, nullptr));
  ASSERT_EQ(cols.size(), golden["columns"].size());
  for (size_t c = 0; c < cols.size(); ++c) {
    const auto& g = golden["columns"][c];
    EXPECT_EQ(cols[c]["name"], g["name"]);
    EXPECT_EQ(cols[c]["type"], g["type"]);
    EXPECT_EQ(cols[c]["repeat"], g["repeat"]);
    const int64_t repeat = g["repeat"];
    const std::string name = g["name"];
    std::string mapping;
    for (int64_t k = 0; k < repeat; ++k) {
      mapping += (k ? ",e" : "e") + std::to_string(k) + "=" + name +
                 (repeat > 1 ? "[" + std::to_string(k) + "]" : "");
    }
    const size_t count = static_cast<size_t>(n * repeat);
    int64_t n_out = 0;
    std::string got;
    if (g["type"] == "float64") {
      std::vector<double> v(count);
      ASSERT_EQ(
          gml_catalog_read_f64(cat_, mapping.c_str(), 0, n, v.data(), v.size(), nullptr, &n_out),
          GML_OK)
          << gml_last_error();
      got = fnv1a64_hex(v.data(), count * sizeof(double));
    } else {
      std::vector<float> v(count);
      ASSERT_EQ(gml_catalog_read(cat_, mapping.c_str(), 0, n, v.data(), v.size(), nullptr, &n_out),
                GML_OK)
          << gml_last_error();
      got = fnv1a64_hex(v.data(), count * sizeof(float));
    }
    EXPECT_EQ(n_out, repeat);
    EXPECT_EQ(got, g["fnv1a64"].get<std::string>()) << name;
  }
}

TEST_F(AbiCatalog, MagnitudesMatchNumpyAndTheTwelveNonPositiveURowsAreFlagged) {
  const nlohmann::json g = load_json(std::string(GML_GOLDEN) + "/catalog/conversions.json");
  const std::string mapping = g["mapping"];
  int64_t n_out = 0;
  ASSERT_EQ(gml_catalog_read(cat_, mapping.c_str(), 0, 0, nullptr, 0, nullptr, &n_out), GML_OK);
  ASSERT_EQ(n_out, 9);
  const nlohmann::json desc = nlohmann::json::parse(json_of(cat_, mapping.c_str()));
  EXPECT_EQ(desc[0]["name"], "u");
  EXPECT_EQ(desc[0]["expr"], "mag(MODELFLUX[0])");
  EXPECT_EQ(desc[0]["unit"], "mag");

  std::vector<float> v(10000 * 9);
  std::vector<int32_t> flags(10000, -1);
  ASSERT_EQ(
      gml_catalog_read(cat_, mapping.c_str(), 0, 10000, v.data(), v.size(), flags.data(), &n_out),
      GML_OK)
      << gml_last_error();
  std::vector<int64_t> flagged;
  for (int64_t i = 0; i < 10000; ++i) {
    if (flags[i] == 0) continue;
    flagged.push_back(i);
    EXPECT_EQ(flags[i], GML_ROW_BAD_FLUX);
    EXPECT_TRUE(std::isnan(v[i * 9 + 0]));   // u
    EXPECT_TRUE(std::isnan(v[i * 9 + 5]));   // du
    EXPECT_FALSE(std::isnan(v[i * 9 + 2]));  // r of the same row is kept
  }
  EXPECT_EQ(flagged, g["rows_u_flux_nonpositive"].get<std::vector<int64_t>>());
  const auto rows = g["rows"].get<std::vector<int64_t>>();
  for (int64_t j = 0; j < 9; ++j) {
    const auto& ref = g["outputs"][desc[j]["name"].get<std::string>()];
    for (size_t i = 0; i < rows.size(); ++i) {
      const float got = v[rows[i] * 9 + j];
      if (ref[i].is_null()) continue;
      EXPECT_NEAR(got, ref[i].get<double>(), std::abs(ref[i].get<double>()) * 1.2e-7)
          << desc[j]["name"] << " row " << rows[i];
    }
  }
}

TEST_F(AbiCatalog, RefusesWithoutWritingAndNamesWhatExists) {
  std::vector<float> v(4, 7.0f);
  int32_t flags[2] = {-1, -1};
  int64_t n_out = -1;
  EXPECT_EQ(gml_catalog_read(cat_, "a=Z,b=RA", 0, 2, v.data(), 3, flags, &n_out), GML_ERR_CAPACITY);
  EXPECT_EQ(v[0], 7.0f);
  EXPECT_EQ(flags[0], -1);
  EXPECT_EQ(n_out, -1);
  EXPECT_EQ(gml_catalog_read(cat_, "a=ZRED", 0, 2, v.data(), 4, flags, &n_out), GML_ERR_NOT_FOUND);
  const std::string msg = gml_last_error();
  EXPECT_NE(msg.find("ZRED"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MODELFLUX_IVAR[5]"), std::string::npos) << msg;
  EXPECT_EQ(gml_catalog_read(cat_, "a=Z,b=RA", 9998, 2, v.data(), 4, flags, &n_out), GML_OK);
  EXPECT_EQ(n_out, 2);
  EXPECT_FLOAT_EQ(v[3], 137.429764f);  // RA of the last row (catalog.json)
  EXPECT_EQ(flags[1], 0);

  gml_catalog* other = nullptr;
  EXPECT_EQ(gml_catalog_open(kCatalogSdss.c_str(), "NOSUCH", &other), GML_ERR_NOT_FOUND);
  EXPECT_NE(std::string(gml_last_error()).find("GSTTEST"), std::string::npos);
  EXPECT_EQ(gml_catalog_open("/nonexistent/cat.fits", nullptr, &other), GML_ERR_IO);
  EXPECT_EQ(other, nullptr);
  ASSERT_EQ(gml_catalog_open(kCatalogSdss.c_str(), "GSTTEST", &other), GML_OK);
  gml_catalog_free(other);
}

namespace {
struct StreamState {
  int64_t next = 0, rows = 0, stop_after = -1;
  double sum_z = 0;
  int progress_calls = 0;
};
int32_t on_chunk(int64_t first_row, int64_t n_rows, int64_t n_outputs, const float* values,
                 const int32_t* flags, void* user) {
  auto* s = static_cast<StreamState*>(user);
  if (first_row != s->next || n_outputs != 2) return 1;
  for (int64_t i = 0; i < n_rows; ++i) {
    if (flags[i] == 0) s->sum_z += values[i * 2 + 1];
  }
  s->next += n_rows;
  s->rows += n_rows;
  return s->stop_after >= 0 && s->rows >= s->stop_after ? 1 : 0;
}
int32_t on_progress(const gml_progress* p, void* user) {
  ++static_cast<StreamState*>(user)->progress_calls;
  return std::string(p->unit) == "rows" ? 0 : 1;
}
}  // namespace

TEST_F(AbiCatalog, StreamsTheWholeTableInBlocksAndStopsWhenAsked) {
  std::vector<float> z(10000);
  ASSERT_EQ(gml_catalog_read(cat_, "Z", 0, 10000, z.data(), z.size(), nullptr, nullptr), GML_OK);
  double want = 0;
  for (float x : z) want += x;

  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";
  gml_context* ctx = nullptr;
  ASSERT_EQ(gml_context_create(&co, &ctx), GML_OK) << gml_last_error();
  StreamState s;
  ASSERT_EQ(gml_context_set_progress(ctx, on_progress, &s), GML_OK);
  ASSERT_EQ(gml_catalog_stream(ctx, cat_, "u=mag(MODELFLUX[0]),z=Z", 0, -1, 512, on_chunk, &s),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(s.rows, 10000);
  EXPECT_GE(s.progress_calls, 1);  // at least the final report
  double want_clean = 0;           // rows with u flux <= 0 are flagged and skipped
  std::vector<float> u(10000);
  ASSERT_EQ(
      gml_catalog_read(cat_, "mag(MODELFLUX[0])", 0, 10000, u.data(), u.size(), nullptr, nullptr),
      GML_OK);
  for (int i = 0; i < 10000; ++i) {
    if (!std::isnan(u[i])) want_clean += z[i];
  }
  EXPECT_NEAR(s.sum_z, want_clean, 1e-6 * want);

  StreamState stop;
  stop.stop_after = 1000;
  EXPECT_EQ(gml_catalog_stream(nullptr, cat_, "u=RA,z=Z", 0, -1, 500, on_chunk, &stop),
            GML_ERR_CANCELLED);
  EXPECT_EQ(stop.rows, 1000);

  StreamState cancelled;
  ASSERT_EQ(gml_cancel(ctx), GML_OK);
  EXPECT_EQ(gml_catalog_stream(ctx, cat_, "u=RA,z=Z", 0, -1, 0, on_chunk, &cancelled),
            GML_ERR_CANCELLED);
  EXPECT_EQ(cancelled.rows, 0);
  gml_context_free(ctx);
}

TEST(AbiTableWriter, WritesAResultTableThatReadsBackWithUnitsAndProvenance) {
  const std::string path = ::testing::TempDir() + "gml_abi_results.fits";
  std::remove(path.c_str());
  gml_table_writer_options o;
  gml_table_writer_options_default(&o);
  o.extname = "SEDFLOW";
  o.input_file = kCatalogSdss.c_str();
  o.command_line = "gml-posterior run --catalog gst_tests_small.fits";
  gml_table_writer* w = nullptr;
  ASSERT_EQ(gml_table_writer_create(path.c_str(), &o, &w), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_table_writer_add_column(w, "ID", GML_COLUMN_INT64, 1, nullptr), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "LOGM", GML_COLUMN_FLOAT32, 3, "dex"), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "ZPHOT", GML_COLUMN_FLOAT64, 1, nullptr), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "FLAGS", GML_COLUMN_INT32, 1, nullptr), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "TAG", GML_COLUMN_STRING, 4, nullptr), GML_OK);
  ASSERT_EQ(gml_table_writer_set_keyword(w, "SURVEY", "SDSS DR7", "source survey"), GML_OK);
  for (int block = 0; block < 2; ++block) {
    int64_t id[3];
    float logm[9];
    double zp[3];
    int32_t fl[3];
    char tag[3][4] = {{'g', 'a', 'l', 0}, {'q', 's', 'o', 0}, {'s', 't', 'a', 'r'}};
    for (int i = 0; i < 3; ++i) {
      const int row = block * 3 + i;
      id[i] = 1000000LL + row;
      for (int k = 0; k < 3; ++k) logm[i * 3 + k] = 10.0f + 0.25f * k + 0.125f * row;
      zp[i] = 0.05 * row;
      fl[i] = row == 4 ? GML_ROW_BAD_FLUX : 0;
    }
    const void* data[] = {id, logm, zp, fl, tag};
    ASSERT_EQ(gml_table_writer_append(w, 3, data), GML_OK) << gml_last_error();
  }
  int64_t rows = 0;
  ASSERT_EQ(gml_table_writer_num_rows(w, &rows), GML_OK);
  EXPECT_EQ(rows, 6);
  gml_catalog* probe = nullptr;  // nothing at the target until commit
  EXPECT_EQ(gml_catalog_open(path.c_str(), nullptr, &probe), GML_ERR_IO);
  ASSERT_EQ(gml_table_writer_commit(w), GML_OK) << gml_last_error();
  gml_table_writer_free(w);

  gml_catalog* cat = nullptr;
  ASSERT_EQ(gml_catalog_open(path.c_str(), "SEDFLOW", &cat), GML_OK) << gml_last_error();
  const nlohmann::json cols = nlohmann::json::parse(json_of(cat, nullptr));
  ASSERT_EQ(cols.size(), 5u);
  EXPECT_EQ(cols[1]["unit"], "dex");
  EXPECT_EQ(cols[1]["repeat"], 3);
  EXPECT_EQ(cols[4]["type"], "string");
  EXPECT_EQ(cols[4]["numeric"], false);
  double v[6 * 4];
  int32_t flags[6];
  ASSERT_EQ(
      gml_catalog_read_f64(cat, "id=ID,m=LOGM[2],z=ZPHOT,f=FLAGS", 0, 6, v, 24, flags, nullptr),
      GML_OK)
      << gml_last_error();
  for (int row = 0; row < 6; ++row) {
    EXPECT_EQ(v[row * 4 + 0], static_cast<double>(1000000LL + row));
    EXPECT_EQ(v[row * 4 + 1], 10.5 + 0.125 * row);
    EXPECT_EQ(v[row * 4 + 2], 0.05 * row);
    EXPECT_EQ(v[row * 4 + 3], row == 4 ? GML_ROW_BAD_FLUX : 0);
  }
  gml_catalog_free(cat);

  // The provenance keywords sit in the header of the table HDU.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(bytes.find("GMLVERS = '" + std::string(gml_version_string())), std::string::npos);
  EXPECT_NE(bytes.find("GMLCMD  = 'gml-posterior run"), std::string::npos);
  EXPECT_NE(bytes.find("SURVEY  = 'SDSS DR7'"), std::string::npos);
  EXPECT_NE(bytes.find("DATE    = '20"), std::string::npos);

  // A writer freed without commit leaves the committed file as it was.
  ASSERT_EQ(gml_table_writer_create(path.c_str(), nullptr, &w), GML_OK);
  ASSERT_EQ(gml_table_writer_add_column(w, "X", GML_COLUMN_FLOAT32, 1, nullptr), GML_OK);
  const float x[] = {1.0f};
  const void* xd[] = {x};
  ASSERT_EQ(gml_table_writer_append(w, 1, xd), GML_OK);
  gml_table_writer_free(w);
  ASSERT_EQ(gml_catalog_open(path.c_str(), "SEDFLOW", &cat), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_catalog_num_rows(cat, &rows), GML_OK);
  EXPECT_EQ(rows, 6);
  gml_catalog_free(cat);
  std::remove(path.c_str());
}
