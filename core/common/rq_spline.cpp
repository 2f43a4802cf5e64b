#include "core/common/rq_spline.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/common/error.h"

namespace gml {
namespace {

constexpr int64_t kMaxFusedBins = 64;

// Knot positions (..., D, K + 1) on [lo, hi] and bin sizes (..., D, K) from
// unnormalised logits, with the end knots pinned exactly to lo and hi so the
// bin search never misses the last bin through rounding.
std::pair<at::Tensor, at::Tensor> knots(const at::Tensor& logits, double min_size, double lo,
                                        double hi) {
  const int64_t k = logits.size(-1);
  at::Tensor sizes = min_size + (1.0 - min_size * static_cast<double>(k)) * at::softmax(logits, -1);
  at::Tensor cum = at::cumsum(sizes, -1);
  cum = at::constant_pad_nd(cum, {1, 0}, 0.0);
  cum = (hi - lo) * cum + lo;
  // Rebuild rather than assign in place, so autograd sees a pure function.
  at::Tensor inner = cum.narrow(-1, 1, k - 1);
  cum = at::cat(
      {at::full_like(cum.narrow(-1, 0, 1), lo), inner, at::full_like(cum.narrow(-1, 0, 1), hi)},
      -1);
  at::Tensor bins = cum.narrow(-1, 1, k) - cum.narrow(-1, 0, k);
  return {cum, bins};
}

at::Tensor pick(const at::Tensor& t, const at::Tensor& idx) {
  return t.gather(-1, idx).squeeze(-1);
}

// Unnormalised logits -> knots on [lo, hi] (k + 1 values), as knots() does.
template <typename T>
void knots_of(const T* logits, int64_t k, T min_size, T lo, T hi, T* cum) {
  T mx = logits[0];
  for (int64_t j = 1; j < k; ++j) mx = std::max(mx, logits[j]);
  T e[kMaxFusedBins];
  T sum = 0;
  for (int64_t j = 0; j < k; ++j) {
    e[j] = std::exp(logits[j] - mx);
    sum += e[j];
  }
  const T scale = (T(1) - min_size * static_cast<T>(k)) / sum;
  // Accumulated in double, as ATen's CPU cumsum does for float, so knots
  // near the top of the range keep float precision.
  double acc = 0;
  cum[0] = lo;
  for (int64_t j = 0; j + 1 < k; ++j) {
    acc += min_size + scale * e[j];
    cum[j + 1] = static_cast<T>((hi - lo) * acc + lo);
  }
  cum[k] = hi;
}

template <typename T>
T softplus(T v) {
  return v > T(20) ? v : std::log1p(std::exp(v));
}

// Forward or inverse map of one element x inside [-B, B], given its knots
// (K + 1 each) and its K - 1 unconstrained interior derivatives. Only the two
// derivatives next to x's bin are computed. Same formulas and conventions as
// rq_spline() below; shared by the two inference kernels.
template <typename T>
inline void spline_element(T x, const T* cw, const T* ch, const T* raw_derivatives, int64_t k,
                           bool inverse, T min_d, T* out, T* lad) {
  const T* loc = inverse ? ch : cw;
  int64_t idx = 0;
  for (int64_t j = 1; j < k; ++j) idx += x >= loc[j];
  const T xk = cw[idx], wk = cw[idx + 1] - cw[idx];
  const T yk = ch[idx], hk = ch[idx + 1] - ch[idx];
  const T delta = hk / wk;
  const T d0 = idx == 0 ? T(1) : min_d + softplus(raw_derivatives[idx - 1]);
  const T d1 = idx + 1 == k ? T(1) : min_d + softplus(raw_derivatives[idx]);
  const T slope_sum = d0 + d1 - 2 * delta;
  T theta;
  if (inverse) {
    const T dy = x - yk;
    const T qa = dy * slope_sum + hk * (delta - d0);
    const T qb = hk * d0 - dy * slope_sum;
    const T qc = -delta * dy;
    const T disc = std::max(T(0), qb * qb - 4 * qa * qc);
    theta = (2 * qc) / (-qb - std::sqrt(disc));
    *out = theta * wk + xk;
  } else {
    theta = (x - xk) / wk;
    const T t1mt = theta * (1 - theta);
    *out = yk + hk * (delta * theta * theta + d0 * t1mt) / (delta + slope_sum * t1mt);
  }
  const T t1mt = theta * (1 - theta);
  const T denominator = delta + slope_sum * t1mt;
  const T numerator =
      delta * delta * (d1 * theta * theta + 2 * delta * t1mt + d0 * (1 - theta) * (1 - theta));
  const T l = std::log(numerator) - 2 * std::log(denominator);
  *lad = inverse ? -l : l;
}

// The inference path: every element in one pass over its 3K - 1 parameters,
// without the dozens of (..., D, K) intermediates of the differentiable path.
template <typename T>
void rq_spline_fused(const T* in, const T* params, T* out, T* lad, int64_t n, int64_t k,
                     bool inverse, const RQSplineOptions& o) {
  const T b = static_cast<T>(o.tail_bound);
  const T min_w = static_cast<T>(o.min_bin_width), min_h = static_cast<T>(o.min_bin_height);
  const T min_d = static_cast<T>(o.min_derivative);
  const int64_t stride = 3 * k - 1;
  at::parallel_for(0, n, 2048, [&](int64_t first, int64_t last) {
    T cw[kMaxFusedBins + 1], ch[kMaxFusedBins + 1];
    for (int64_t i = first; i < last; ++i) {
      const T x = in[i];
      if (!(x >= -b && x <= b)) {
        out[i] = x;
        lad[i] = 0;
        continue;
      }
      const T* p = params + i * stride;
      knots_of(p, k, min_w, -b, b, cw);
      knots_of(p + k, k, min_h, -b, b, ch);
      spline_element(x, cw, ch, p + 2 * k, k, inverse, min_d, out + i, lad + i);
    }
  });
}

// Knots on [lo, hi] from softmax numerators e^(logit - max), as knots_of().
inline void knots_from_numerators(const float* e, int64_t k, float min_size, float lo, float hi,
                                  float* cum) {
  float sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += e[j];
  const float scale = (1.0f - min_size * static_cast<float>(k)) / sum;
  double acc = 0;  // as in knots_of()
  cum[0] = lo;
  for (int64_t j = 0; j + 1 < k; ++j) {
    acc += min_size + scale * e[j];
    cum[j + 1] = static_cast<float>((hi - lo) * acc + lo);
  }
  cum[k] = hi;
}

bool use_fused(const at::Tensor& inputs, const at::Tensor& packed, int64_t k) {
  const bool needs_grad =
      at::GradMode::is_enabled() && (inputs.requires_grad() || packed.requires_grad());
  return !needs_grad && k <= kMaxFusedBins && inputs.device().is_cpu() &&
         packed.device().is_cpu() && inputs.scalar_type() == packed.scalar_type() &&
         (inputs.scalar_type() == at::kFloat || inputs.scalar_type() == at::kDouble) &&
         packed.dim() == inputs.dim() + 1 &&
         packed.sizes().slice(0, inputs.dim()) == inputs.sizes();
}

}  // namespace

SplineResult rq_spline(const at::Tensor& inputs, const at::Tensor& unnormalized_widths,
                       const at::Tensor& unnormalized_heights,
                       const at::Tensor& unnormalized_derivatives, bool inverse,
                       const RQSplineOptions& options) {
  require(inputs.defined() && unnormalized_widths.defined() && unnormalized_heights.defined() &&
              unnormalized_derivatives.defined(),
          "rq_spline: undefined tensor");
  const int64_t k = unnormalized_widths.size(-1);
  require(k >= 2, "rq_spline: need at least 2 bins");
  require(unnormalized_widths.dim() == inputs.dim() + 1, "rq_spline: widths must be (..., D, K)");
  require(unnormalized_heights.sizes() == unnormalized_widths.sizes(),
          "rq_spline: heights must have the shape of widths");
  require(unnormalized_derivatives.dim() == unnormalized_widths.dim() &&
              unnormalized_derivatives.size(-1) == k - 1,
          "rq_spline: derivatives must be (..., D, K - 1), got last size " +
              std::to_string(unnormalized_derivatives.size(-1)));
  require(options.tail_bound > 0, "rq_spline: tail_bound must be positive");
  require(options.min_bin_width * static_cast<double>(k) < 1.0 &&
              options.min_bin_height * static_cast<double>(k) < 1.0,
          "rq_spline: minimal bin size too large for the number of bins");
  require(options.min_bin_width >= 0 && options.min_bin_height >= 0 && options.min_derivative >= 0,
          "rq_spline: minimal bin sizes and derivative must not be negative");

  const double b = options.tail_bound;
  const at::Tensor inside = (inputs >= -b) & (inputs <= b);
  // The spline is evaluated everywhere on clamped inputs and the tails are
  // selected afterwards: no boolean indexing, so the whole batch stays one
  // dense kernel chain and gradients stay finite.
  const at::Tensor x = inputs.clamp(-b, b);

  auto [cumwidths, widths] = knots(unnormalized_widths, options.min_bin_width, -b, b);
  auto [cumheights, heights] = knots(unnormalized_heights, options.min_bin_height, -b, b);
  at::Tensor derivatives = options.min_derivative + at::softplus(unnormalized_derivatives);
  derivatives = at::constant_pad_nd(derivatives, {1, 1}, 1.0);

  // Bin index = number of interior knots at or below x (the convention of
  // nflows' searchsorted), always within [0, K - 1].
  const at::Tensor& locations = inverse ? cumheights : cumwidths;
  at::Tensor idx = (x.unsqueeze(-1) >= locations.narrow(-1, 1, k - 1)).sum(-1, true);

  const at::Tensor in_cumwidths = pick(cumwidths, idx);
  const at::Tensor in_widths = pick(widths, idx);
  const at::Tensor in_cumheights = pick(cumheights, idx);
  const at::Tensor in_heights = pick(heights, idx);
  const at::Tensor in_delta = in_heights / in_widths;
  const at::Tensor d0 = pick(derivatives, idx);
  const at::Tensor d1 = pick(derivatives.narrow(-1, 1, k), idx);
  const at::Tensor slope_sum = d0 + d1 - 2 * in_delta;

  at::Tensor out;
  at::Tensor theta;
  if (inverse) {
    const at::Tensor dy = x - in_cumheights;
    const at::Tensor a = dy * slope_sum + in_heights * (in_delta - d0);
    const at::Tensor bq = in_heights * d0 - dy * slope_sum;
    const at::Tensor c = -in_delta * dy;
    // Rounding can push the discriminant a hair below zero at bin edges.
    const at::Tensor disc = (bq.pow(2) - 4 * a * c).clamp_min(0);
    // The numerically stable root of a theta^2 + b theta + c = 0.
    theta = (2 * c) / (-bq - disc.sqrt());
    out = theta * in_widths + in_cumwidths;
  } else {
    theta = (x - in_cumwidths) / in_widths;
    const at::Tensor t1mt = theta * (1 - theta);
    const at::Tensor numerator = in_heights * (in_delta * theta.pow(2) + d0 * t1mt);
    const at::Tensor denominator = in_delta + slope_sum * t1mt;
    out = in_cumheights + numerator / denominator;
  }
  const at::Tensor t1mt = theta * (1 - theta);
  const at::Tensor denominator = in_delta + slope_sum * t1mt;
  const at::Tensor derivative_numerator =
      in_delta.pow(2) * (d1 * theta.pow(2) + 2 * in_delta * t1mt + d0 * (1 - theta).pow(2));
  at::Tensor logabsdet = derivative_numerator.log() - 2 * denominator.log();
  if (inverse) logabsdet = -logabsdet;

  return {at::where(inside, out, inputs), at::where(inside, logabsdet, at::zeros_like(logabsdet))};
}

SplineResult rq_spline_packed(const at::Tensor& inputs, const at::Tensor& packed_params,
                              bool inverse, const RQSplineOptions& options) {
  require(
      packed_params.defined() && packed_params.dim() >= 1 && (packed_params.size(-1) + 1) % 3 == 0,
      "rq_spline_packed: last axis must hold 3K - 1 values");
  const int64_t k = (packed_params.size(-1) + 1) / 3;
  if (k >= 2 && options.tail_bound > 0 && options.min_derivative >= 0 &&
      options.min_bin_width >= 0 && options.min_bin_height >= 0 &&
      options.min_bin_width * static_cast<double>(k) < 1.0 &&
      options.min_bin_height * static_cast<double>(k) < 1.0 &&
      use_fused(inputs, packed_params, k)) {
    const at::Tensor x = inputs.contiguous();
    const at::Tensor p = packed_params.contiguous();
    SplineResult r{at::empty_like(x), at::empty_like(x)};
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rq_spline_fused", [&] {
      rq_spline_fused<scalar_t>(x.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(),
                                r.outputs.data_ptr<scalar_t>(), r.logabsdet.data_ptr<scalar_t>(),
                                x.numel(), k, inverse, options);
    });
    return r;
  }
  return rq_spline(inputs, packed_params.narrow(-1, 0, k), packed_params.narrow(-1, k, k),
                   packed_params.narrow(-1, 2 * k, k - 1), inverse, options);
}

