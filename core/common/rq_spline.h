// Monotonic rational-quadratic splines (Durkan et al. 2019, "Neural Spline
// Flows") with identity tails, as free functions on tensors so that every
// family can build couplings or autoregressive layers on them.
//
// Conventions (identical to nflows' unconstrained_rational_quadratic_spline
// with tails="linear"):
//   inputs                    (..., D)
//   unnormalized_widths       (..., D, K)
//   unnormalized_heights      (..., D, K)
//   unnormalized_derivatives  (..., D, K - 1)   interior knots only
// The spline maps [-B, B] onto itself and is the identity outside. Bin widths
// and heights are min + (1 - K min) * softmax(.) scaled to 2B; interior
// derivatives are min_derivative + softplus(.); the two boundary derivatives
// are exactly 1 so the spline joins the identity tails with a continuous
// first derivative.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace gml {

struct RQSplineOptions {
  double tail_bound = 3.0;  // B
  double min_bin_width = 1e-3;
  double min_bin_height = 1e-3;
  double min_derivative = 1e-3;
};

struct SplineResult {
  at::Tensor outputs;    // (..., D)
  at::Tensor logabsdet;  // (..., D), elementwise log|d output / d input|
};

// Number of unconstrained values per transformed dimension: K widths,
// K heights and K - 1 interior derivatives.
constexpr int64_t rq_spline_param_count(int64_t num_bins) {
  return 3 * num_bins - 1;
}

// Applies the spline (inverse = false) or its inverse (inverse = true).
// logabsdet is that of the map actually applied, so for the inverse it is
// log|dx/dy| = -log|dy/dx|. Differentiable in every argument; fully batched.
// Throws Error(InvalidArgument) on inconsistent shapes or options.
SplineResult rq_spline(const at::Tensor& inputs, const at::Tensor& unnormalized_widths,
                       const at::Tensor& unnormalized_heights,
                       const at::Tensor& unnormalized_derivatives, bool inverse,
                       const RQSplineOptions& options = {});

// Same, with the three parameter groups packed along the last axis as
// (..., D, 3K - 1) = [widths | heights | derivatives]. When no gradient is
// needed (inference) on CPU, one fused pass per element replaces the
// differentiable chain of tensor ops; results agree to rounding.
SplineResult rq_spline_packed(const at::Tensor& inputs, const at::Tensor& packed_params,
                              bool inverse, const RQSplineOptions& options = {});

// Inference kernel on raw float32 rows, for fixed-shape evaluation loops
// that own their buffers (no allocation, no autograd, single thread):
//   x         (rows, ld) row-major, Given and Returned: the spline (or its
//             inverse) of columns [0, d) is applied in place; the other
//             columns are untouched. Pass x + offset for a later column block.
//   params    (rows, d, 3K - 1) packed as for rq_spline_packed, Given.
//   scratch   rows * d * 2K floats, Returned (overwritten).
//   logdet    (rows) or nullptr, Given and Returned: each row's sum of the
//             elementwise log|det| of the map applied is added to it.
void rq_spline_rows(float* x, int64_t ld, int64_t rows, int64_t d, const float* params,
                    float* scratch, int64_t k, bool inverse, const RQSplineOptions& options,
                    float* logdet);

}  // namespace gml
