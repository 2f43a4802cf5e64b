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
  shape.output_activation = config.conditioner_output_activation;

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
  return couple(x, condition, false);
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::inverse(const at::Tensor& y,
                                                              const at::Tensor& condition) {
  return couple(y, condition, true);
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::couple(const at::Tensor& v,
                                                             const at::Tensor& condition,
                                                             bool inverse) {
  require(v.dim() == 2 && v.size(1) == first_dim_ + second_dim_,
          "SplineCoupling: input must be (N, D)");
  at::Tensor halves[2] = {v.narrow(1, 0, first_dim_), v.narrow(1, first_dim_, second_dim_)};
  Conditioner* nets[2] = {&first_, &second_};
  // Forward transforms the second half given the first, then the first given
  // the new second; the inverse undoes the two in the opposite order.
  const int order[2] = {inverse ? 0 : 1, inverse ? 1 : 0};
  at::Tensor logdet;
  for (const int k : order) {
    auto [out, ld] = transform(*nets[k], halves[k], halves[1 - k], condition, inverse);
    halves[k] = out;
    logdet = logdet.defined() ? logdet + ld : ld;
  }
  return {at::cat({halves[0], halves[1]}, 1), logdet};
}

}  // namespace gml::flow
