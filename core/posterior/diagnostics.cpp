#include "core/posterior/diagnostics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/common/error.h"

namespace gml::posterior {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Standard library distributions differ between implementations; the top
// 53 bits of mt19937_64 (fixed by the standard) do not.
class Uniform {
 public:
  explicit Uniform(uint64_t seed) : engine_(seed) {}
  double operator()() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 engine_;
};

std::string shape_of(const at::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

// Inputs may live on any device in any floating dtype; the statistics are
// computed in float64 on CPU.
at::Tensor as_cpu_double(const at::Tensor& t, const char* name) {
  require(t.defined(), std::string(name) + " is undefined");
  require(t.is_floating_point(), std::string(name) + " must be a floating-point tensor");
  at::Tensor out = t.to(at::kCPU, at::kDouble).contiguous();
  require(at::isfinite(out).all().item<bool>(), std::string(name) + " contains NaN or Inf values");
  return out;
}

struct Inputs {
  at::Tensor samples;  // (M, L, D) float64 CPU contiguous
  at::Tensor theta;    // (M, D)
  int64_t m = 0, l = 0, d = 0;
};

Inputs check_inputs(const at::Tensor& samples, const at::Tensor& theta_true) {
  require(samples.defined() && samples.dim() == 3,
          "samples must have shape (M, L, D), got " +
              (samples.defined() ? shape_of(samples) : std::string("undefined")));
  require(theta_true.defined() && theta_true.dim() == 2,
          "theta_true must have shape (M, D), got " +
              (theta_true.defined() ? shape_of(theta_true) : std::string("undefined")));
  Inputs in;
  in.m = samples.size(0);
  in.l = samples.size(1);
  in.d = samples.size(2);
  require(in.m >= 1 && in.l >= 1 && in.d >= 1,
          "samples must have M, L, D >= 1, got " + shape_of(samples));
  require(theta_true.size(0) == in.m && theta_true.size(1) == in.d,
          "theta_true must have shape (" + std::to_string(in.m) + ", " + std::to_string(in.d) +
              ") to match samples " + shape_of(samples) + ", got " + shape_of(theta_true));
  in.samples = as_cpu_double(samples, "samples");
  in.theta = as_cpu_double(theta_true, "theta_true");
  return in;
}

at::Tensor check_jitter(const at::Tensor& jitter, at::IntArrayRef shape) {
  require(jitter.defined() && jitter.sizes() == shape,
          "jitter must have shape " + shape_of(at::empty(shape)) + ", got " +
              (jitter.defined() ? shape_of(jitter) : std::string("undefined")));
  at::Tensor u = as_cpu_double(jitter, "jitter");
  require((u >= 0).all().item<bool>() && (u < 1).all().item<bool>(),
          "jitter values must lie in [0, 1)");
  return u;
}

// ---------------------------------------------------------------------------
// Kolmogorov distribution.

// P(D_n^+ >= d), exact (Birnbaum & Tingey 1951). Every term is positive, so
// the sum loses nothing to cancellation even far in the tail.
double smirnov_sf(int64_t n, double d) {
  if (d <= 0) return 1.0;
  if (d >= 1) return 0.0;
  const double nd = static_cast<double>(n) * d;
  const int64_t jmax = static_cast<int64_t>(std::floor(static_cast<double>(n) - nd));
  const double lgn = std::lgamma(static_cast<double>(n) + 1);
  std::vector<double> logs;
  logs.reserve(static_cast<size_t>(jmax + 1));
  for (int64_t j = 0; j <= std::min(jmax, n); ++j) {
    const double a = (static_cast<double>(n - j) - nd) / static_cast<double>(n);
    if (a <= 0) continue;  // (1 - d - j/n)^(n - j) vanishes; n - j > 0 here since d > 0
    const double b = d + static_cast<double>(j) / static_cast<double>(n);
    logs.push_back(lgn - std::lgamma(static_cast<double>(j) + 1) -
                   std::lgamma(static_cast<double>(n - j) + 1) +
                   static_cast<double>(n - j) * std::log(a) +
                   static_cast<double>(j - 1) * std::log(b));
  }
  if (logs.empty()) return 0.0;
  const double top = *std::max_element(logs.begin(), logs.end());
  double sum = 0;
  for (double v : logs) sum += std::exp(v - top);
  return std::min(1.0, d * std::exp(top) * sum);
}

// P(D_n < d) by the Durbin matrix, as Marsaglia, Tsang & Wang (2003) compute
// it: n!/n^n (H^n)_{kk}. H is non-negative, so the products are accurate to
// a few ulps per step; powers are rescaled by 2^e to avoid overflow.
double kolmogorov_cdf_mtw(int64_t n, double d) {
  const double nd = static_cast<double>(n) * d;
  const int64_t k = static_cast<int64_t>(std::ceil(nd));
  const double h = static_cast<double>(k) - nd;  // d = (k - h) / n, 0 <= h < 1
  const int64_t m = 2 * k - 1;

  std::vector<double> inv_fact(static_cast<size_t>(m + 1), 1.0);
  for (int64_t i = 1; i <= m; ++i) inv_fact[i] = inv_fact[i - 1] / static_cast<double>(i);
  at::Tensor hm = at::zeros({m, m}, at::kDouble);
  auto a = hm.accessor<double, 2>();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j)
      if (i - j + 1 >= 0) a[i][j] = inv_fact[i - j + 1];
  for (int64_t i = 0; i < m; ++i) {
    a[i][0] = (1 - std::pow(h, static_cast<double>(i + 1))) * inv_fact[i + 1];
    a[m - 1][i] = (1 - std::pow(h, static_cast<double>(m - i))) * inv_fact[m - i];
  }
  const double corner = 2 * h - 1 > 0 ? std::pow(2 * h - 1, static_cast<double>(m)) : 0.0;
  a[m - 1][0] = (1 - 2 * std::pow(h, static_cast<double>(m)) + corner) * inv_fact[m];

  auto rescale = [](at::Tensor& t, int64_t& e) {
    const double top = t.max().item<double>();
    if (top <= 0) return;
    int shift = 0;
    std::frexp(top, &shift);
    t.mul_(std::ldexp(1.0, -shift));
    e += shift;
  };
  at::Tensor base = hm;
  int64_t base_e = 0;
  at::Tensor acc;
  int64_t acc_e = 0;
  for (int64_t p = n; p > 0; p >>= 1) {
    if (p & 1) {
      acc = acc.defined() ? at::mm(acc, base) : base.clone();
      acc_e += base_e;
      rescale(acc, acc_e);
    }
    if (p > 1) {
      base = at::mm(base, base);
      base_e *= 2;
      rescale(base, base_e);
    }
  }
  double s = acc[k - 1][k - 1].item<double>();
  // n!/n^n one factor at a time: lgamma(n + 1) would cost ~n eps in the log.
  for (int64_t i = 1; i <= n; ++i) {
    s = s * static_cast<double>(i) / static_cast<double>(n);
    if (s < 0x1.0p-512) {
      s *= 0x1.0p512;
      acc_e -= 512;
    }
  }
  const auto e = static_cast<int>(std::clamp<int64_t>(acc_e, -100000, 100000));
  return std::clamp(std::ldexp(s, e), 0.0, 1.0);
}

// P(D_n >= z / sqrt(n)) to first order in n^-1/2: K0 + K1 / sqrt(n) of the
// Li-Chien/Korolyuk expansion in Pelz & Good's (1976) small-z form. The
// omitted terms are about 0.13 / n; Stephens' rescaled limit law would
// leave about 0.14 / sqrt(n).
double kolmogorov_asymptotic_sf(int64_t n, double d) {
  const double rn = std::sqrt(static_cast<double>(n));
  const double z = rn * d;
  const double z2 = z * z;
  double k0 = 0, k1 = 0;
  for (int64_t j = 1; j < 10000; j += 2) {
    const double w = kPi * kPi * static_cast<double>(j * j) / 8;
    const double e = std::exp(-w / z2);
    k0 += e;
    k1 += (2 * w - z2) * e;
    if (e < 1e-300 || e * (2 * w + 1) < 1e-18 * (k0 + std::abs(k1))) break;
  }
  k0 *= std::sqrt(2 * kPi) / z;
  k1 *= std::sqrt(2 * kPi) / (6 * z2 * z2);
  return std::clamp(1 - (k0 + k1 / rn), 0.0, 1.0);
}

// Largest k = ceil(n d) for the exact matrix method: H is (2k - 1)^2 and
// takes log2(n) products, well under a second at this size.
constexpr int64_t kMaxMatrixK = 200;

KsResult ks_uniform_sorted(std::vector<double>& x) {
  std::sort(x.begin(), x.end());
  const auto n = static_cast<int64_t>(x.size());
  const double nn = static_cast<double>(n);
  double stat = 0;
  for (int64_t i = 0; i < n; ++i) {
    stat = std::max(stat, static_cast<double>(i + 1) / nn - x[i]);
    stat = std::max(stat, x[i] - static_cast<double>(i) / nn);
  }
  return {stat, kolmogorov_sf(n, stat)};
}

void check_box(const at::Tensor& lower, const at::Tensor& upper, int64_t d) {
  require(lower.defined() == upper.defined(),
          "lower and upper must both be given or both be undefined");
  if (!lower.defined()) return;
  require(lower.dim() == 1 && lower.size(0) == d && upper.dim() == 1 && upper.size(0) == d,
          "lower and upper must have shape (" + std::to_string(d) + "), got " + shape_of(lower) +
              " and " + shape_of(upper));
}

// references (M, D): in unit-box coordinates when `unit_refs`, otherwise in
// parameter units.
TarpResult tarp_impl(const Inputs& in, const at::Tensor& lower, const at::Tensor& upper,
                     int64_t bins, const at::Tensor& references, bool unit_refs,
                     const at::Tensor& jitter) {
  const int64_t m = in.m, l = in.l, d = in.d;
  std::vector<double> lo(d), scale(d);
  auto th = in.theta.accessor<double, 2>();
  if (lower.defined()) {
    at::Tensor lw = as_cpu_double(lower, "lower"), up = as_cpu_double(upper, "upper");
    for (int64_t j = 0; j < d; ++j) {
      lo[j] = lw[j].item<double>();
      scale[j] = up[j].item<double>() - lo[j];
      require(scale[j] > 0, "upper must exceed lower in every dimension");
    }
  } else {
    for (int64_t j = 0; j < d; ++j) {
      double mn = th[0][j], mx = th[0][j];
      for (int64_t i = 1; i < m; ++i) {
        mn = std::min(mn, th[i][j]);
        mx = std::max(mx, th[i][j]);
      }
      lo[j] = mn;
      scale[j] = mx - mn + 1e-10;  // the `tarp` package's guard against a constant column
    }
  }

  at::Tensor refs = references;
  if (!unit_refs) {
    refs = at::empty({m, d}, at::kDouble);
    auto r = refs.accessor<double, 2>();
    auto given = references.accessor<double, 2>();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < d; ++j) r[i][j] = (given[i][j] - lo[j]) / scale[j];
  }
  auto r = refs.accessor<double, 2>();
  auto s = in.samples.accessor<double, 3>();

