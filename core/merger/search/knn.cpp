#include "core/merger/search/knn.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/common/error.h"

namespace gml::merger {

namespace {

// Distances held at once per (query block x base chunk): 16 M entries, i.e.
// 64 MB in float32, whatever the sizes of the queries and the base.
constexpr int64_t kBlockEntries = int64_t{1} << 24;

at::ScalarType compute_type(const at::Tensor& a, const at::Tensor& b) {
  return (a.scalar_type() == at::kDouble || b.scalar_type() == at::kDouble) ? at::kDouble
                                                                            : at::kFloat;
}

// Rows of x scaled to unit length, for the cosine metric; a zero row has no
// direction, so it is an error rather than a silent NaN.
at::Tensor unit_rows(const at::Tensor& x, const char* what) {
  const at::Tensor norms = at::linalg_vector_norm(x, 2, {1}, /*keepdim=*/true);
  const at::Tensor zero = (norms.squeeze(1) == 0);
  if (zero.any().item<bool>()) {
    const int64_t row = zero.nonzero()[0][0].item<int64_t>();
    fail(Status::InvalidArgument, std::string("knn_search: ") + what + " row " +
                                      std::to_string(row) +
                                      " is all zeros, which has no cosine distance");
  }
  return x / norms;
}

// Orders each row of (values, indices) by value, then by index.
std::pair<at::Tensor, at::Tensor> order_by_value_then_index(const at::Tensor& values,
                                                            const at::Tensor& indices) {
  auto [idx_sorted, by_index] = at::sort(indices, /*stable=*/true, 1, /*descending=*/false);
  const at::Tensor v = values.gather(1, by_index);
  auto [v_sorted, by_value] = at::sort(v, /*stable=*/true, 1, /*descending=*/false);
  return {v_sorted, idx_sorted.gather(1, by_value)};
}

// The kk smallest entries of each row of d (B, c), as (values, columns)
// ordered by value then column. at::topk picks an arbitrary member of a tie
// that straddles the cut, so rows where more than kk entries are <= the kk-th
// value are redone with a stable full sort, which keeps the lower columns.
std::pair<at::Tensor, at::Tensor> chunk_top(const at::Tensor& d, int64_t kk) {
  if (kk >= d.size(1)) {
    auto [v, c] = at::sort(d, /*stable=*/true, 1, /*descending=*/false);
    return {v, c};
  }
  auto [v, c] = at::topk(d, kk, 1, /*largest=*/false, /*sorted=*/true);
  const at::Tensor kth = v.narrow(1, kk - 1, 1);
  const at::Tensor straddles = (d <= kth).sum(1) > kk;
  auto [vals, cols] = order_by_value_then_index(v, c);
  if (straddles.any().item<bool>()) {
    const at::Tensor rows = straddles.nonzero().squeeze(1);
    auto [sv, sc] = at::sort(d.index_select(0, rows), /*stable=*/true, 1, /*descending=*/false);
    vals.index_copy_(0, rows, sv.narrow(1, 0, kk));
    cols.index_copy_(0, rows, sc.narrow(1, 0, kk));
  }
  return {vals, cols};
}

// The expansion |q|^2 + |b|^2 - 2 q.b cancels where it matters most: a
// duplicate row came out 6e-8 (sqrt of a rounding residue) from its copy
// with one BLAS, 0 with another. The kept neighbours' distances are
// recomputed from differences, in row blocks of bounded size, and re-sorted
// (stable, so ties keep index order). Replaces squared values with distances.
void exact_l2(const at::Tensor& queries, const at::Tensor& base, at::Tensor& values,
              at::Tensor& indices) {
  const int64_t rows = values.size(0), k = values.size(1), dim = base.size(1);
  const int64_t block = std::max<int64_t>(1, kBlockEntries / std::max<int64_t>(1, k * dim));
  at::Tensor exact = at::empty_like(values);
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t m = std::min(block, rows - r0);
    const at::Tensor neighbours =
        base.index_select(0, indices.narrow(0, r0, m).reshape(-1)).view({m, k, dim});
    exact.narrow(0, r0, m).copy_(
        (queries.narrow(0, r0, m).unsqueeze(1) - neighbours).pow(2).sum(2).sqrt());
  }
  auto [sorted, perm] = at::sort(exact, /*stable=*/true, 1, /*descending=*/false);
  values = sorted;
  indices = indices.gather(1, perm);
}

}  // namespace

void require_finite_rows(const at::Tensor& x, const char* what) {
  if (!at::isFloatingType(x.scalar_type()) || x.numel() == 0) return;
  const at::Tensor bad = at::isfinite(x).all(1).logical_not();
  if (!bad.any().item<bool>()) return;
  const int64_t row = bad.nonzero()[0][0].item<int64_t>();
  const bool nan = at::isnan(x.select(0, row)).any().item<bool>();
  fail(Status::InvalidArgument, std::string(what) + " row " + std::to_string(row) + " contains " +
                                    (nan ? "NaN" : "an infinite value"));
}

