// A 10-million-row catalog streams through the adapter with bounded memory.
// Labelled "large": it writes ~320 MB to the temporary directory.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "adapters/catalog.h"
#include "fits_io/fits_file.h"
#include "fits_io/table.h"

using namespace gml::adapters;

namespace {

constexpr int64_t kRows = 10'000'000;
constexpr int64_t kBadEvery = 1'000'003;  // rows with a negative r flux

float flux(int64_t row, int k) {
  if (k == 2 && row % kBadEvery == 0) return -1.0f;
  return 1.0f + static_cast<float>(row % 1000) + 0.25f * static_cast<float>(k);
}
float redshift(int64_t row) {
  return static_cast<float>(row % 4096) / 4096.0f;
}

// Value in kB of a "Vm...:" line of /proc/self/status.
int64_t status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::string(key).size()));
  }
  return -1;
}

// Resets VmHWM to the current RSS, so the peak measured next belongs to
// the stream alone and not to writing the file. Returns false where the
// kernel does not support it.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

}  // namespace

TEST(CatalogLarge, TenMillionRowsStreamWithBoundedMemory) {
  const std::string path = ::testing::TempDir() + "gml_catalog_10M.fits";
  {
    gml::fits::FitsFile f = gml::fits::FitsFile::create(path);
    gml::fits::Table t =
        gml::fits::create_table(f, "BIG",
                                {{"ID", gml::fits::ColumnType::Int64, 1, "", {}},
                                 {"FLUX", gml::fits::ColumnType::Float32, 5, "nanomaggy", {}},
                                 {"Z", gml::fits::ColumnType::Float32, 1, "", {}}});
    const int64_t block = 250'000;
    std::vector<int64_t> id(block);
    std::vector<float> fl(block * 5), z(block);
    for (int64_t first = 0; first < kRows; first += block) {
      for (int64_t i = 0; i < block; ++i) {
        const int64_t row = first + i;
        id[i] = row;
        for (int k = 0; k < 5; ++k) fl[i * 5 + k] = flux(row, k);
        z[i] = redshift(row);
      }
      t.write_column("ID", first, block, id.data());
      t.write_column("FLUX", first, block, fl.data());
      t.write_column("Z", first, block, z.data());
    }
    f.commit();
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_GE(st.st_size, 200LL * 1000 * 1000) << "the table must dwarf the memory bound";

  const bool peak_resettable = reset_peak_rss();
  const int64_t rss_before = status_kb("VmRSS:");
  int64_t peak_seen = rss_before;
  {
    CatalogReader r(path);
    ASSERT_EQ(r.nrows(), kRows);
    const BoundMapping m = r.bind("id=ID,r=mag(FLUX[2]),g=FLUX[1],z=Z");
    int64_t next = 0, flagged = 0, checked = 0;
    r.stream(m, 0, kRows, 0, [&](const CatalogChunk& c) {
      ASSERT_EQ(c.first_row, next);
      for (int64_t i = 0; i < c.n_rows; ++i) {
        const int64_t row = c.first_row + i;
        const float* v = c.values + i * 4;
        if (c.flags[i] != 0) {
          ++flagged;
          ASSERT_EQ(row % kBadEvery, 0) << row;
          ASSERT_EQ(c.flags[i], kFlagBadFlux);
          ASSERT_TRUE(std::isnan(v[1]));
        }
        if (row % 9973 == 0 || row == kRows - 1) {  // sampled rows, full check
          ++checked;
          ASSERT_EQ(v[0], static_cast<float>(row));
          ASSERT_EQ(v[2], flux(row, 1));
          ASSERT_EQ(v[3], redshift(row));
          if (row % kBadEvery != 0) {
            const double want = 22.5 - 2.5 * std::log10(static_cast<double>(flux(row, 2)));
            ASSERT_EQ(v[1], static_cast<float>(want)) << row;
          }
        }
      }
      next += c.n_rows;
      if (c.first_row % (64 * c.n_rows) == 0) peak_seen = std::max(peak_seen, status_kb("VmRSS:"));
    });
    EXPECT_EQ(next, kRows);
    EXPECT_EQ(flagged, (kRows - 1) / kBadEvery + 1);
    EXPECT_GT(checked, 1000);
  }
  const int64_t peak = peak_resettable ? status_kb("VmHWM:") : peak_seen;
  const int64_t growth_mb = (peak - rss_before) / 1024;
  RecordProperty("table_mb", static_cast<int>(st.st_size / 1000000));
  RecordProperty("peak_rss_growth_mb", static_cast<int>(growth_mb));
  EXPECT_LT(growth_mb, 100) << "streaming a " << st.st_size / 1000000 << " MB table grew RSS by "
                            << growth_mb << " MB";
  EXPECT_EQ(std::remove(path.c_str()), 0);
}
