// The conditional density estimator q(theta | x) of the posterior family: a
// stack of MADE blocks (affine MAF or rational-quadratic NSF) with a fixed
// random permutation after each, or of sbi's NSF couplings
// (spline_coupling.h), and independent z-scoring of theta and x.
//
// Forward direction (density): theta -> z = f(theta; x) ~ N(0, I),
//   log q(theta | x) = log N(z) + log|det dz/dtheta|.
// Sampling inverts each MADE by degree order (MadeImpl::invert), about one
// network evaluation per block instead of D; a coupling inverts in one.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/posterior/posterior_config.h"

namespace gml::posterior {

class PosteriorFlowImpl : public torch::nn::Module {
 public:
  // Parameters and permutations come from `seed` only. Validates the config.
  PosteriorFlowImpl(const PosteriorConfig& config, uint64_t seed);

  const PosteriorConfig& config() const { return config_; }
  int64_t num_parameters() const;

  // Fits the z-scores of theta and x on a training set (columns with zero
  // spread get unit scale); with bounded_theta, of the mapped theta.
  void fit_normalization(const at::Tensor& theta, const at::Tensor& x);
  // (N) bool: rows of theta (N, D) the density is defined on: strictly
  // inside the prior's bounds with bounded_theta, every row otherwise.
  at::Tensor in_domain(const at::Tensor& theta) const;
  // Keys theta_mean, theta_std, x_mean, x_std (float64, CPU).
  std::map<std::string, at::Tensor> normalization_tensors() const;
  void set_normalization_tensors(const std::map<std::string, at::Tensor>& tensors);

  // log q(theta | x): theta (N, D), x (N, C) or (1, C); differentiable in
  // the network's parameters; -inf outside in_domain().
  at::Tensor log_prob(const at::Tensor& theta, const at::Tensor& x);

  // n samples for each of G observations x (G, C) -> (G, n, D) in user
  // units, drawn from `generator`; no autograd. `naive` inverts every MADE
  // by D full passes instead of the degree-ordered single pass (for tests).
  at::Tensor sample(const at::Tensor& x, int64_t n, at::Generator generator, bool naive = false);

  // Latent -> theta for fixed noise: z (N, D), x (N, C) or (1, C), or
  // (N / x_repeat, C) with each row of x serving x_repeat consecutive rows.
  at::Tensor from_latent(const at::Tensor& z, const at::Tensor& x, bool naive = false,
                         int64_t x_repeat = 1);

 private:
  at::Tensor normalized_x(const at::Tensor& x) const;
  // theta (float64) -> the space the flow models, and log |d mapped / d theta|
  // summed per row into *log_jacobian when given; the identity without
  // bounded_theta (then *log_jacobian is left undefined).
  at::Tensor to_unbounded(const at::Tensor& theta, at::Tensor* log_jacobian) const;
  at::Tensor from_unbounded(const at::Tensor& v) const;
  at::Tensor permutation(size_t block) const;

  PosteriorConfig config_;
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<at::Tensor> permutations_;                // buffers (D), float-coded indices
  at::Tensor theta_mean_, theta_std_, x_mean_, x_std_;  // float64, CPU
  // bounded_theta: the prior's bounds (float64, CPU, +-inf where open) and
  // which dimensions are bounded on both sides, below only, above only.
  at::Tensor lower_, upper_, both_, below_, above_;
};
TORCH_MODULE(PosteriorFlow);

}  // namespace gml::posterior
