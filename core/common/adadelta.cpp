#include "core/common/adadelta.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/common/error.h"

namespace gml {

Adadelta::Adadelta(std::vector<at::Tensor> params, AdadeltaOptions options)
    : Optimizer("Adadelta", std::move(params), options.lr, {"sq", "acc"}, StepShape::OneElement),
      options_(options) {
  require(options_.lr >= 0 && options_.rho >= 0 && options_.rho <= 1 && options_.eps > 0,
          "Adadelta: need lr >= 0, 0 <= rho <= 1, eps > 0");
}

void Adadelta::step() {
  at::NoGradGuard no_grad;
  ++step_;
  const double rho = options_.rho, eps = options_.eps;
  auto& square_avg = slots_[0];
  auto& acc_delta = slots_[1];
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (options_.weight_decay != 0) g = g.add(p, options_.weight_decay);
    square_avg[i].mul_(rho).addcmul_(g, g, 1 - rho);
    at::Tensor std = square_avg[i].add(eps).sqrt_();
    at::Tensor delta = acc_delta[i].add(eps).sqrt_().div_(std).mul_(g);
    acc_delta[i].mul_(rho).addcmul_(delta, delta, 1 - rho);
    p.add_(delta, -lr_);
  }
}

void Adadelta::zero_grad() {
  for (at::Tensor& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

}  // namespace gml
