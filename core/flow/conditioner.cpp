#include "core/flow/conditioner.h"

#include <torch/torch.h>

#include <cmath>

#include "core/common/error.h"

namespace gml::flow {
namespace {

// Linear layers at even indices, LeakyReLU between them (and after the last
// with output_activation), so parameter names read data_net.0.weight,
// data_net.2.weight, ... either way.
torch::nn::Sequential make_mlp(int64_t in, int64_t out, const ConditionerShape& s,
                               at::Generator& generator) {
  torch::nn::Sequential mlp;
  int64_t width_in = in;
  for (int64_t i = 0; i <= s.hidden_layers; ++i) {
    const bool last = i == s.hidden_layers;
    const int64_t width_out = last ? out : s.hidden_width;
    torch::nn::Linear linear(width_in, width_out);
    const double bound = 1.0 / std::sqrt(static_cast<double>(width_in));
    torch::NoGradGuard no_grad;
    linear->weight.uniform_(-bound, bound, generator);
    linear->bias.uniform_(-bound, bound, generator);
    mlp->push_back(linear);
    if (!last || s.output_activation) {
      mlp->push_back(
          torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(s.leaky_relu_slope)));
    }
    width_in = width_out;
  }
  return mlp;
}

}  // namespace

ConditionerImpl::ConditionerImpl(const ConditionerShape& shape, at::Generator generator)
    : shape_(shape) {
  require(shape.data_in >= 1 && shape.condition_in >= 1 && shape.out >= 1,
          "Conditioner: dimensions must be positive");
  require(shape.hidden_width >= 1 && shape.hidden_layers >= 1,
          "Conditioner: need at least one hidden layer of positive width");
  data_net_ = register_module("data_net", make_mlp(shape.data_in, shape.out, shape, generator));
  condition_net_ =
      register_module("condition_net", make_mlp(shape.condition_in, shape.out, shape, generator));
}

namespace {

// Inference form of an MLP: fused bias (addmm) and in-place activations, so
// no intermediate is allocated twice. Every Linear followed by a LeakyReLU
// in `mlp` gets one. `gate` (1, out), when defined, is folded into a last
// layer without activation: (W h + b) * g = (g W) h + g b, which saves a
// pass over the (N, out) result when one condition serves every row.
at::Tensor mlp_inference(torch::nn::Sequential& mlp, at::Tensor h, double slope,
                         const at::Tensor& gate) {
  const size_t n = mlp->size();
  for (size_t i = 0; i < n; i += 2) {
    auto* linear = mlp->ptr<torch::nn::LinearImpl>(i).get();
    if (i + 1 < n) {
      h = at::addmm(linear->bias, h, linear->weight.t());
      at::leaky_relu_(h, slope);
    } else if (gate.defined()) {
      const at::Tensor g = gate.reshape({-1});
      h = at::addmm(linear->bias * g, h, (linear->weight * g.unsqueeze(1)).t());
    } else {
      h = at::addmm(linear->bias, h, linear->weight.t());
    }
  }
  return h;
}

}  // namespace

at::Tensor ConditionerImpl::forward(const at::Tensor& data, const at::Tensor& condition) {
  const bool inference = !at::GradMode::is_enabled() && data.dim() == 2 && condition.dim() == 2;
  if (!inference) return data_net_->forward(data) * condition_net_->forward(condition);
  const double slope = shape_.leaky_relu_slope;
  at::Tensor gate = mlp_inference(condition_net_, condition, slope, {});
  if (gate.size(0) == 1 && !shape_.output_activation)
    return mlp_inference(data_net_, data, slope, gate);
  return mlp_inference(data_net_, data, slope, {}).mul_(gate);
}

}  // namespace gml::flow
