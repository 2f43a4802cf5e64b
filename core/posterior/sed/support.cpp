#include "core/posterior/sed/support.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/common/error.h"
#include "core/posterior/sed/kdtree.h"

namespace gml::sed {

namespace {

constexpr size_t kD = static_cast<size_t>(kObsDim);

// Raw feature of one x row; false if any is non-finite.
bool features(const double* x, double* f) {
  bool ok = true;
  for (size_t j = 0; j < kD; ++j) {
    double v = x[j];
    if (j >= static_cast<size_t>(kObsMagErr) && j < static_cast<size_t>(kObsMagErr + kNumBands)) {
      v = v > 0.0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN();
    }
    f[j] = v;
    ok = ok && std::isfinite(v);
  }
  return ok;
}

double median_of(std::vector<double> v) {
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  return v[m];
}

}  // namespace

SupportResult check_support(const double* x_sim, int64_t n, const double* x_real, int64_t m,
                            const SupportOptions& options) {
  require(options.quantile > 0.0 && options.quantile <= 1.0,
          "check_support: quantile must be in (0, 1], got " + std::to_string(options.quantile));
  require(options.holdout_every >= 2, "check_support: holdout_every must be >= 2, got " +
                                          std::to_string(options.holdout_every));
  require(n >= 0 && m >= 0, "check_support: row counts must be >= 0");

  // Simulated features (finite rows only).
  std::vector<double> sim;
  sim.reserve(static_cast<size_t>(n) * kD);
  double f[kD];
  for (int64_t r = 0; r < n; ++r) {
    if (features(x_sim + r * kObsDim, f)) sim.insert(sim.end(), f, f + kD);
  }
  const size_t ns = sim.size() / kD;
  require(ns >= static_cast<size_t>(2 * options.holdout_every),
          "check_support: only " + std::to_string(ns) + " finite simulated rows (need " +
              std::to_string(2 * options.holdout_every) + ")");

  SupportResult res;
  std::array<double, kObsDim> lo{};
  std::array<double, kObsDim> hi{};
  for (size_t j = 0; j < kD; ++j) {
    std::vector<double> col(ns);
    for (size_t r = 0; r < ns; ++r) col[r] = sim[r * kD + j];
    lo[j] = *std::min_element(col.begin(), col.end());
    hi[j] = *std::max_element(col.begin(), col.end());
    const double med = median_of(col);
    for (double& v : col) v = std::fabs(v - med);
    double s = 1.4826 * median_of(col);
    if (!(s > 0.0)) s = hi[j] > lo[j] ? hi[j] - lo[j] : 1.0;
    res.center[j] = med;
    res.scale[j] = s;
  }
  for (size_t r = 0; r < ns; ++r) {
    for (size_t j = 0; j < kD; ++j)
      sim[r * kD + j] = (sim[r * kD + j] - res.center[j]) / res.scale[j];
  }

  // Reference set and held-out calibration set.
  std::vector<double> ref;
  std::vector<double> held;
  const size_t every = static_cast<size_t>(options.holdout_every);
  for (size_t r = 0; r < ns; ++r) {
    auto& dst = (r % every == every - 1) ? held : ref;
    dst.insert(dst.end(), sim.begin() + static_cast<std::ptrdiff_t>(r * kD),
               sim.begin() + static_cast<std::ptrdiff_t>((r + 1) * kD));
  }
  const KdTree tree(ref.data(), static_cast<int64_t>(ref.size() / kD), kObsDim);
  const size_t nh = held.size() / kD;
  std::vector<double> dist(nh);
  for (size_t r = 0; r < nh; ++r)
    dist[r] = std::sqrt(tree.nearest(held.data() + r * kD).distance_sq);
  const size_t q = std::min(
      nh - 1, static_cast<size_t>(std::ceil(options.quantile * static_cast<double>(nh))) - 1);
  std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(q), dist.end());
  res.threshold = dist[q];

  res.inside.assign(static_cast<size_t>(m), 0);
  res.nn_distance.assign(static_cast<size_t>(m), std::numeric_limits<double>::quiet_NaN());
  for (int64_t r = 0; r < m; ++r) {
    if (!features(x_real + r * kObsDim, f)) continue;
    bool in_range = true;
    for (size_t j = 0; j < kD; ++j) {
      in_range = in_range && f[j] >= lo[j] && f[j] <= hi[j];
      f[j] = (f[j] - res.center[j]) / res.scale[j];
    }
    const double d = std::sqrt(tree.nearest(f).distance_sq);
    res.nn_distance[static_cast<size_t>(r)] = d;
    if (in_range && d <= res.threshold) {
      res.inside[static_cast<size_t>(r)] = 1;
      ++res.n_inside;
    }
  }
  res.fraction = m > 0 ? static_cast<double>(res.n_inside) / static_cast<double>(m) : 0.0;
  return res;
}

}  // namespace gml::sed