  at::Tensor fractions = at::empty({m}, at::kDouble);
  auto f = fractions.accessor<double, 1>();
  std::vector<int64_t> counts(m);
  for (int64_t i = 0; i < m; ++i) {
    // Squared distances order like distances and skip a rounding step.
    double dt = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double t = (th[i][j] - lo[j]) / scale[j] - r[i][j];
      dt += t * t;
    }
    int64_t closer = 0;
    for (int64_t k = 0; k < l; ++k) {
      double ds = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double t = (s[i][k][j] - lo[j]) / scale[j] - r[i][j];
        ds += t * t;
      }
      closer += ds < dt;
    }
    counts[i] = closer;
    f[i] = static_cast<double>(closer) / static_cast<double>(l);
  }

  TarpResult out;
  out.fractions = fractions;
  out.alpha = at::empty({bins + 1}, at::kDouble);
  out.ecp = at::empty({bins + 1}, at::kDouble);
  auto al = out.alpha.accessor<double, 1>();
  auto ecp = out.ecp.accessor<double, 1>();
  for (int64_t k = 0; k <= bins; ++k) {
    al[k] = static_cast<double>(k) / static_cast<double>(bins);
    // f_i < k / bins in integers: f_i and alpha_k can coincide exactly, and
    // a float comparison would then hinge on rounding.
    int64_t below = 0;
    for (int64_t i = 0; i < m; ++i) below += counts[i] * bins < k * l;
    ecp[k] = static_cast<double>(below) / static_cast<double>(m);
  }
  for (int64_t k = (bins + 1) / 2; k <= bins; ++k) out.atc += ecp[k] - al[k];

  auto u = jitter.accessor<double, 1>();
  std::vector<double> x(m);
  for (int64_t i = 0; i < m; ++i)
    x[i] = (static_cast<double>(counts[i]) + u[i]) / static_cast<double>(l + 1);
  const KsResult ks = ks_uniform_sorted(x);
  out.ks_statistic = ks.statistic;
  out.ks_pvalue = ks.pvalue;
  return out;
}

