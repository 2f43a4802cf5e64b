// Invertible 1x1 linear layer (Glow, Kingma & Dhariwal 2018) in LU form:
// W = P L (U + diag(sign_s * exp(log_s))), with P a fixed permutation, L unit
// lower-triangular and U strictly upper-triangular. log|det W| = sum(log_s),
// and the inverse needs only two triangular solves.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

namespace gml::flow {

class LULinearImpl : public torch::nn::Module {
 public:
  // Initialised from the LU decomposition of a random orthogonal matrix drawn
  // with `generator`, so the layer starts as a rotation (log|det| = 0).
  LULinearImpl(int64_t dim, at::Generator generator);

  // y = x W^T for x (N, dim); returns (y, log|det| broadcast to (N)).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x);
  // x = y W^-T; returns (x, -log|det| broadcast to (N)).
  std::pair<at::Tensor, at::Tensor> inverse(const at::Tensor& y);

  at::Tensor weight() const;
  at::Tensor logabsdet() const;
  int64_t dim() const { return dim_; }

 private:
  at::Tensor lower_factor() const;
  at::Tensor upper_factor() const;

  int64_t dim_;
  at::Tensor permutation_;  // buffer (dim, dim), a permutation matrix
  at::Tensor sign_s_;       // buffer (dim), +-1
  at::Tensor lower_;        // parameter (dim (dim - 1) / 2): strictly lower entries of L, row-major
  at::Tensor upper_;        // parameter (dim (dim - 1) / 2): strictly upper entries of U, row-major
  at::Tensor log_s_;        // parameter (dim)
};
TORCH_MODULE(LULinear);

}  // namespace gml::flow
