#include "core/merger/search/spectral.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "core/common/error.h"
#include "core/merger/search/knn.h"

namespace gml::merger {

namespace {

// Smallest sigma used for a point with duplicates: sigma_i * sigma_j stays a
// normal double, so d^2 / (sigma_i sigma_j) is 0 for a duplicate and huge
// (weight 0) otherwise, never 0 / 0.
constexpr double kTinySigma = 1e-150;

void check_size(int64_t n, const SpectralOptions& o) {
  require(o.max_points >= 1, "spectral clustering: max_points = " + std::to_string(o.max_points) +
                                 " must be positive");
  require(n <= o.max_points,
          "spectral clustering: " + std::to_string(n) +
              " points exceed max_points = " + std::to_string(o.max_points) +
              " (the dense N x N eigensolve needs 16 N^2 bytes and O(N^3) time); "
              "subsample, or cluster a random subset and assign the rest by kNN");
}

// Squared distances (N, M) between rows of x and rows of c, given ||x||^2.
at::Tensor squared_distances(const at::Tensor& x, const at::Tensor& x_sq, const at::Tensor& c) {
  return at::addmm(x_sq.unsqueeze(1) + c.pow(2).sum(1).unsqueeze(0), x, c.t(), 1.0, -2.0)
      .clamp_min_(0.0);
}

// Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's
// 2 + ln k candidates per step, keeping the one that lowers the potential
// most). Random draws come from the CPU generator, so a seed gives the same
// centers on every device.
at::Tensor plus_plus(const at::Tensor& x, const at::Tensor& x_sq, int64_t k, at::Generator& gen) {
  const int64_t n = x.size(0);
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const at::TensorOptions cpu_long = at::TensorOptions().dtype(at::kLong);
  const at::TensorOptions cpu_double = at::TensorOptions().dtype(at::kDouble);
  at::Tensor centers = at::empty({k, x.size(1)}, x.options());
  const at::Tensor first = at::randint(n, {1}, gen, cpu_long).to(x.device());
  centers.narrow(0, 0, 1).copy_(x.index_select(0, first));
  at::Tensor closest = squared_distances(x, x_sq, centers.narrow(0, 0, 1)).squeeze(1);
  at::Tensor potential = closest.sum();
  for (int64_t c = 1; c < k; ++c) {
    const at::Tensor cumulative = closest.cumsum(0).cpu();
    const at::Tensor draws = at::rand({trials}, gen, cpu_double) * potential.cpu();
    const at::Tensor candidates =
        at::searchsorted(cumulative, draws).clamp_max_(n - 1).to(x.device());
    const at::Tensor d = at::minimum(squared_distances(x, x_sq, x.index_select(0, candidates)),
                                     closest.unsqueeze(1));
    const at::Tensor pots = d.sum(0);
    const at::Tensor best = pots.argmin();
    centers.narrow(0, c, 1).copy_(x.index_select(0, candidates.index_select(0, best.view({1}))));
    closest = d.index_select(1, best.view({1})).squeeze(1);
    potential = pots.index_select(0, best.view({1})).squeeze(0);
  }
  return centers;
}

// Renumbers clusters by the first point that belongs to each.
void renumber(KMeansResult& r, int64_t k) {
  const int64_t n = r.labels.size(0);
  const at::Tensor first =
      at::full({k}, n, r.labels.options())
          .scatter_reduce_(0, r.labels, at::arange(n, r.labels.options()), "amin", true);
  const at::Tensor order = first.argsort();
  at::Tensor rank = at::empty({k}, r.labels.options());
  rank.index_copy_(0, order, at::arange(k, r.labels.options()));
  r.labels = rank.index_select(0, r.labels);
  r.centers = r.centers.index_select(0, order);
}

KMeansResult lloyd(const at::Tensor& x, const at::Tensor& x_sq, at::Tensor centers,
                   int64_t max_iter, double tol_abs) {
  const int64_t n = x.size(0), k = centers.size(0);
  KMeansResult r;
  const at::Tensor ones = at::ones({n}, x.options());
  for (r.iterations = 1; r.iterations <= max_iter; ++r.iterations) {
    const at::Tensor d = squared_distances(x, x_sq, centers);
    const at::Tensor labels = d.argmin(1);
    const at::Tensor counts = at::zeros({k}, x.options()).index_add_(0, labels, ones);
    at::Tensor next =
        at::zeros_like(centers).index_add_(0, labels, x) / counts.clamp_min(1.0).unsqueeze(1);
    const at::Tensor empty = counts == 0;
    const int64_t n_empty = empty.sum().item<int64_t>();
    if (n_empty > 0) {
      // Re-seed each empty cluster at one of the points farthest from its
      // center (scikit-learn does the same).
      const at::Tensor own = d.gather(1, labels.unsqueeze(1)).squeeze(1);
      const at::Tensor far = std::get<1>(own.topk(n_empty));
      next.index_copy_(0, empty.nonzero().squeeze(1), x.index_select(0, far));
    }
    const double shift = (next - centers).pow(2).sum().item<double>();
    centers = next;
    if (shift <= tol_abs) break;
  }
  r.iterations = std::min(r.iterations, max_iter);
  const at::Tensor d = squared_distances(x, x_sq, centers);
  auto [dmin, labels] = d.min(1);
  r.labels = labels;
  r.centers = centers;
  r.inertia = dmin.sum().item<double>();
  return r;
}

SpectralResult spectral_from_affinity(const at::Tensor& w, const SpectralOptions& o) {
  SpectralResult out;
  const at::Tensor laplacian = normalized_laplacian(w);
  auto [values, vectors] = at::linalg_eigh(laplacian, "L");
  out.eigenvalues = values.narrow(0, 0, o.n_clusters).clone();
  at::Tensor u = vectors.narrow(1, 0, o.n_clusters);
  // Eigenvectors have no sign; fix it so results repeat across runs/devices.
  const at::Tensor peak = u.abs().argmax(0, true);
  const at::Tensor sign = at::where(u.gather(0, peak) < 0, -1.0, 1.0);
  out.eigenvectors = (u * sign).contiguous();
  const at::Tensor norms = at::linalg_vector_norm(out.eigenvectors, 2, {1}, true);
  out.embedding = out.eigenvectors / norms.clamp_min(1e-300);
  KMeansResult km = kmeans(out.embedding, o.n_clusters, o.seed, o.n_init, o.max_iter, o.tol);
  out.labels = km.labels;
  out.inertia = km.inertia;
  return out;
}

}  // namespace

at::Tensor self_tuning_affinity(const at::Tensor& x, const SpectralOptions& o) {
  require(x.defined() && x.dim() == 2, "self_tuning_affinity: points must be a (N, D) tensor");
  const int64_t n = x.size(0);
  check_size(n, o);
  require(o.n_neighbors >= 1 && o.n_neighbors <= n - 1,
          "self_tuning_affinity: n_neighbors = " + std::to_string(o.n_neighbors) +
              " is outside [1, N - 1 = " + std::to_string(n - 1) + "]");
  require(o.scale_neighbor >= 1 && o.scale_neighbor <= o.n_neighbors,
          "self_tuning_affinity: scale_neighbor = " + std::to_string(o.scale_neighbor) +
              " is outside [1, n_neighbors = " + std::to_string(o.n_neighbors) + "]");
  // Allocated outside InferenceMode so callers get an ordinary tensor.
  at::Tensor w = at::zeros({n, n}, x.options().dtype(at::kDouble));
  c10::InferenceMode guard;
  const at::Tensor xd = x.to(at::kDouble);
  require_finite_rows(xd, "self_tuning_affinity: points");
  const KnnResult nn = knn_search(xd, xd, o.n_neighbors, Metric::L2, 4096, /*exclude_self=*/true);
  const at::Tensor sigma = nn.distances.select(1, o.scale_neighbor - 1).clamp_min(kTinySigma);
  const at::Tensor rows =
      at::arange(n, nn.indices.options()).unsqueeze(1).expand_as(nn.indices).reshape(-1);
  const at::Tensor cols = nn.indices.reshape(-1);
  // d^2 from coordinate differences, not the kNN's matmul form: it is exactly
  // symmetric in (i, j), so both directions of an edge get the same bits.
  const at::Tensor d2 = (xd.index_select(0, rows) - xd.index_select(0, cols)).pow(2).sum(1);
  const at::Tensor weight =
      at::exp(-d2 / (sigma.index_select(0, rows) * sigma.index_select(0, cols)));
  w.index_put_({rows, cols}, weight);
  w.index_put_({cols, rows}, weight);
  return w;
}

at::Tensor normalized_laplacian(const at::Tensor& affinity) {
  require(affinity.defined() && affinity.dim() == 2 && affinity.size(0) == affinity.size(1),
          "normalized_laplacian: the affinity must be a square (N, N) matrix");
  at::Tensor l = affinity.to(at::kDouble, /*non_blocking=*/false, /*copy=*/true);
  c10::InferenceMode guard;
  const at::Tensor degree = l.sum(1);
  const at::Tensor isolated = degree == 0;
  const at::Tensor d_inv_sqrt = at::where(isolated, 0.0, degree.rsqrt());
  l.mul_(d_inv_sqrt.unsqueeze(1)).mul_(d_inv_sqrt.unsqueeze(0)).neg_();
  l.diagonal().copy_(1.0 - isolated.to(at::kDouble));
  return l;
}

SpectralResult spectral_clustering_affinity(const at::Tensor& affinity, const SpectralOptions& o) {
  require(affinity.defined() && affinity.dim() == 2 && affinity.size(0) == affinity.size(1),
          "spectral clustering: the affinity must be a square (N, N) matrix");
  const int64_t n = affinity.size(0);
  require(n >= 1, "spectral clustering: the affinity is empty");
  check_size(n, o);
  require(o.n_clusters >= 1 && o.n_clusters <= n,
          "spectral clustering: n_clusters = " + std::to_string(o.n_clusters) +
              " is outside [1, N = " + std::to_string(n) + "]");
  require(o.n_init >= 1,
          "spectral clustering: n_init = " + std::to_string(o.n_init) + " must be positive");
  require(o.max_iter >= 1,
          "spectral clustering: max_iter = " + std::to_string(o.max_iter) + " must be positive");
  SpectralResult out;
  {
    c10::InferenceMode guard;
    const at::Tensor w = affinity.to(at::kDouble);
    require(at::isfinite(w).all().item<bool>(),
            "spectral clustering: the affinity holds NaN or infinite weights");
    require((w >= 0).all().item<bool>(), "spectral clustering: the affinity has negative weights");
    const double asym = (w - w.t()).abs().max().item<double>();
    const double scale = std::max(1.0, w.abs().max().item<double>());
    require(asym <= 1e-10 * scale,
            "spectral clustering: the affinity is not symmetric (max |W - "
            "W^T| = " +
                std::to_string(asym) + ")");
    out = spectral_from_affinity(w, o);
  }
  // Ordinary (non-inference) tensors for the caller.
  out.labels = out.labels.clone();
  out.eigenvalues = out.eigenvalues.clone();
  out.eigenvectors = out.eigenvectors.clone();
  out.embedding = out.embedding.clone();
  return out;
}

SpectralResult spectral_clustering(const at::Tensor& x, const SpectralOptions& o) {
  require(x.defined() && x.dim() == 2, "spectral clustering: points must be a (N, D) tensor");
  require(o.n_clusters >= 1 && o.n_clusters <= x.size(0),
          "spectral clustering: n_clusters = " + std::to_string(o.n_clusters) +
              " is outside [1, N = " + std::to_string(x.size(0)) + "]");
  return spectral_clustering_affinity(self_tuning_affinity(x, o), o);
}

KMeansResult kmeans(const at::Tensor& x, int64_t k, uint64_t seed, int64_t n_init, int64_t max_iter,
                    double tol) {
  require(x.defined() && x.dim() == 2, "kmeans: x must be a (N, D) tensor");
  const int64_t n = x.size(0);
  require(k >= 1 && k <= n,
          "kmeans: k = " + std::to_string(k) + " is outside [1, N = " + std::to_string(n) + "]");
  require(n_init >= 1, "kmeans: n_init = " + std::to_string(n_init) + " must be positive");
  require(max_iter >= 1, "kmeans: max_iter = " + std::to_string(max_iter) + " must be positive");
  require(tol >= 0, "kmeans: tol = " + std::to_string(tol) + " must be non-negative");
  KMeansResult best;
  {
    c10::InferenceMode guard;
    const at::Tensor xd = x.to(at::kDouble).contiguous();
    require_finite_rows(xd, "kmeans: x");
    const at::Tensor x_sq = xd.pow(2).sum(1);
    // scikit-learn's convention: tol is relative to the mean column variance.
    const double tol_abs =
        tol *
        xd.var(at::IntArrayRef{0}, /*unbiased=*/false, /*keepdim=*/false).mean().item<double>();
    at::Generator gen = at::detail::createCPUGenerator(seed);
    for (int64_t run = 0; run < n_init; ++run) {
      KMeansResult r = lloyd(xd, x_sq, plus_plus(xd, x_sq, k, gen), max_iter, tol_abs);
      if (run == 0 || r.inertia < best.inertia) best = r;
    }
    renumber(best, k);
  }
  best.labels = best.labels.clone();
  best.centers = best.centers.clone();
  return best;
}

}  // namespace gml::merger
