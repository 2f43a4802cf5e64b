// A k-d tree for exact nearest-neighbour queries in a few (<= ~20)
// dimensions, used by the training-support check (support.h).
#pragma once

#include <cstdint>
#include <vector>

namespace gml::sed {

class KdTree {
 public:
  /// Copies points[n][dim] (row-major, all finite). Throws gml::Error for
  /// n < 1, dim < 1, leaf_size < 1 or a non-finite coordinate.
  KdTree(const double* points, int64_t n, int dim, int leaf_size = 16);

  int64_t size() const { return n_; }
  int dim() const { return dim_; }

  struct Neighbour {
    int64_t index = -1;        ///< row in the points given to the constructor
    double distance_sq = 0.0;  ///< squared Euclidean distance
  };
  /// The nearest point to q[dim] other than row `exclude` (-1: none
  /// excluded). Thread-safe.
  Neighbour nearest(const double* q, int64_t exclude = -1) const;

 private:
  struct Node {
    int64_t begin = 0;
    int64_t end = 0;
    int split_dim = -1;  // -1: leaf
    double split = 0.0;
    int32_t left = -1;
    int32_t right = -1;
  };
  int32_t build(int64_t begin, int64_t end);
  void search(int32_t node, const double* q, int64_t exclude, Neighbour& best) const;

  int64_t n_;
  int dim_;
  int leaf_size_;
  std::vector<double> pts_;     // copy of the points in tree order, [n][dim]
  std::vector<int64_t> index_;  // original row of each reordered point
  std::vector<Node> nodes_;
};

}  // namespace gml::sed
