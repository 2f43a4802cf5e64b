// Catalog and table-writer entry points called with NULL or invalid
// arguments: each returns an error status with a message, writes nothing
// and never crashes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

// Each name below has a case in the test body.
const char* const kCoveredCatalog[] = {
    "gml_catalog_open",
    "gml_catalog_free",
    "gml_catalog_num_rows",
    "gml_catalog_columns_json",
    "gml_catalog_describe_mapping",
    "gml_catalog_read",
    "gml_catalog_read_f64",
    "gml_catalog_stream",
    "gml_table_writer_options_default",
    "gml_table_writer_create",
    "gml_table_writer_add_column",
    "gml_table_writer_set_keyword",
    "gml_table_writer_append",
    "gml_table_writer_num_rows",
    "gml_table_writer_commit",
    "gml_table_writer_free",
};

const std::string kSdss = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";

void catalog_expect_invalid(gml_status s, const char* what) {
  EXPECT_EQ(s, GML_ERR_INVALID_ARGUMENT) << what << ": " << gml_last_error();
  EXPECT_STRNE(gml_last_error(), "") << what;
}

int32_t never_called(int64_t, int64_t, int64_t, const float*, const int32_t*, void* user) {
  ++*static_cast<int*>(user);
  return 0;
}

}  // namespace