namespace {

// exp(v) for v <= 0 in place, written so the compiler vectorises it: range
// reduction v = k ln2 + r with |r| <= ln2 / 2, a degree-7 Taylor polynomial
// for e^r (truncation error 5e-9, below float rounding) and 2^k from the
// exponent bits. Arguments below -87 flush to e^-87, which a softmax
// normalisation turns into the same negligible fraction as an exact zero.
// Cloned per instruction set and picked at load time, so one binary uses
// AVX-512 or AVX2 where the CPU has them.
__attribute__((target_clones("avx512f", "avx2", "default"))) void exp_nonpositive(float* v,
                                                                                  int64_t n) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  for (int64_t i = 0; i < n; ++i) {
    const float x = std::max(v[i], -87.0f);
    const float k = (x * kLog2e + kRound) - kRound;
    const float r = (x - k * kLn2Hi) - k * kLn2Lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    v[i] = p * scale;
  }
}

}  // namespace

void rq_spline_rows(float* x, int64_t ld, int64_t rows, int64_t d, const float* params,
                    float* fractions, int64_t k, bool inverse, const RQSplineOptions& o,
                    float* logdet) {
  require(k >= 2 && k <= kMaxFusedBins, "rq_spline_rows: bin count out of range");
  if (rows == 0 || d == 0) return;
  const int64_t stride = 3 * k - 1;
  const int64_t elements = rows * d;
  // Softmax numerators for widths and heights of every element: shift by
  // each group's maximum, then one flat vectorised exp over all of them.
  for (int64_t e = 0; e < elements; ++e) {
    const float* p = params + e * stride;
    float* f = fractions + e * 2 * k;
    for (int64_t g = 0; g < 2; ++g) {
      const float* q = p + g * k;
      float mx = q[0];
      for (int64_t j = 1; j < k; ++j) mx = std::max(mx, q[j]);
      for (int64_t j = 0; j < k; ++j) f[g * k + j] = q[j] - mx;
    }
  }
  exp_nonpositive(fractions, elements * 2 * k);
  const float b = static_cast<float>(o.tail_bound);
  const float min_w = static_cast<float>(o.min_bin_width);
  const float min_h = static_cast<float>(o.min_bin_height);
  const float min_d = static_cast<float>(o.min_derivative);
  float cw[kMaxFusedBins + 1], ch[kMaxFusedBins + 1];
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0;
    for (int64_t j = 0; j < d; ++j) {
      float& v = x[r * ld + j];
      if (!(v >= -b && v <= b)) continue;
      const int64_t e = r * d + j;
      const float* f = fractions + e * 2 * k;
      knots_from_numerators(f, k, min_w, -b, b, cw);
      knots_from_numerators(f + k, k, min_h, -b, b, ch);
      float lad;
      spline_element(v, cw, ch, params + e * stride + 2 * k, k, inverse, min_d, &v, &lad);
      sum += lad;
    }
    if (logdet) logdet[r] += sum;
  }
}

}  // namespace gml
