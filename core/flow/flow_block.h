// One GalacticFlow block: an LU 1x1 linear layer that mixes all columns,
// followed by a double spline coupling.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <utility>

#include "core/flow/flow_config.h"
#include "core/flow/lu_linear.h"
#include "core/flow/spline_coupling.h"

namespace gml::flow {

class FlowBlockImpl : public torch::nn::Module {
 public:
  FlowBlockImpl(const FlowConfig& config, at::Generator generator);

  // Data -> latent direction; returns (y, log|det dy/dx| (N)).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& condition);
  // Latent -> data direction; returns (x, log|det dx/dy| (N)).
  std::pair<at::Tensor, at::Tensor> inverse(const at::Tensor& y, const at::Tensor& condition);

 private:
  LULinear linear_{nullptr};
  SplineCoupling coupling_{nullptr};
};
TORCH_MODULE(FlowBlock);

}  // namespace gml::flow
