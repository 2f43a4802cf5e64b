// One transform of sbi's NSF (Durkan et al. 2019 as sbi builds it): a
// rational-quadratic spline coupling whose parameters come from a residual
// network of the untouched half and the observation, then an LU-linear
// layer that mixes every dimension before the next coupling.
//
// Layout follows nflows 0.14 (PiecewiseRationalQuadraticCouplingTransform
// with an alternating mask, ResidualNet, LULinear(identity_init)), so
// weights trained by sbi load here:
//   even blocks transform dimensions 0, 2, 4, ..., odd blocks 1, 3, 5, ...;
//   h   = W_in [theta_id, x] + b_in
//   h  += (W1 act(W0 act(h) + b0) + b1) * sigmoid(Wc x + bc)   per residual block
//   p   = W_out h + b_out, (N, transformed, 3K - 1) feature-major, widths
//         and heights divided by sqrt(hidden) before the softmax;
//   y   = L (U v) + bias, L unit lower-triangular, U upper-triangular with
//         diagonal softplus(.) + 1e-3; log|det| = sum log diag U.
// With one theta dimension there is no untouched half: the spline comes
// from x alone through Linear-act-Linear-act-Linear (sbi's ContextSplineMap),
// and there is no LU layer.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "core/common/rq_spline.h"
#include "core/posterior/made.h"

namespace gml::posterior {

struct SplineCouplingShape {
  int64_t features = 0;         // D
  int64_t context = 0;          // C
  int64_t hidden = 50;          // residual network width
  int64_t residual_blocks = 2;  // residual blocks of the conditioner
  int64_t bins = 10;
  double tail_bound = 3.0;
  bool even = true;  // which alternate dimensions this block transforms
  Activation activation = Activation::Relu;
};

class SplineCouplingImpl : public torch::nn::Module {
 public:
  // Linear layers start as torch.nn.Linear (U(+-1/sqrt(fan_in))), the last
  // layer of each residual block near zero, the LU layer at the identity,
  // all drawn from `generator`.
  SplineCouplingImpl(const SplineCouplingShape& shape, at::Generator generator);

  // v (N, D) -> (y, log|det dy/dv| (N)). `context` (N / context_repeat, C):
  // each row serves context_repeat consecutive rows of v, so the context's
  // share of the network runs once per observation.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& v, const at::Tensor& context,
                                            int64_t context_repeat = 1);
  // y (N, D) -> v, the exact inverse of forward().
  at::Tensor inverse(const at::Tensor& y, const at::Tensor& context, int64_t context_repeat = 1);

 private:
  // (N, transformed, 3K - 1) spline parameters of the untouched columns.
  at::Tensor spline_parameters(const at::Tensor& identity, const at::Tensor& context,
                               int64_t context_repeat);
  // The spline (or its inverse) of the transformed columns of v, and its
  // log|det| per row.
  std::pair<at::Tensor, at::Tensor> couple(const at::Tensor& v, const at::Tensor& context,
                                           int64_t context_repeat, bool inverse);
  at::Tensor act(const at::Tensor& t) const;
  at::Tensor lower() const;
  at::Tensor upper() const;

  SplineCouplingShape shape_;
  RQSplineOptions spline_;
  std::vector<int64_t> transform_cols_, identity_cols_;  // from the shape, not stored
  // Conditioner: initial, per residual block (first, second, context gate),
  // final. With D = 1: initial (x only), hidden, final.
  at::Tensor initial_w_, initial_b_, final_w_, final_b_, hidden_w_, hidden_b_;
  std::vector<at::Tensor> first_w_, first_b_, second_w_, second_b_, gate_w_, gate_b_;
  // LU layer (D > 1): strictly lower and upper entries (row-major, as
  // numpy's tril/triu indices), the unconstrained diagonal, the bias.
  at::Tensor lu_lower_, lu_upper_, lu_diag_, lu_bias_;
};
TORCH_MODULE(SplineCoupling);

}  // namespace gml::posterior
