#include "core/common/rq_spline.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
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
  T acc = 0;
  cum[0] = lo;
  for (int64_t j = 0; j + 1 < k; ++j) {
    acc += min_size + scale * e[j];
    cum[j + 1] = (hi - lo) * acc + lo;
  }
  cum[k] = hi;
}

template <typename T>
T softplus(T v) {
  return v > T(20) ? v : std::log1p(std::exp(v));
}

// The inference path: every element in one pass over its 3K - 1 parameters,
// without the dozens of (..., D, K) intermediates of the differentiable
// path. Only the two interior derivatives next to the element's bin are
// computed. Same formulas and conventions as rq_spline() below.
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
      const T* loc = inverse ? ch : cw;
      int64_t idx = 0;
      for (int64_t j = 1; j < k; ++j) idx += x >= loc[j];
      const T xk = cw[idx], wk = cw[idx + 1] - cw[idx];
      const T yk = ch[idx], hk = ch[idx + 1] - ch[idx];
      const T delta = hk / wk;
      const T d0 = idx == 0 ? T(1) : min_d + softplus(p[2 * k + idx - 1]);
      const T d1 = idx + 1 == k ? T(1) : min_d + softplus(p[2 * k + idx]);
      const T slope_sum = d0 + d1 - 2 * delta;
      T theta;
      if (inverse) {
        const T dy = x - yk;
        const T qa = dy * slope_sum + hk * (delta - d0);
        const T qb = hk * d0 - dy * slope_sum;
        const T qc = -delta * dy;
        const T disc = std::max(T(0), qb * qb - 4 * qa * qc);
        theta = (2 * qc) / (-qb - std::sqrt(disc));
        out[i] = theta * wk + xk;
      } else {
        theta = (x - xk) / wk;
        const T t1mt = theta * (1 - theta);
        out[i] = yk + hk * (delta * theta * theta + d0 * t1mt) / (delta + slope_sum * t1mt);
      }
      const T t1mt = theta * (1 - theta);
      const T denominator = delta + slope_sum * t1mt;
      const T numerator =
          delta * delta * (d1 * theta * theta + 2 * delta * t1mt + d0 * (1 - theta) * (1 - theta));
      const T l = std::log(numerator) - 2 * std::log(denominator);
      lad[i] = inverse ? -l : l;
    }
  });
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
  require(options.min_derivative > 0, "rq_spline: min_derivative must be positive");

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
  if (k >= 2 && options.tail_bound > 0 && options.min_derivative > 0 &&
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

}  // namespace gml
