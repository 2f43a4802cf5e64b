// Result-table writer: round trip of every column kind, provenance keywords,
// and the atomic-replace guarantee.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "adapters/table_writer.h"
#include "core/common/version.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/table.h"

using namespace gml::adapters;

namespace {

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

void write_old_file(const std::string& path) {
  gml::fits::FitsFile f = gml::fits::FitsFile::create(path);
  gml::fits::Table t =
      gml::fits::create_table(f, "OLD", {{"X", gml::fits::ColumnType::Float64, 1, "", {}}});
  const double x[] = {42.0};
  t.write_column("X", 0, 1, x);
  f.commit();
}

}  // namespace

TEST(TableWriter, RoundTripsEveryColumnKindWithUnitsAndProvenance) {
  const std::string path = ::testing::TempDir() + "gml_writer_roundtrip.fits";
  std::remove(path.c_str());
  Provenance prov;
  prov.input_file = "data/sdss/gst_tests_small.fits";
  prov.command_line =
      "gml-posterior run --model sedflow.h5 --catalog data/sdss/gst_tests_small.fits"
      " --map 'u=mag(MODELFLUX[0]),g=mag(MODELFLUX[1])' --out results.fits";
  prov.model_checksum = "fnv1a64:0123456789abcdef";
  {
    TableWriter w(path, "POSTERIOR", prov);
    w.add_column({"ID", ValueType::Int64, 1, ""});
    w.add_column({"MASS_PCT", ValueType::Float32, 3, "log(Msun)"});
    w.add_column({"Z", ValueType::Float64, 1, ""});
    w.add_column({"FLAGS", ValueType::Int32, 1, ""});
    w.add_column({"SURVEY", ValueType::String, 6, ""});
    w.set_keyword("runid", "r42", "pipeline run");
    // Three blocks of 4 rows, as a streaming pipeline would write them.
    for (int b = 0; b < 3; ++b) {
      std::vector<int64_t> id(4);
      std::vector<float> pct(12);
      std::vector<double> z(4);
      std::vector<int32_t> flags(4);
      std::vector<char> survey(4 * 6, '\0');
      for (int i = 0; i < 4; ++i) {
        const int row = b * 4 + i;
        id[i] = 1000000000000LL + row;
        for (int k = 0; k < 3; ++k) pct[i * 3 + k] = 9.0f + 0.5f * k + 0.01f * row;
        z[i] = row == 5 ? std::numeric_limits<double>::quiet_NaN() : 0.1 * row;
        flags[i] = row % 3 == 0 ? 4 : 0;
        const std::string s = row % 2 ? "SDSS" : "DESI-L";  // 6 bytes: no NUL
        std::copy(s.begin(), s.end(), survey.begin() + i * 6);
      }
      const void* cols[] = {id.data(), pct.data(), z.data(), flags.data(), survey.data()};
      w.append(4, cols);
    }
    EXPECT_EQ(w.rows(), 12);
    EXPECT_THROW(w.add_column({"LATE", ValueType::Float32, 1, ""}), std::invalid_argument);
    w.commit();
  }
  gml::fits::FitsFile f = gml::fits::FitsFile::open(path);
  f.move_to("POSTERIOR");
  gml::fits::Table t(f);
  ASSERT_EQ(t.nrows(), 12);
  EXPECT_EQ(t.column("MASS_PCT").repeat, 3);
  EXPECT_EQ(t.column("MASS_PCT").unit, "log(Msun)");
  EXPECT_EQ(t.column("FLAGS").type, gml::fits::ColumnType::Int32);
  EXPECT_EQ(t.column("ID").type, gml::fits::ColumnType::Int64);
  std::vector<int64_t> id(12), flags(12);
  std::vector<float> pct(36);
  std::vector<double> z(12);
  t.read_column("ID", 0, 12, id.data());
  t.read_column("FLAGS", 0, 12, flags.data());
  t.read_column("MASS_PCT", 0, 12, pct.data());
  t.read_column("Z", 0, 12, z.data());
  const std::vector<std::string> survey = t.read_strings("SURVEY", 0, 12);
  for (int row = 0; row < 12; ++row) {
    EXPECT_EQ(id[row], 1000000000000LL + row);
    EXPECT_EQ(flags[row], row % 3 == 0 ? 4 : 0);
    EXPECT_EQ(pct[row * 3 + 2], 9.0f + 0.5f * 2 + 0.01f * row);
    if (row == 5) {
      EXPECT_TRUE(std::isnan(z[row]));
    } else {
      EXPECT_EQ(z[row], 0.1 * row);
    }
    EXPECT_EQ(survey[row], row % 2 ? "SDSS" : "DESI-L");
  }
  EXPECT_EQ(gml::fits::read_key_string(f, "GMLVERS"), gml::library_version());
  EXPECT_TRUE(std::regex_match(gml::fits::read_key_string(f, "DATE"),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")));
  EXPECT_EQ(gml::fits::read_key_string(f, "GMLINPUT"), prov.input_file);
  EXPECT_EQ(gml::fits::read_key_string(f, "GMLCMD"), prov.command_line);  // > 68 chars
  EXPECT_EQ(gml::fits::read_key_string(f, "GMLMODCK"), prov.model_checksum);
  EXPECT_EQ(gml::fits::read_key_string(f, "RUNID"), "r42");
  EXPECT_TRUE(f.verify_checksum().ok());
  EXPECT_EQ(f.verify_checksum().data, gml::fits::ChecksumStatus::Valid);
  std::remove(path.c_str());
}

TEST(TableWriter, UncommittedOrFailedWriteLeavesTheOldFileAndNoLeftovers) {
  const std::string dir = ::testing::TempDir() + "gml_writer_atomic";
  std::remove((dir + "/out.fits").c_str());
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/out.fits";
  write_old_file(path);
  {
    TableWriter w(path, "NEW", {});
    w.add_column({"Y", ValueType::Float32, 1, ""});
    const float y[] = {1, 2, 3};
    const void* cols[] = {y};
    w.append(3, cols);
    // Abandoned: a crash or an exception in the pipeline before commit.
  }
  {
    gml::fits::FitsFile f = gml::fits::FitsFile::open(path);
    f.move_to("OLD");
    double x = 0;
    gml::fits::Table(f).read_column("X", 0, 1, &x);
    EXPECT_EQ(x, 42.0);
  }
  std::vector<std::string> names = files_in(dir);
  EXPECT_EQ(names.size(), 3u) << "temporary file left behind";  // ".", "..", out.fits

  TableWriter w(path, "NEW", {});
  EXPECT_THROW(w.commit(), std::invalid_argument);  // no columns: nothing to commit
  w.add_column({"Y", ValueType::Float32, 1, ""});
  EXPECT_THROW(w.add_column({"y", ValueType::Float32, 1, ""}), std::invalid_argument);
  EXPECT_THROW(w.add_column({"V", ValueType::Float32, 0, ""}), std::invalid_argument);
  EXPECT_THROW(w.set_keyword("TTYPE1", "x"), std::invalid_argument);
  EXPECT_THROW(w.set_keyword("GMLVERS", "x"), std::invalid_argument);
  EXPECT_THROW(w.set_keyword("TOOLONGKEY", "x"), std::invalid_argument);
  EXPECT_THROW(w.set_keyword("BAD KEY", "x"), std::invalid_argument);
  const void* none[] = {nullptr};
  EXPECT_THROW(w.append(2, none), std::invalid_argument);
  w.commit();  // an empty table is a valid result
  EXPECT_THROW(w.commit(), std::invalid_argument);
  gml::fits::FitsFile f = gml::fits::FitsFile::open(path);
  f.move_to("NEW");
  EXPECT_EQ(gml::fits::Table(f).nrows(), 0);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}
