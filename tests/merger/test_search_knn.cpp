// Exact kNN against a brute-force float64 reference: every chunk size gives
// the same answer, ties go to the lower index even across chunk boundaries
// and the top-k cut, exclude_self drops exactly the query's own row, and bad
// inputs are refused with a message that names them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "core/common/error.h"
#include "core/merger/search/knn.h"

using gml::Status;
using gml::merger::knn_search;
using gml::merger::KnnResult;
using gml::merger::Metric;

namespace {

// Reference: all distances in float64 by explicit differences, each row
// sorted by (distance, index).
KnnResult brute_force(const torch::Tensor& q, const torch::Tensor& b, int64_t k, Metric metric,
                      bool exclude_self = false) {
  const torch::Tensor qd = q.to(torch::kDouble), bd = b.to(torch::kDouble);
  torch::Tensor d;
  if (metric == Metric::L2) {
    d = (qd.unsqueeze(1) - bd.unsqueeze(0)).pow(2).sum(2).sqrt();
  } else {
    const torch::Tensor qn = qd / qd.norm(2, 1, true), bn = bd / bd.norm(2, 1, true);
    d = (1.0 - qn.mm(bn.t())).clamp(0.0, 2.0);
  }
  const int64_t nq = q.size(0), n = b.size(0);
  KnnResult r{torch::empty({nq, k}, torch::kLong), torch::empty({nq, k}, torch::kDouble)};
  auto da = d.accessor<double, 2>();
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    if (exclude_self) idx.erase(idx.begin() + i);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t x, int64_t y) { return da[i][x] < da[i][y]; });
    for (int64_t j = 0; j < k; ++j) {
      r.indices[i][j] = idx[static_cast<size_t>(j)];
      r.distances[i][j] = da[i][idx[static_cast<size_t>(j)]];
    }
  }
  return r;
}

void expect_same(const KnnResult& got, const KnnResult& want, double tol) {
  ASSERT_EQ(got.indices.sizes(), want.indices.sizes());
  EXPECT_TRUE(torch::equal(got.indices.cpu(), want.indices.cpu()))
      << "first differing rows:\n"
      << (got.indices.cpu() != want.indices.cpu()).any(1).nonzero().slice(0, 0, 3);
  EXPECT_LE(
      (got.distances.cpu().to(torch::kDouble) - want.distances.cpu()).abs().max().item<double>(),
      tol);
}

Status knn_status_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const gml::Error& e) {
    if (message) *message = e.what();
    return e.status();
  }
  return Status::Ok;
}

}  // namespace

TEST(Knn, MatchesBruteForceForEveryChunkSize) {
  torch::manual_seed(1);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const torch::Tensor base = torch::randn({1000, 16}, opts);
  const torch::Tensor queries = torch::randn({37, 16}, opts);
  for (int64_t k : {1, 5, 50}) {
    const KnnResult want = brute_force(queries, base, k, Metric::L2);
    for (int64_t chunk : {1, 7, 64, 999, 1000, 4096}) {
      SCOPED_TRACE("k = " + std::to_string(k) + ", chunk = " + std::to_string(chunk));
      const KnnResult got = knn_search(queries, base, k, Metric::L2, chunk);
      EXPECT_EQ(got.indices.scalar_type(), torch::kLong);
      EXPECT_EQ(got.distances.scalar_type(), torch::kDouble);
      expect_same(got, want, 1e-9);
    }
  }
  // k = N: the whole base, in order.
  expect_same(knn_search(queries, base.slice(0, 0, 20), 20, Metric::L2, 6),
              brute_force(queries, base.slice(0, 0, 20), 20, Metric::L2), 1e-9);
}