TEST(AbiArgumentsCatalog, EveryCatalogEntryPointRejectsNullAndInvalidArguments) {
  ASSERT_EQ(sizeof kCoveredCatalog / sizeof kCoveredCatalog[0], 16u);
  gml_catalog_free(nullptr);
  gml_table_writer_free(nullptr);
  gml_table_writer_options_default(nullptr);

  gml_catalog* cat = nullptr;
  catalog_expect_invalid(gml_catalog_open(nullptr, nullptr, &cat), "open path NULL");
  catalog_expect_invalid(gml_catalog_open(kSdss.c_str(), nullptr, nullptr), "open out NULL");
  catalog_expect_invalid(gml_catalog_open(kSdss.c_str(), "0", &cat), "open an image HDU");
  EXPECT_EQ(cat, nullptr);

  int64_t n = -7;
  size_t len = 0;
  char buf[16];
  float out[4] = {1, 2, 3, 4};
  double out64[4] = {1, 2, 3, 4};
  int32_t flags[4] = {-1, -1, -1, -1};
  int calls = 0;
  catalog_expect_invalid(gml_catalog_num_rows(nullptr, &n), "num_rows cat NULL");
  catalog_expect_invalid(gml_catalog_columns_json(nullptr, buf, sizeof buf, &len),
                         "columns cat NULL");
  catalog_expect_invalid(gml_catalog_describe_mapping(nullptr, "a=Z", buf, sizeof buf, &len),
                         "describe cat NULL");
  catalog_expect_invalid(gml_catalog_read(nullptr, "a=Z", 0, 1, out, 4, flags, &n),
                         "read cat NULL");
  catalog_expect_invalid(gml_catalog_read_f64(nullptr, "a=Z", 0, 1, out64, 4, flags, &n),
                         "read_f64 cat NULL");
  catalog_expect_invalid(
      gml_catalog_stream(nullptr, nullptr, "a=Z", 0, -1, 0, never_called, &calls),
      "stream cat NULL");

  ASSERT_EQ(gml_catalog_open(kSdss.c_str(), nullptr, &cat), GML_OK) << gml_last_error();
  catalog_expect_invalid(gml_catalog_num_rows(cat, nullptr), "num_rows out NULL");
  catalog_expect_invalid(gml_catalog_columns_json(cat, buf, sizeof buf, nullptr),
                         "columns length NULL");
  catalog_expect_invalid(gml_catalog_columns_json(cat, nullptr, 8, &len), "columns buf NULL cap>0");
  catalog_expect_invalid(gml_catalog_describe_mapping(cat, nullptr, buf, sizeof buf, &len),
                         "describe mapping NULL");
  catalog_expect_invalid(gml_catalog_describe_mapping(cat, "a=Z", buf, sizeof buf, nullptr),
                         "describe length NULL");
  catalog_expect_invalid(gml_catalog_describe_mapping(cat, "a=mag(Z", buf, sizeof buf, &len),
                         "describe syntax error");
  catalog_expect_invalid(gml_catalog_read(cat, nullptr, 0, 1, out, 4, flags, &n),
                         "read mapping NULL");
  catalog_expect_invalid(gml_catalog_read(cat, "a=Z", 0, 1, nullptr, 4, flags, &n),
                         "read out NULL cap");
  catalog_expect_invalid(gml_catalog_read(cat, "a=Z", -1, 1, out, 4, flags, &n),
                         "read first_row < 0");
  catalog_expect_invalid(gml_catalog_read(cat, "a=Z", 0, -1, out, 4, flags, &n), "read n_rows < 0");
  catalog_expect_invalid(gml_catalog_read(cat, "a=Z", 9999, 2, out, 4, flags, &n),
                         "read past the end");
  catalog_expect_invalid(gml_catalog_read(cat, "a=MODELFLUX", 0, 1, out, 4, flags, &n),
                         "read vector without [k]");
  catalog_expect_invalid(gml_catalog_read(cat, "a=MODELFLUX[9]", 0, 1, out, 4, flags, &n),
                         "read element out of range");
  catalog_expect_invalid(gml_catalog_read(cat, "a=exp(Z)", 0, 1, out, 4, flags, &n),
                         "read unknown function");
  catalog_expect_invalid(gml_catalog_read_f64(cat, nullptr, 0, 1, out64, 4, flags, &n),
                         "read_f64 mapping NULL");
  catalog_expect_invalid(gml_catalog_read_f64(cat, "a=RA", 0, 1, nullptr, 4, flags, &n),
                         "read_f64 out NULL cap");
  catalog_expect_invalid(gml_catalog_read_f64(cat, "a=RA", 10000, 1, out64, 4, flags, &n),
                         "read_f64 past the end");
  EXPECT_EQ(n, -7);  // outputs untouched on every error above
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out64[0], 1.0);
  EXPECT_EQ(flags[0], -1);
  catalog_expect_invalid(gml_catalog_stream(nullptr, cat, nullptr, 0, -1, 0, never_called, &calls),
                         "stream mapping NULL");
  catalog_expect_invalid(gml_catalog_stream(nullptr, cat, "a=Z", 0, -1, 0, nullptr, nullptr),
                         "stream fn NULL");
  catalog_expect_invalid(gml_catalog_stream(nullptr, cat, "a=Z", 0, -1, -5, never_called, &calls),
                         "stream chunk_rows < 0");
  catalog_expect_invalid(
      gml_catalog_stream(nullptr, cat, "a=Z", 10001, -1, 0, never_called, &calls),
      "stream first_row past the end");
  catalog_expect_invalid(gml_catalog_stream(nullptr, cat, "a=Z", 0, 10001, 0, never_called, &calls),
                         "stream n_rows past the end");
  catalog_expect_invalid(gml_catalog_stream(nullptr, cat, "a=Z", 0, -2, 0, never_called, &calls),
                         "stream n_rows < -1");
  EXPECT_EQ(calls, 0);
  gml_catalog_free(cat);

  gml_table_writer_options o;
  gml_table_writer_options_default(&o);
  EXPECT_EQ(o.struct_size, sizeof o);
  gml_table_writer* w = nullptr;
  const std::string path = ::testing::TempDir() + "gml_abi_args_writer.fits";
  catalog_expect_invalid(gml_table_writer_create(nullptr, &o, &w), "create path NULL");
  catalog_expect_invalid(gml_table_writer_create("", &o, &w), "create path empty");
  catalog_expect_invalid(gml_table_writer_create(path.c_str(), &o, nullptr), "create out NULL");
  o.struct_size = 4;
  catalog_expect_invalid(gml_table_writer_create(path.c_str(), &o, &w), "create struct_size");
  EXPECT_EQ(w, nullptr);
  catalog_expect_invalid(gml_table_writer_add_column(nullptr, "A", GML_COLUMN_FLOAT32, 1, nullptr),
                         "add_column w NULL");
  catalog_expect_invalid(gml_table_writer_set_keyword(nullptr, "K", "v", nullptr),
                         "set_keyword w NULL");
  const void* none[1] = {nullptr};
  catalog_expect_invalid(gml_table_writer_append(nullptr, 1, none), "append w NULL");
  catalog_expect_invalid(gml_table_writer_num_rows(nullptr, &n), "num_rows w NULL");
  catalog_expect_invalid(gml_table_writer_commit(nullptr), "commit w NULL");

  ASSERT_EQ(gml_table_writer_create(path.c_str(), nullptr, &w), GML_OK) << gml_last_error();
  catalog_expect_invalid(gml_table_writer_commit(w), "commit with no columns");
  catalog_expect_invalid(gml_table_writer_append(w, 1, none), "append with no columns");
  catalog_expect_invalid(gml_table_writer_add_column(w, nullptr, GML_COLUMN_FLOAT32, 1, nullptr),
                         "add_column name NULL");
  catalog_expect_invalid(gml_table_writer_add_column(w, "", GML_COLUMN_FLOAT32, 1, nullptr),
                         "add_column name empty");
  catalog_expect_invalid(gml_table_writer_add_column(w, "A", 99, 1, nullptr),
                         "add_column bad type");
  catalog_expect_invalid(gml_table_writer_add_column(w, "A", GML_COLUMN_FLOAT32, 0, nullptr),
                         "add_column repeat 0");
  ASSERT_EQ(gml_table_writer_add_column(w, "A", GML_COLUMN_FLOAT32, 1, "mag"), GML_OK);
  catalog_expect_invalid(gml_table_writer_add_column(w, "a", GML_COLUMN_INT32, 1, nullptr),
                         "add_column duplicate");
  catalog_expect_invalid(gml_table_writer_set_keyword(w, nullptr, "v", nullptr),
                         "set_keyword key NULL");
  catalog_expect_invalid(gml_table_writer_set_keyword(w, "K", nullptr, nullptr),
                         "set_keyword value NULL");
  catalog_expect_invalid(gml_table_writer_set_keyword(w, "NAXIS2", "1", nullptr),
                         "set_keyword reserved");
  catalog_expect_invalid(gml_table_writer_set_keyword(w, "A KEY", "1", nullptr),
                         "set_keyword malformed");
  catalog_expect_invalid(gml_table_writer_append(w, 1, nullptr), "append data NULL");
  catalog_expect_invalid(gml_table_writer_append(w, 1, none), "append column buffer NULL");
  catalog_expect_invalid(gml_table_writer_append(w, -1, none), "append n_rows < 0");
  catalog_expect_invalid(gml_table_writer_num_rows(w, nullptr), "num_rows out NULL");
  ASSERT_EQ(gml_table_writer_num_rows(w, &n), GML_OK);
  EXPECT_EQ(n, 0);
  ASSERT_EQ(gml_table_writer_commit(w), GML_OK) << gml_last_error();
  catalog_expect_invalid(gml_table_writer_commit(w), "commit twice");
  catalog_expect_invalid(gml_table_writer_add_column(w, "B", GML_COLUMN_FLOAT32, 1, nullptr),
                         "add_column after commit");
  gml_table_writer_free(w);
  std::remove(path.c_str());
}