KnnResult knn_search(const at::Tensor& queries, const at::Tensor& base, int64_t k, Metric metric,
                     int64_t chunk, bool exclude_self) {
  require(queries.defined() && queries.dim() == 2,
          "knn_search: queries must be a (Q, D) tensor, got " +
              (queries.defined() ? std::to_string(queries.dim()) + "-D" : std::string("none")));
  require(base.defined() && base.dim() == 2,
          "knn_search: base must be a (N, D) tensor, got " +
              (base.defined() ? std::to_string(base.dim()) + "-D" : std::string("none")));
  const int64_t q = queries.size(0), n = base.size(0), dim = base.size(1);
  require(n > 0, "knn_search: the base is empty (0 rows)");
  require(dim > 0, "knn_search: the base has 0 columns");
  require(queries.size(1) == dim,
          "knn_search: queries have D = " + std::to_string(queries.size(1)) +
              " but the base has D = " + std::to_string(dim));
  require(queries.device() == base.device(), "knn_search: queries are on " +
                                                 queries.device().str() + " but the base is on " +
                                                 base.device().str());
  require(!exclude_self || q == n,
          "knn_search: exclude_self needs the queries to be the base, but Q = " +
              std::to_string(q) + " and N = " + std::to_string(n));
  const int64_t max_k = exclude_self ? n - 1 : n;
  require(k >= 1 && k <= max_k, "knn_search: k = " + std::to_string(k) + " is outside [1, " +
                                    std::to_string(max_k) + "] for a base of " + std::to_string(n) +
                                    " rows" + (exclude_self ? " with exclude_self" : ""));
  require(chunk >= 1, "knn_search: chunk = " + std::to_string(chunk) + " must be positive");

  const at::ScalarType type = compute_type(queries, base);
  // Allocated outside InferenceMode so callers get ordinary tensors.
  KnnResult out;
  out.indices = at::empty({q, k}, base.options().dtype(at::kLong));
  out.distances = at::empty({q, k}, base.options().dtype(type));
  if (q == 0) return out;

  c10::InferenceMode guard;
  at::Tensor qx = queries.to(type), bx = base.to(type);
  require_finite_rows(qx, "knn_search: queries");
  require_finite_rows(bx, "knn_search: base");
  at::Tensor b_sq;
  if (metric == Metric::Cosine) {
    qx = unit_rows(qx, "queries");
    bx = unit_rows(bx, "base");
  } else {
    b_sq = bx.pow(2).sum(1);
  }
  const int64_t step = std::min(chunk, n);
  const int64_t q_block = std::max<int64_t>(1, kBlockEntries / step);
  const double inf = std::numeric_limits<double>::infinity();

  for (int64_t q0 = 0; q0 < q; q0 += q_block) {
    const int64_t rows = std::min(q_block, q - q0);
    const at::Tensor qb = qx.narrow(0, q0, rows);
    const at::Tensor q_sq = metric == Metric::L2 ? qb.pow(2).sum(1, true) : at::Tensor();
    at::Tensor best_v, best_i;
    for (int64_t b0 = 0; b0 < n; b0 += step) {
      const int64_t cols = std::min(step, n - b0);
      const at::Tensor bb = bx.narrow(0, b0, cols);
      at::Tensor d;
      if (metric == Metric::L2) {
        d = at::addmm(q_sq + b_sq.narrow(0, b0, cols).unsqueeze(0), qb, bb.t(), 1.0, -2.0)
                .clamp_min_(0.0);
      } else {
        d = (1.0 - at::mm(qb, bb.t())).clamp_(0.0, 2.0);
      }
      if (exclude_self) {
        const int64_t lo = std::max(q0, b0), hi = std::min(q0 + rows, b0 + cols);
        if (lo < hi) {
          const at::Tensor r = at::arange(lo, hi, d.options().dtype(at::kLong));
          d.index_put_({r - q0, r - b0}, inf);
        }
      }
      auto [v, c] = chunk_top(d, std::min(k, cols));
      c.add_(b0);
      if (!best_v.defined()) {
        best_v = v;
        best_i = c;
        continue;
      }
      // Everything kept so far has lower base indices than this chunk, so a
      // stable sort of the concatenation keeps ties in index order.
      const at::Tensor all_v = at::cat({best_v, v}, 1), all_i = at::cat({best_i, c}, 1);
      auto [sv, perm] = at::sort(all_v, /*stable=*/true, 1, /*descending=*/false);
      const int64_t keep = std::min(k, all_v.size(1));
      best_v = sv.narrow(1, 0, keep);
      best_i = all_i.gather(1, perm.narrow(1, 0, keep));
    }
    if (metric == Metric::L2) exact_l2(qb, bx, best_v, best_i);
    out.indices.narrow(0, q0, rows).copy_(best_i);
    out.distances.narrow(0, q0, rows).copy_(best_v);
  }
  return out;
}

}  // namespace gml::merger