double quantile_sorted(const std::vector<double>& x, double q) {
  // numpy's default ("linear", Hyndman & Fan type 7), including its lerp,
  // so that a golden file from np.quantile decides boundary cases alike.
  const auto n = static_cast<int64_t>(x.size());
  const double h = static_cast<double>(n - 1) * q;
  if (h >= static_cast<double>(n - 1)) return x[n - 1];
  const double below = std::floor(h);
  const auto i = static_cast<int64_t>(below);
  const double g = h - below;
  const double diff = x[i + 1] - x[i];
  return g >= 0.5 ? x[i + 1] - diff * (1 - g) : x[i] + diff * g;
}

}  // namespace

double kolmogorov_sf(int64_t n, double d) {
  require(n >= 1, "kolmogorov_sf: n must be >= 1, got " + std::to_string(n));
  require(!std::isnan(d), "kolmogorov_sf: d is NaN");
  const double nd = static_cast<double>(n) * d;
  if (nd <= 0.5) return 1.0;  // D_n >= 1/(2n) always
  if (d >= 1) return 0.0;
  const double tail = std::min(1.0, 2 * smirnov_sf(n, d));
  // For d >= 1/2 both one-sided excursions cannot happen together, so the
  // doubled tail is exact; below 1e-3 the joint event is < (p/2)^3 relative.
  if (d >= 0.5 || tail < 1e-3) return tail;
  if (static_cast<int64_t>(std::ceil(nd)) <= kMaxMatrixK) return 1.0 - kolmogorov_cdf_mtw(n, d);
  return kolmogorov_asymptotic_sf(n, d);
}