// Widths and counts beyond what FITS (and CFITSIO's long row offsets) can
// hold are refused at declaration, so commit never writes a file that no
// reader opens (a 2^62-byte column used to be committed).
TEST(AbiArgumentsCatalog, TableWriterRefusesColumnsBeyondFitsLimits) {
  const std::string path = ::testing::TempDir() + "gml_abi_fits_limits_" +
                           std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                           ".fits";
  std::remove(path.c_str());
  gml_table_writer* w = nullptr;
  ASSERT_EQ(gml_table_writer_create(path.c_str(), nullptr, &w), GML_OK) << gml_last_error();
  catalog_expect_invalid(
      gml_table_writer_add_column(w, "HUGE", GML_COLUMN_STRING, int64_t{1} << 62, nullptr),
      "add_column repeat 2^62");
  EXPECT_NE(std::string(gml_last_error()).find("2147483647"), std::string::npos);
  catalog_expect_invalid(
      gml_table_writer_add_column(w, "WIDE", GML_COLUMN_FLOAT64, int64_t{1} << 28, nullptr),
      "add_column row of 2^31 bytes");
  const std::string long_name(69, 'N');
  catalog_expect_invalid(
      gml_table_writer_add_column(w, long_name.c_str(), GML_COLUMN_FLOAT32, 1, nullptr),
      "add_column name of 69 characters");
  catalog_expect_invalid(
      gml_table_writer_add_column(w, "U", GML_COLUMN_FLOAT32, 1, long_name.c_str()),
      "add_column unit of 69 characters");
  // The row limit counts every column declared so far.
  ASSERT_EQ(gml_table_writer_add_column(w, "HALF", GML_COLUMN_INT32, int64_t{1} << 28, nullptr),
            GML_OK)
      << gml_last_error();
  catalog_expect_invalid(
      gml_table_writer_add_column(w, "REST", GML_COLUMN_INT32, int64_t{1} << 28, nullptr),
      "add_column second half of 2^31 bytes");
  gml_table_writer_free(w);
  std::remove(path.c_str());

  ASSERT_EQ(gml_table_writer_create(path.c_str(), nullptr, &w), GML_OK) << gml_last_error();
  for (int i = 0; i < 999; ++i) {
    const std::string name = "C" + std::to_string(i);
    ASSERT_EQ(gml_table_writer_add_column(w, name.c_str(), GML_COLUMN_INT32, 1, nullptr), GML_OK)
        << name << ": " << gml_last_error();
  }
  catalog_expect_invalid(gml_table_writer_add_column(w, "C999", GML_COLUMN_INT32, 1, nullptr),
                         "add_column 1000th column");
  std::vector<int32_t> values(999, 7);
  std::vector<const void*> columns(999);
  for (size_t i = 0; i < columns.size(); ++i) columns[i] = &values[i];
  ASSERT_EQ(gml_table_writer_append(w, 1, columns.data()), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_table_writer_commit(w), GML_OK) << gml_last_error();
  gml_table_writer_free(w);

  gml_catalog* cat = nullptr;
  ASSERT_EQ(gml_catalog_open(path.c_str(), nullptr, &cat), GML_OK) << gml_last_error();
  int64_t rows = 0;
  ASSERT_EQ(gml_catalog_num_rows(cat, &rows), GML_OK);
  EXPECT_EQ(rows, 1);
  gml_catalog_free(cat);
  std::remove(path.c_str());
}
