#include "core/flow/spline_coupling.h"

#include <torch/torch.h>

#include "core/common/error.h"

namespace gml::flow {

SplineCouplingImpl::SplineCouplingImpl(const FlowConfig& config, at::Generator generator)
    : first_dim_(config.data_dim / 2),
      second_dim_(config.data_dim - config.data_dim / 2),
      params_per_dim_(rq_spline_param_count(config.num_bins)) {
  require(config.data_dim >= 2, "SplineCoupling: data_dim must be at least 2");
  spline_.tail_bound = config.tail_bound;
  spline_.min_bin_width = config.min_bin_width;
  spline_.min_bin_height = config.min_bin_height;
  spline_.min_derivative = config.min_derivative;
  ConditionerShape shape;
  shape.condition_in = config.condition_dim;
  shape.hidden_width = config.hidden_width;
  shape.hidden_layers = config.hidden_layers;
  shape.leaky_relu_slope = config.leaky_relu_slope;

  shape.data_in = first_dim_;
  shape.out = second_dim_ * params_per_dim_;
  second_ = register_module("second", Conditioner(shape, generator));
  shape.data_in = second_dim_;
  shape.out = first_dim_ * params_per_dim_;
  first_ = register_module("first", Conditioner(shape, generator));
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::transform(Conditioner& net,
                                                                const at::Tensor& half,
                                                                const at::Tensor& given,
                                                                const at::Tensor& condition,
                                                                bool inverse) {
  at::Tensor params = net->forward(given, condition).view({half.size(0), half.size(1), -1});
  SplineResult r = rq_spline_packed(half, params, inverse, spline_);
  return {r.outputs, r.logabsdet.sum(-1)};
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::forward(const at::Tensor& x,
                                                              const at::Tensor& condition) {
  require(x.dim() == 2 && x.size(1) == first_dim_ + second_dim_,
          "SplineCoupling: input must be (N, D)");
  const at::Tensor x1 = x.narrow(1, 0, first_dim_);
  const at::Tensor x2 = x.narrow(1, first_dim_, second_dim_);
  auto [y2, ld2] = transform(second_, x2, x1, condition, false);
  auto [y1, ld1] = transform(first_, x1, y2, condition, false);
  return {at::cat({y1, y2}, 1), ld1 + ld2};
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::inverse(const at::Tensor& y,
                                                              const at::Tensor& condition) {
  require(y.dim() == 2 && y.size(1) == first_dim_ + second_dim_,
          "SplineCoupling: input must be (N, D)");
  const at::Tensor y1 = y.narrow(1, 0, first_dim_);
  const at::Tensor y2 = y.narrow(1, first_dim_, second_dim_);
  auto [x1, ld1] = transform(first_, y1, y2, condition, true);
  auto [x2, ld2] = transform(second_, y2, x1, condition, true);
  return {at::cat({x1, x2}, 1), ld1 + ld2};
}

}  // namespace gml::flow
