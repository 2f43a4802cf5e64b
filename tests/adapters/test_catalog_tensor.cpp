// Catalog rows as tensors: same values and flags as the buffer reader, with
// the bad rows marked for a model to skip.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <vector>

#include "adapters/catalog.h"
#include "adapters/catalog_tensor.h"

using gml::adapters::CatalogReader;

TEST(CatalogTensor, MatchesBufferReadAndMarksFlaggedRows) {
  CatalogReader reader(std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits");
  const auto mapping = reader.bind(
      "u=mag(MODELFLUX[0]),r=mag(MODELFLUX[2]),du=magerr(MODELFLUX[0],MODELFLUX_IVAR[0]),z=Z");
  const int64_t n = reader.nrows();
  auto t = gml::adapters::read_catalog_tensors(reader, mapping, 0, n);
  ASSERT_EQ(t.values.sizes(), (at::IntArrayRef{n, 4}));
  ASSERT_EQ(t.values.scalar_type(), at::kFloat);

  std::vector<float> buf(static_cast<size_t>(n * 4));
  std::vector<int32_t> flags(static_cast<size_t>(n));
  reader.read(mapping, 0, n, buf.data(), flags.data());
  auto want = at::from_blob(buf.data(), {n, 4}, at::kFloat);
  EXPECT_TRUE(at::equal(at::nan_to_num(t.values, -1e30), at::nan_to_num(want, -1e30)));
  EXPECT_TRUE(at::equal(t.flags, at::from_blob(flags.data(), {n}, at::kInt)));

  // The 12 galaxies with u flux <= 0 have no u magnitude: flagged, not dropped.
  EXPECT_EQ((~t.good).sum().item<int64_t>(), 12);
  EXPECT_TRUE(at::isfinite(t.values.index({t.good})).all().item<bool>());
  EXPECT_TRUE(at::isnan(t.values.index({~t.good}).select(1, 0)).all().item<bool>());
}

TEST(CatalogTensor, EmptyRangeAndBadCount) {
  CatalogReader reader(std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits");
  const auto mapping = reader.bind("z=Z");
  auto t = gml::adapters::read_catalog_tensors(reader, mapping, 5, 0);
  EXPECT_EQ(t.values.size(0), 0);
  EXPECT_THROW(gml::adapters::read_catalog_tensors(reader, mapping, 0, -1), std::exception);
}
