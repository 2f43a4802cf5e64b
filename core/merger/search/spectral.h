// Spectral clustering of latent vectors, as DeepGalaxy uses to group merger
// images without labels. The recipe, step by step so each step can be checked
// against an independent implementation:
//
//   1. kNN graph, symmetrised (an edge when either point is among the other's
//      n_neighbors nearest), with self-tuning Gaussian weights
//      W_ij = exp(-d_ij^2 / (sigma_i sigma_j)), sigma_i = distance from i to
//      its scale_neighbor-th nearest neighbour (Zelnik-Manor & Perona 2004),
//      so one bandwidth need not fit dense and sparse regions alike;
//   2. normalised Laplacian L_sym = I - D^-1/2 W D^-1/2;
//   3. its n_clusters smallest eigenvectors (dense symmetric eigensolver in
//      float64, so at most max_points points: the matrix is N x N);
//   4. rows of the eigenvector matrix scaled to unit length (Ng, Jordan &
//      Weiss 2002);
//   5. k-means on those rows, k-means++ seeding from a given seed, several
//      restarts, the lowest inertia kept.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace gml::merger {

struct SpectralOptions {
  int64_t n_clusters = 2;
  int64_t n_neighbors = 10;    // kNN graph degree (before symmetrisation)
  int64_t scale_neighbor = 7;  // sigma_i = distance to this neighbour (1 = nearest)
  uint64_t seed = 0;           // k-means++ seeding
  int64_t n_init = 10;         // k-means restarts
  int64_t max_iter = 300;      // Lloyd iterations per restart
  double tol = 1e-4;           // relative to the mean per-column variance
  int64_t max_points = 20000;  // refuse larger inputs (dense N x N eigensolve)
};

struct SpectralResult {
  at::Tensor labels;        // (N) int64 in [0, n_clusters), numbered by first occurrence
  at::Tensor eigenvalues;   // (n_clusters) float64, ascending, of L_sym
  at::Tensor eigenvectors;  // (N, n_clusters) float64, sign fixed (largest |entry| positive)
  at::Tensor embedding;     // (N, n_clusters) float64, eigenvector rows scaled to unit length
  double inertia = 0;       // k-means objective of the kept restart
};

// Dense self-tuning kNN affinity (step 1) of points x (N, D), float64 (N, N),
// symmetric, zero diagonal. A point whose sigma is 0 (duplicates) is given a
// tiny positive sigma: exact duplicates get weight 1, others 0.
// Throws Error(InvalidArgument) for a non-2-D x, NaN/inf rows, n_neighbors
// outside [1, N-1], scale_neighbor outside [1, n_neighbors], N > max_points.
at::Tensor self_tuning_affinity(const at::Tensor& x, const SpectralOptions& options);

// L_sym = I - D^-1/2 W D^-1/2 of a symmetric non-negative W (N, N), float64.
// An isolated node (degree 0) gets a zero row and column, as in
// scipy.sparse.csgraph.laplacian(normed=True).
at::Tensor normalized_laplacian(const at::Tensor& affinity);

// Steps 2-5 on a given affinity (N, N); the labels are what
// spectral_clustering returns for points whose affinity this is.
// Throws Error(InvalidArgument) for a non-square or asymmetric W, negative or
// non-finite weights, n_clusters outside [1, N], N > max_points, n_init < 1,
// max_iter < 1.
SpectralResult spectral_clustering_affinity(const at::Tensor& affinity,
                                            const SpectralOptions& options);

// The whole recipe on points x (N, D) (any floating dtype, any device).
SpectralResult spectral_clustering(const at::Tensor& x, const SpectralOptions& options);

struct KMeansResult {
  at::Tensor labels;   // (N) int64, numbered by first occurrence
  at::Tensor centers;  // (k, D) float64, in the numbering of labels
  double inertia = 0;  // sum of squared distances to the assigned centers
  int64_t iterations = 0;
};

// Lloyd's k-means on x (N, D) with greedy k-means++ seeding (2 + ln k local
// trials, as scikit-learn), n_init restarts from one generator seeded with
// `seed`, keeping the lowest inertia. An empty cluster is re-seeded at the
// point farthest from its center.
// Throws Error(InvalidArgument) for k outside [1, N], n_init < 1, max_iter < 1,
// NaN/inf rows.
KMeansResult kmeans(const at::Tensor& x, int64_t k, uint64_t seed, int64_t n_init = 10,
                    int64_t max_iter = 300, double tol = 1e-4);

}  // namespace gml::merger
