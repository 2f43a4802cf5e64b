#include "core/posterior/sed/kdtree.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/common/error.h"

namespace gml::sed {

KdTree::KdTree(const double* points, int64_t n, int dim, int leaf_size)
    : n_(n), dim_(dim), leaf_size_(leaf_size) {
  require(n >= 1, "KdTree: need at least one point, got " + std::to_string(n));
  require(dim >= 1, "KdTree: dim must be >= 1, got " + std::to_string(dim));
  require(leaf_size >= 1, "KdTree: leaf_size must be >= 1, got " + std::to_string(leaf_size));
  const size_t total = static_cast<size_t>(n) * static_cast<size_t>(dim);
  for (size_t k = 0; k < total; ++k) {
    require(std::isfinite(points[k]), "KdTree: point " +
                                          std::to_string(k / static_cast<size_t>(dim)) +
                                          " has a non-finite coordinate");
  }
  const size_t d = static_cast<size_t>(dim);
  pts_.assign(points, points + total);
  index_.resize(static_cast<size_t>(n));
  std::iota(index_.begin(), index_.end(), int64_t{0});
  nodes_.reserve(static_cast<size_t>(2 * (n / leaf_size + 1)));
  build(0, n);
  // Store the points in tree order so that a leaf is one contiguous block.
  std::vector<double> sorted(total);
  for (size_t k = 0; k < static_cast<size_t>(n); ++k) {
    std::copy_n(pts_.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(index_[k]) * d), d,
                sorted.begin() + static_cast<std::ptrdiff_t>(k * d));
  }
  pts_.swap(sorted);
}

int32_t KdTree::build(int64_t begin, int64_t end) {
  const int32_t id = static_cast<int32_t>(nodes_.size());
  nodes_.push_back(Node{begin, end, -1, 0.0, -1, -1});
  if (end - begin <= leaf_size_) return id;
  // Split on the dimension of largest spread, at the median.
  const size_t d = static_cast<size_t>(dim_);
  int best_dim = 0;
  double best_spread = -1.0;
  for (size_t j = 0; j < d; ++j) {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (int64_t k = begin; k < end; ++k) {
      const double v = pts_[static_cast<size_t>(index_[static_cast<size_t>(k)]) * d + j];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (hi - lo > best_spread) {
      best_spread = hi - lo;
      best_dim = static_cast<int>(j);
    }
  }
  if (best_spread <= 0.0) return id;  // all points equal: keep as a leaf
  const int64_t mid = begin + (end - begin) / 2;
  const size_t bd = static_cast<size_t>(best_dim);
  std::nth_element(index_.begin() + begin, index_.begin() + mid, index_.begin() + end,
                   [&](int64_t a, int64_t b) {
                     return pts_[static_cast<size_t>(a) * d + bd] <
                            pts_[static_cast<size_t>(b) * d + bd];
                   });
  const double split = pts_[static_cast<size_t>(index_[static_cast<size_t>(mid)]) * d + bd];
  const int32_t left = build(begin, mid);
  const int32_t right = build(mid, end);
  Node& node = nodes_[static_cast<size_t>(id)];
  node.split_dim = best_dim;
  node.split = split;
  node.left = left;
  node.right = right;
  return id;
}

void KdTree::search(int32_t id, const double* q, int64_t exclude, Neighbour& best) const {
  const Node& node = nodes_[static_cast<size_t>(id)];
  const size_t d = static_cast<size_t>(dim_);
  if (node.split_dim < 0) {
    for (int64_t k = node.begin; k < node.end; ++k) {
      const int64_t row = index_[static_cast<size_t>(k)];
      if (row == exclude) continue;
      const double* p = pts_.data() + static_cast<size_t>(k) * d;
      double s = 0.0;
      for (size_t j = 0; j < d && s < best.distance_sq; ++j) {
        const double diff = p[j] - q[j];
        s += diff * diff;
      }
      if (s < best.distance_sq) {
        best.distance_sq = s;
        best.index = row;
      }
    }
    return;
  }
  // Points equal to the split value can sit on either side, so the far
  // side is pruned only when strictly farther than the best distance.
  const double diff = q[node.split_dim] - node.split;
  const int32_t near = diff < 0.0 ? node.left : node.right;
  const int32_t far = diff < 0.0 ? node.right : node.left;
  search(near, q, exclude, best);
  if (diff * diff <= best.distance_sq) search(far, q, exclude, best);
}

KdTree::Neighbour KdTree::nearest(const double* q, int64_t exclude) const {
  Neighbour best;
  best.distance_sq = std::numeric_limits<double>::infinity();
  search(0, q, exclude, best);
  return best;
}

}  // namespace gml::sed
