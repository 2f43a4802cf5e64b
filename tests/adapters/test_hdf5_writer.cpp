// HDF5 sample writer: growing, chunked, compressed float32 datasets with
// attributes, committed atomically.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "adapters/hdf5_writer.h"
#include "core/common/hdf5_handle.h"
#include "core/common/version.h"

using gml::adapters::Hdf5SampleWriter;

namespace {

std::string read_attr(hid_t obj, const char* key) {
  hid_t a = H5Aopen(obj, key, H5P_DEFAULT);
  if (a < 0) return "<missing>";
  hid_t t = H5Aget_type(a);
  std::string s(H5Tget_size(t), '\0');
  H5Aread(a, t, &s[0]);
  H5Tclose(t);
  H5Aclose(a);
  return s.substr(0, s.find('\0'));
}

bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

}  // namespace

TEST(Hdf5SampleWriter, AppendsRowBlocksIntoCompressedChunkedDatasets) {
  const std::string path = ::testing::TempDir() + "gml_samples.h5";
  std::remove(path.c_str());
  {
    Hdf5SampleWriter w(path);
    const int samples = w.add_dataset("posterior/samples", {100, 3}, "", 16);
    const int ids = w.add_dataset("galaxy_index", {}, "");
    w.set_attribute("posterior/samples", "columns", "log_mass,log_sfr,z");
    w.set_attribute("/", "survey", "SDSS");
    for (int block = 0; block < 5; ++block) {  // 5 blocks of 7 galaxies
      std::vector<float> s(7 * 100 * 3), id(7);
      for (int g = 0; g < 7; ++g) {
        const int gal = block * 7 + g;
        id[g] = static_cast<float>(gal);
        for (int k = 0; k < 300; ++k) s[g * 300 + k] = static_cast<float>(gal) + 0.001f * k;
      }
      w.append(samples, 7, s.data());
      w.append(ids, 7, id.data());
    }
    EXPECT_EQ(w.rows(samples), 35);
    EXPECT_FALSE(exists(path)) << "visible before commit";
    w.commit("cat.fits", "gml-posterior sample --n 100", "fnv1a64:00000000deadbeef");
  }
  ASSERT_TRUE(exists(path));
  std::lock_guard<std::recursive_mutex> lock(gml::hdf5_mutex());
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_EQ(read_attr(f, "gml_library_version"), gml::library_version());
  EXPECT_EQ(read_attr(f, "command_line"), "gml-posterior sample --n 100");
  EXPECT_EQ(read_attr(f, "model_checksum"), "fnv1a64:00000000deadbeef");
  EXPECT_EQ(read_attr(f, "survey"), "SDSS");
  EXPECT_EQ(read_attr(f, "created").size(), 19u);
  hid_t d = H5Dopen2(f, "posterior/samples", H5P_DEFAULT);
  ASSERT_GE(d, 0);
  EXPECT_EQ(read_attr(d, "columns"), "log_mass,log_sfr,z");
  hid_t space = H5Dget_space(d);
  hsize_t dims[3] = {0, 0, 0};
  ASSERT_EQ(H5Sget_simple_extent_dims(space, dims, nullptr), 3);
  EXPECT_EQ(dims[0], 35u);
  EXPECT_EQ(dims[1], 100u);
  EXPECT_EQ(dims[2], 3u);
  hid_t dcpl = H5Dget_create_plist(d);
  EXPECT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
  hsize_t chunk[3] = {0, 0, 0};
  H5Pget_chunk(dcpl, 3, chunk);
  EXPECT_EQ(chunk[0], 16u);
  bool has_deflate = false;
  for (int i = 0; i < H5Pget_nfilters(dcpl); ++i) {
    unsigned flags = 0;
    size_t nelem = 0;
    if (H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nelem, nullptr, 0, nullptr,
                       nullptr) == H5Z_FILTER_DEFLATE) {
      has_deflate = true;
    }
  }
  EXPECT_TRUE(has_deflate);
  std::vector<float> all(35 * 300);
  ASSERT_GE(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
  for (int gal = 0; gal < 35; ++gal) {
    EXPECT_EQ(all[gal * 300 + 0], static_cast<float>(gal));
    EXPECT_EQ(all[gal * 300 + 299], static_cast<float>(gal) + 0.001f * 299);
  }
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
  std::remove(path.c_str());
}

TEST(Hdf5SampleWriter, AbandonedWriterLeavesTheOldFileAndRejectsMisuse) {
  const std::string path = ::testing::TempDir() + "gml_samples_atomic.h5";
  {
    Hdf5SampleWriter first(path);
    const int d = first.add_dataset("x", {2});
    const float v[] = {1, 2};
    first.append(d, 1, v);
    first.commit();
  }
  {
    Hdf5SampleWriter second(path);
    EXPECT_THROW(second.add_dataset("", {2}), std::invalid_argument);
    EXPECT_THROW(second.add_dataset("y", {0}), std::invalid_argument);
    EXPECT_THROW(second.add_dataset("y", {2}, "", 0, 11), std::invalid_argument);
    const int d = second.add_dataset("y", {2});
    EXPECT_THROW(second.add_dataset("y", {2}), std::invalid_argument);
    EXPECT_THROW(second.append(d + 1, 1, nullptr), std::invalid_argument);
    EXPECT_THROW(second.append(d, 1, nullptr), std::invalid_argument);
    EXPECT_THROW(second.set_attribute("nope", "k", "v"), std::invalid_argument);
    const float v[] = {3, 4};
    second.append(d, 1, v);
  }  // not committed
  std::lock_guard<std::recursive_mutex> lock(gml::hdf5_mutex());
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  gml::H5ErrorSilencer quiet;
  EXPECT_GT(H5Lexists(f, "x", H5P_DEFAULT), 0);
  EXPECT_LE(H5Lexists(f, "y", H5P_DEFAULT), 0);
  H5Fclose(f);
  std::remove(path.c_str());
}
