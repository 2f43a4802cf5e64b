#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/distributed/backend.h"

TEST(RowBlock, ContiguousBalancedAndComplete) {
  for (int64_t n : {0, 1, 7, 10, 1001}) {
    for (int size : {1, 2, 3, 8}) {
      int64_t next = 0, lo = n, hi = 0;
      for (int r = 0; r < size; ++r) {
        auto [b, e] = gml::dist::row_block(n, r, size);
        EXPECT_EQ(b, next);
        next = e;
        lo = std::min(lo, e - b);
        hi = std::max(hi, e - b);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(hi - lo, 1);
    }
  }
  EXPECT_THROW(gml::dist::row_block(10, 2, 2), gml::Error);
}

TEST(Backend, NoneAndAutoOutsideMpirunAreSingleProcess) {
  if (gml::dist::launched_by_mpi()) GTEST_SKIP() << "running under an MPI launcher";
  for (const char* name : {"none", "auto"}) {
    auto b = gml::dist::open_backend(name);
    EXPECT_EQ(b->name(), "none");
    EXPECT_EQ(b->rank(), 0);
    EXPECT_EQ(b->size(), 1);
    float x[2] = {1, 2};
    b->allreduce_sum(x, 2);
    EXPECT_EQ(x[1], 2.0f);
  }
  EXPECT_THROW(gml::dist::open_backend("nccl"), gml::Error);
}
