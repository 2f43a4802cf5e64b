// Double rational-quadratic spline coupling. The data splits into a first
// half x1 (the first floor(D/2) columns) and a second half x2. Forward:
//   y2 = s(x2; second(x1, c)),  y1 = s(x1; first(y2, c))
// so every column is transformed in one pass, and the inverse is one pass
// too (first recover x1 from y1 given y2, then x2 given x1).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

#include "core/common/rq_spline.h"
#include "core/flow/conditioner.h"
#include "core/flow/flow_config.h"

namespace gml::flow {

class SplineCouplingImpl : public torch::nn::Module {
 public:
  SplineCouplingImpl(const FlowConfig& config, at::Generator generator);

  // x (N, D), normalised condition (N or 1, C) -> (y, log|det dy/dx| (N)).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& condition);
  // y (N, D) -> (x, log|det dx/dy| (N)).
  std::pair<at::Tensor, at::Tensor> inverse(const at::Tensor& y, const at::Tensor& condition);

 private:
  // Spline of `half` with parameters from `net`; returns (out, log|det|).
  std::pair<at::Tensor, at::Tensor> couple(const at::Tensor& v, const at::Tensor& condition,
                                           bool inverse);
  std::pair<at::Tensor, at::Tensor> transform(Conditioner& net, const at::Tensor& half,
                                              const at::Tensor& given, const at::Tensor& condition,
                                              bool inverse);

  int64_t first_dim_;
  int64_t second_dim_;
  int64_t params_per_dim_;
  RQSplineOptions spline_;
  Conditioner first_{nullptr};   // parameters for x1, fed the second half
  Conditioner second_{nullptr};  // parameters for x2, fed the first half
};
TORCH_MODULE(SplineCoupling);

}  // namespace gml::flow