TEST(Knn, TiesGoToTheLowerIndexAcrossChunksAndTheCut) {
  // Five distinct integer points, each repeated: every query has long runs of
  // exactly equal distances that straddle chunk boundaries and the k-th place.
  const torch::Tensor distinct =
      torch::tensor({0., 0., 1., 0., 0., 2., 3., 3., -1., 1.}, torch::kDouble).view({5, 2});
  const torch::Tensor perm = torch::arange(200, torch::kLong).remainder(5);
  const torch::Tensor base = distinct.index_select(0, perm);  // row r is point r % 5
  const torch::Tensor queries =
      torch::tensor({0., 0., 0.5, 0.5, 3., 3., -1., 0.}, torch::kDouble).view({4, 2});
  for (int64_t k : {1, 3, 17, 40, 41, 199}) {
    const KnnResult want = brute_force(queries, base, k, Metric::L2);
    for (int64_t chunk : {1, 3, 7, 16, 200, 4096}) {
      SCOPED_TRACE("k = " + std::to_string(k) + ", chunk = " + std::to_string(chunk));
      expect_same(knn_search(queries, base, k, Metric::L2, chunk), want, 1e-12);
    }
  }
  // Spot check of the rule itself: the 3 nearest to (0, 0) are rows 0, 5, 10.
  const KnnResult r = knn_search(queries.slice(0, 0, 1), base, 3, Metric::L2, 4);
  EXPECT_EQ(r.indices[0][0].item<int64_t>(), 0);
  EXPECT_EQ(r.indices[0][1].item<int64_t>(), 5);
  EXPECT_EQ(r.indices[0][2].item<int64_t>(), 10);
}

TEST(Knn, ExcludeSelfDropsOnlyTheQuerysOwnRow) {
  torch::manual_seed(2);
  torch::Tensor x = torch::randn({300, 8}, torch::kDouble);
  x[17] = x[250];  // a duplicate elsewhere is still a neighbour, at distance 0
  for (int64_t chunk : {1, 13, 300, 4096}) {
    SCOPED_TRACE("chunk = " + std::to_string(chunk));
    const KnnResult got = knn_search(x, x, 6, Metric::L2, chunk, /*exclude_self=*/true);
    expect_same(got, brute_force(x, x, 6, Metric::L2, /*exclude_self=*/true), 1e-9);
    const torch::Tensor self = torch::arange(300, torch::kLong).unsqueeze(1);
    EXPECT_FALSE((got.indices == self).any().item<bool>());
    EXPECT_EQ(got.indices[17][0].item<int64_t>(), 250);
    EXPECT_EQ(got.distances[17][0].item<double>(), 0.0);
  }
  // k may reach N - 1.
  const torch::Tensor small = x.slice(0, 0, 9);
  expect_same(knn_search(small, small, 8, Metric::L2, 4, true),
              brute_force(small, small, 8, Metric::L2, true), 1e-9);
}

TEST(Knn, Cosine) {
  torch::manual_seed(3);
  const torch::Tensor base = torch::randn({500, 24}, torch::kDouble);
  const torch::Tensor queries = torch::randn({21, 24}, torch::kDouble);
  for (int64_t chunk : {9, 4096}) {
    expect_same(knn_search(queries, base, 10, Metric::Cosine, chunk),
                brute_force(queries, base, 10, Metric::Cosine), 1e-12);
  }
  // Scale does not matter to cosine: 3 * base[4] is at distance 0 from base[4].
  const KnnResult r = knn_search(base[4].unsqueeze(0) * 3, base, 1, Metric::Cosine);
  EXPECT_EQ(r.indices[0][0].item<int64_t>(), 4);
  EXPECT_NEAR(r.distances[0][0].item<double>(), 0.0, 1e-12);
}

TEST(Knn, Float32GivesTheSameNeighbours) {
  torch::manual_seed(4);
  const torch::Tensor base = torch::randn({2000, 32});
  const torch::Tensor queries = torch::randn({50, 32});
  const KnnResult got = knn_search(queries, base, 8, Metric::L2, 256);
  EXPECT_EQ(got.distances.scalar_type(), torch::kFloat);
  expect_same(got, brute_force(queries, base, 8, Metric::L2), 1e-4);
}

TEST(Knn, QueryBlocksAreSeamless) {
  // A base of 2^14 rows makes query blocks of 1024 rows; 1500 queries span two.
  torch::manual_seed(5);
  const torch::Tensor base = torch::randn({16384, 4}, torch::kDouble);
  const torch::Tensor queries = torch::randn({1500, 4}, torch::kDouble);
  const KnnResult all = knn_search(queries, base, 4, Metric::L2, 16384);
  const KnnResult tail = knn_search(queries.slice(0, 1000), base, 4, Metric::L2, 16384);
  EXPECT_TRUE(torch::equal(all.indices.slice(0, 1000), tail.indices));
  // Rows on both sides of the block boundary at 1024, against the reference.
  expect_same(KnnResult{all.indices.slice(0, 960, 1090), all.distances.slice(0, 960, 1090)},
              brute_force(queries.slice(0, 960, 1090), base, 4, Metric::L2), 1e-9);
}