KsResult ks_test_uniform(const at::Tensor& x) {
  require(x.defined() && x.dim() == 1 && x.size(0) >= 1,
          "ks_test_uniform: x must have shape (n) with n >= 1, got " +
              (x.defined() ? shape_of(x) : std::string("undefined")));
  at::Tensor v = as_cpu_double(x, "x");
  std::vector<double> values(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  return ks_uniform_sorted(values);
}

SbcResult simulation_based_calibration(const at::Tensor& samples, const at::Tensor& theta_true,
                                       uint64_t seed) {
  require(samples.defined() && samples.dim() == 3,
          "samples must have shape (M, L, D), got " +
              (samples.defined() ? shape_of(samples) : std::string("undefined")));
  const int64_t m = samples.size(0), d = samples.size(2);
  Uniform uniform(seed);
  at::Tensor u = at::empty({m, d}, at::kDouble);
  double* p = u.data_ptr<double>();
  for (int64_t i = 0; i < m * d; ++i) p[i] = uniform();
  return simulation_based_calibration(samples, theta_true, u);
}

SbcResult simulation_based_calibration(const at::Tensor& samples, const at::Tensor& theta_true,
                                       const at::Tensor& jitter) {
  const Inputs in = check_inputs(samples, theta_true);
  const at::Tensor u = check_jitter(jitter, {in.m, in.d});
  auto s = in.samples.accessor<double, 3>();
  auto th = in.theta.accessor<double, 2>();
  auto uu = u.accessor<double, 2>();

  SbcResult out;
  out.ranks = at::empty({in.m, in.d}, at::kLong);
  out.ks_statistic = at::empty({in.d}, at::kDouble);
  out.ks_pvalue = at::empty({in.d}, at::kDouble);
  auto rk = out.ranks.accessor<int64_t, 2>();
  auto ks_stat = out.ks_statistic.accessor<double, 1>();
  auto ks_p = out.ks_pvalue.accessor<double, 1>();
  for (int64_t i = 0; i < in.m; ++i)
    for (int64_t j = 0; j < in.d; ++j) {
      int64_t below = 0;
      for (int64_t k = 0; k < in.l; ++k) below += s[i][k][j] < th[i][j];
      rk[i][j] = below;
    }
  std::vector<double> x(in.m);
  for (int64_t j = 0; j < in.d; ++j) {
    for (int64_t i = 0; i < in.m; ++i)
      x[i] = (static_cast<double>(rk[i][j]) + uu[i][j]) / static_cast<double>(in.l + 1);
    const KsResult ks = ks_uniform_sorted(x);
    ks_stat[j] = ks.statistic;
    ks_p[j] = ks.pvalue;
  }
  return out;
}

CoverageResult expected_coverage(const at::Tensor& samples, const at::Tensor& theta_true,
                                 const at::Tensor& log_prob_samples,
                                 const at::Tensor& log_prob_true, int64_t levels) {
  const Inputs in = check_inputs(samples, theta_true);
  require(levels >= 1, "levels must be >= 1, got " + std::to_string(levels));
  require(log_prob_samples.defined() == log_prob_true.defined(),
          "log_prob_samples and log_prob_true must both be given or both be undefined");
  const bool joint = log_prob_samples.defined();
  at::Tensor lps, lpt;
  if (joint) {
    require(log_prob_samples.dim() == 2 && log_prob_samples.size(0) == in.m &&
                log_prob_samples.size(1) == in.l,
            "log_prob_samples must have shape (" + std::to_string(in.m) + ", " +
                std::to_string(in.l) + "), got " + shape_of(log_prob_samples));
    require(log_prob_true.dim() == 1 && log_prob_true.size(0) == in.m,
            "log_prob_true must have shape (" + std::to_string(in.m) + "), got " +
                shape_of(log_prob_true));
    lps = as_cpu_double(log_prob_samples, "log_prob_samples");
    lpt = as_cpu_double(log_prob_true, "log_prob_true");
  }

  CoverageResult out;
  out.nominal = at::empty({levels}, at::kDouble);
  auto nom = out.nominal.accessor<double, 1>();
  for (int64_t k = 0; k < levels; ++k)
    nom[k] = static_cast<double>(k + 1) / static_cast<double>(levels + 1);

  std::vector<int64_t> inside(static_cast<size_t>(levels * (in.d + 1)), 0);
  auto s = in.samples.accessor<double, 3>();
  auto th = in.theta.accessor<double, 2>();
  std::vector<double> draws(in.l);
  for (int64_t i = 0; i < in.m; ++i) {
    for (int64_t j = 0; j < in.d; ++j) {
      for (int64_t k = 0; k < in.l; ++k) draws[k] = s[i][k][j];
      std::sort(draws.begin(), draws.end());
      for (int64_t a = 0; a < levels; ++a) {
        const double lo = quantile_sorted(draws, (1 - nom[a]) / 2);
        const double hi = quantile_sorted(draws, (1 + nom[a]) / 2);
        inside[a * (in.d + 1) + j] += lo <= th[i][j] && th[i][j] <= hi;
      }
    }
    if (joint) {
      auto lp = lps.accessor<double, 2>();
      for (int64_t k = 0; k < in.l; ++k) draws[k] = lp[i][k];
      std::sort(draws.begin(), draws.end());
      const double truth = lpt[i].item<double>();
      for (int64_t a = 0; a < levels; ++a)
        inside[a * (in.d + 1) + in.d] += truth >= quantile_sorted(draws, 1 - nom[a]);
    }
  }
  out.empirical = at::empty({levels, in.d + 1}, at::kDouble);
  auto emp = out.empirical.accessor<double, 2>();
  for (int64_t a = 0; a < levels; ++a)
    for (int64_t j = 0; j <= in.d; ++j)
      emp[a][j] = j == in.d && !joint
                      ? std::numeric_limits<double>::quiet_NaN()
                      : static_cast<double>(inside[a * (in.d + 1) + j]) / static_cast<double>(in.m);
  return out;
}

TarpResult tarp_coverage(const at::Tensor& samples, const at::Tensor& theta_true,
                         const at::Tensor& lower, const at::Tensor& upper, int64_t bins,
                         uint64_t seed) {
  const Inputs in = check_inputs(samples, theta_true);
  require(bins >= 1, "bins must be >= 1, got " + std::to_string(bins));
  check_box(lower, upper, in.d);
  Uniform uniform(seed);
  at::Tensor refs = at::empty({in.m, in.d}, at::kDouble);
  double* r = refs.data_ptr<double>();
  for (int64_t i = 0; i < in.m * in.d; ++i) r[i] = uniform();
  at::Tensor u = at::empty({in.m}, at::kDouble);
  double* p = u.data_ptr<double>();
  for (int64_t i = 0; i < in.m; ++i) p[i] = uniform();
  return tarp_impl(in, lower, upper, bins, refs, /*unit_refs=*/true, u);
}

TarpResult tarp_coverage(const at::Tensor& samples, const at::Tensor& theta_true,
                         const at::Tensor& lower, const at::Tensor& upper, int64_t bins,
                         const at::Tensor& references, const at::Tensor& jitter) {
  const Inputs in = check_inputs(samples, theta_true);
  require(bins >= 1, "bins must be >= 1, got " + std::to_string(bins));
  check_box(lower, upper, in.d);
  require(references.defined() && references.dim() == 2 && references.size(0) == in.m &&
              references.size(1) == in.d,
          "references must have shape (" + std::to_string(in.m) + ", " + std::to_string(in.d) +
              "), got " + (references.defined() ? shape_of(references) : std::string("undefined")));
  const at::Tensor refs = as_cpu_double(references, "references");
  const at::Tensor u = check_jitter(jitter, {in.m});
  return tarp_impl(in, lower, upper, bins, refs, /*unit_refs=*/false, u);
}

}  // namespace gml::posterior
