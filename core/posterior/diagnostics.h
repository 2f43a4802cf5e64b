// Calibration diagnostics for amortized posterior estimators (SEDflow's
// validation): simulation-based calibration ranks, expected coverage of
// credible intervals and TARP. Pure functions of posterior draws and the
// parameters that generated each held-out simulation; no model code.
//
// Shared conventions:
//   samples    (M, L, D): L posterior draws for each of M held-out
//              simulations (any floating dtype and device; all arithmetic
//              is float64 on CPU),
//   theta_true (M, D):    the parameters each simulation was made from.
// Every input must be finite; a bad shape, NaN or Inf raises gml::Error
// (Status::InvalidArgument). Random choices come from std::mt19937_64 with
// uniforms built from its top 53 bits, so a seed gives the same result with
// every compiler and LibTorch version; each randomised function also has a
// form that takes the random numbers instead of a seed.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace gml::posterior {

// ---------------------------------------------------------------------------
// Kolmogorov-Smirnov test of uniformity.

// Given:    n >= 1 observations and a statistic d.
// Returned: P(D_n >= d) for the two-sided one-sample KS statistic D_n of n
//           iid U(0, 1) variates (the Kolmogorov distribution at finite n).
// Exact to about 1e-10 relative (3e-11 worst against 60-digit references)
// wherever n d <= 200, which covers every n <= 10^4: the Marsaglia, Tsang &
// Wang (2003) Durbin-matrix power where p >= 1e-3, below that twice the
// exact one-sided Smirnov tail (the omitted joint event is < (p/2)^3
// relative). Beyond, the first-order Pelz-Good expansion, about 0.13/n
// absolute. Costs at most ~30 ms (n = 10^4).
double kolmogorov_sf(int64_t n, double d);

struct KsResult {
  double statistic = 0;  // D_n = sup |F_n(x) - x|
  double pvalue = 1;     // kolmogorov_sf(n, statistic)
};

// Given:    x (n) with n >= 1, finite.
// Returned: the KS test of x against U(0, 1).
KsResult ks_test_uniform(const at::Tensor& x);

// ---------------------------------------------------------------------------
// Simulation-based calibration (Talts et al. 2018).

struct SbcResult {
  at::Tensor ranks;         // (M, D) int64 in [0, L]: draws strictly below the truth
  at::Tensor ks_statistic;  // (D) float64
  at::Tensor ks_pvalue;     // (D) float64
};

// Given:    samples (M, L, D), theta_true (M, D), a seed for the jitter.
// Returned: the SBC ranks and, per dimension, a KS test that they are
//           uniform on {0, ..., L}. The ranks are made continuous as
//           (rank + u) / (L + 1), u ~ U(0, 1): exactly U(0, 1) for a
//           calibrated posterior whatever L is, where rank / L would bias
//           the KS test once sqrt(M) / L is not small.
SbcResult simulation_based_calibration(const at::Tensor& samples, const at::Tensor& theta_true,
                                       uint64_t seed);

// Same, with the jitter given: u (M, D) in [0, 1).
SbcResult simulation_based_calibration(const at::Tensor& samples, const at::Tensor& theta_true,
                                       const at::Tensor& jitter);

// ---------------------------------------------------------------------------
// Expected coverage.

struct CoverageResult {
  at::Tensor nominal;    // (K) float64: credibility levels k / (K + 1), k = 1..K
  at::Tensor empirical;  // (K, D + 1) float64, see expected_coverage
};

// Given:    samples (M, L, D) and theta_true (M, D); optionally
//           log_prob_samples (M, L) = log q(samples | x) and
//           log_prob_true (M) = log q(theta_true | x) (both or neither
//           defined); levels K >= 1.
// Returned: for each nominal level alpha, columns 0..D-1 are the fraction
//           of simulations whose true value lies inside the central
//           alpha-interval [Q((1 - alpha) / 2), Q((1 + alpha) / 2)] of that
//           dimension's draws; column D is the fraction whose log q(theta_true)
//           is >= Q(1 - alpha) of the draws' log q, the coverage of the
//           highest-density region (Hermans et al. 2022; sbi's expected
//           coverage), NaN when no log probabilities are given. Q is the
//           empirical quantile with linear interpolation (numpy's default).
//           A calibrated posterior gives empirical ~ nominal (up to
//           binomial noise and O(1/L)); below nominal means overconfident.
CoverageResult expected_coverage(const at::Tensor& samples, const at::Tensor& theta_true,
                                 const at::Tensor& log_prob_samples,
                                 const at::Tensor& log_prob_true, int64_t levels);

// ---------------------------------------------------------------------------
// TARP (Lemos et al. 2023, "Sampling-based accuracy testing of posterior
// estimators for general inference").

struct TarpResult {
  at::Tensor alpha;      // (bins + 1) float64: k / bins, k = 0..bins
  at::Tensor ecp;        // (bins + 1) float64: fraction of f_i < alpha
  at::Tensor fractions;  // (M) float64: f_i, draws closer to the reference than the truth
  double atc = 0;        // sum over alpha_k, k >= (bins + 1) / 2 (integer division) of ecp - alpha
  double ks_statistic = 0;
  double ks_pvalue = 1;  // KS test that the jittered f_i are U(0, 1)
};

// Given:    samples (M, L, D), theta_true (M, D); the prior box lower (D),
//           upper (D) with upper > lower, or both undefined; bins >= 1;
//           a seed for the reference points and the KS jitter.
// Returned: the TARP expected coverage. Coordinates are scaled to the unit
//           box: by [lower, upper] when given, otherwise by the min and max
//           of theta_true over the simulations (plus 1e-10 on the width),
//           as the `tarp` package (norm=True) and sbi do. One reference
//           point per simulation is drawn uniformly in that box, and
//           f_i = (number of draws strictly closer to it than theta_true_i,
//           Euclidean) / L. atc follows sbi's check_tarp: positive for an
//           over-dispersed posterior, negative for an over-confident one;
//           near 0 when calibrated (a sum, so it scales with bins). The KS
//           test uses (L f_i + u_i) / (L + 1), u_i ~ U(0, 1), which is exactly
//           uniform when calibrated (f_i itself is discrete, so testing it
//           against U(0, 1) would reject a calibrated posterior once sqrt(M) / L
//           is not small); sbi instead compares ecp with alpha by a two-sample
//           test, which has no calibrated null distribution.
TarpResult tarp_coverage(const at::Tensor& samples, const at::Tensor& theta_true,
                         const at::Tensor& lower, const at::Tensor& upper, int64_t bins,
                         uint64_t seed);

// Same, with the random numbers given: references (M, D) in parameter
// units (they are scaled like the samples) and jitter (M) in [0, 1).
TarpResult tarp_coverage(const at::Tensor& samples, const at::Tensor& theta_true,
                         const at::Tensor& lower, const at::Tensor& upper, int64_t bins,
                         const at::Tensor& references, const at::Tensor& jitter);

}  // namespace gml::posterior