TEST(Knn, EmptyQueriesGiveEmptyResult) {
  const KnnResult r = knn_search(torch::empty({0, 3}), torch::randn({5, 3}), 2);
  EXPECT_EQ(r.indices.sizes(), (std::vector<int64_t>{0, 2}));
}

TEST(Knn, ResultIsAnOrdinaryTensor) {
  const KnnResult r = knn_search(torch::randn({3, 2}), torch::randn({5, 2}), 2);
  EXPECT_FALSE(r.indices.is_inference());
  EXPECT_FALSE(r.distances.is_inference());
}

TEST(Knn, RejectsBadInput) {
  const torch::Tensor base = torch::randn({10, 4});
  const torch::Tensor q = torch::randn({3, 4});
  std::string msg;
  EXPECT_EQ(knn_status_of([&] { knn_search(q, base, 0); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("k = 0"), std::string::npos) << msg;
  EXPECT_EQ(knn_status_of([&] { knn_search(q, base, 11); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("k = 11"), std::string::npos) << msg;
  EXPECT_EQ(knn_status_of([&] { knn_search(base, base, 10, Metric::L2, 4096, true); }, &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("exclude_self"), std::string::npos) << msg;
  EXPECT_EQ(knn_status_of([&] { knn_search(q, base, 2, Metric::L2, 4096, true); }),
            Status::InvalidArgument);
  EXPECT_EQ(knn_status_of(
                [&] {
                  knn_search(torch::randn({3, 5}), base, 2);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("D = 5"), std::string::npos) << msg;
  EXPECT_EQ(knn_status_of(
                [&] {
                  knn_search(q, torch::empty({0, 4}), 1);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  EXPECT_EQ(knn_status_of([&] { knn_search(q, base, 2, Metric::L2, 0); }), Status::InvalidArgument);
  EXPECT_EQ(knn_status_of([&] { knn_search(torch::randn({4}), base, 2); }),
            Status::InvalidArgument);
  EXPECT_EQ(knn_status_of([&] { knn_search(torch::Tensor(), base, 2); }), Status::InvalidArgument);

  torch::Tensor bad = base.clone();
  bad[3][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(knn_status_of([&] { knn_search(q, bad, 2); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("base row 3 contains NaN"), std::string::npos) << msg;
  torch::Tensor badq = q.clone();
  badq[2][0] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(knn_status_of([&] { knn_search(badq, base, 2); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("queries row 2"), std::string::npos) << msg;

  torch::Tensor zero = base.clone();
  zero[6].zero_();
  EXPECT_EQ(knn_status_of([&] { knn_search(q, zero, 2, Metric::Cosine); }, &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("base row 6"), std::string::npos) << msg;
}

TEST(Knn, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: CPU results only";
  torch::manual_seed(6);
  const torch::Tensor base = torch::randn({5000, 16}, torch::kDouble);
  const torch::Tensor queries = torch::randn({64, 16}, torch::kDouble);
  const KnnResult cpu = knn_search(queries, base, 10, Metric::L2, 512);
  const KnnResult gpu = knn_search(queries.cuda(), base.cuda(), 10, Metric::L2, 512);
  EXPECT_TRUE(gpu.indices.is_cuda());
  expect_same(gpu, cpu, 1e-9);
  // Ties on the GPU too.
  const torch::Tensor dup = torch::tensor({0., 1., 2.}, torch::kDouble)
                                .index_select(0, torch::arange(90).remainder(3))
                                .unsqueeze(1);
  const KnnResult t = knn_search(dup.slice(0, 0, 1).cuda(), dup.cuda(), 31, Metric::L2, 7);
  expect_same(t, brute_force(dup.slice(0, 0, 1), dup, 31, Metric::L2), 0);
}
