#include "core/common/adadelta.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/common/error.h"

namespace gml {

Adadelta::Adadelta(std::vector<at::Tensor> params, AdadeltaOptions options)
    : params_(std::move(params)), options_(options) {
  require(options_.lr >= 0 && options_.rho >= 0 && options_.rho <= 1 && options_.eps > 0,
          "Adadelta: need lr >= 0, 0 <= rho <= 1, eps > 0");
  for (const at::Tensor& p : params_) {
    square_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    acc_delta_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
  }
}

void Adadelta::step() {
  at::NoGradGuard no_grad;
  ++step_;
  const double rho = options_.rho, eps = options_.eps;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (options_.weight_decay != 0) g = g.add(p, options_.weight_decay);
    square_avg_[i].mul_(rho).addcmul_(g, g, 1 - rho);
    at::Tensor std = square_avg_[i].add(eps).sqrt_();
    at::Tensor delta = acc_delta_[i].add(eps).sqrt_().div_(std).mul_(g);
    acc_delta_[i].mul_(rho).addcmul_(delta, delta, 1 - rho);
    p.add_(delta, -options_.lr);
  }
}

void Adadelta::zero_grad() {
  for (at::Tensor& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

std::map<std::string, at::Tensor> Adadelta::state() const {
  std::map<std::string, at::Tensor> s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s["sq." + std::to_string(i)] = square_avg_[i];
    s["acc." + std::to_string(i)] = acc_delta_[i];
  }
  s["step"] = at::tensor({step_}, at::kLong);
  return s;
}

void Adadelta::load_state(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* dst : {&square_avg_, &acc_delta_}) {
      const std::string key = (dst == &square_avg_ ? "sq." : "acc.") + std::to_string(i);
      auto it = state.find(key);
      if (it == state.end() || !it->second.sizes().equals((*dst)[i].sizes()))
        fail(Status::Format, "Adadelta state: '" + key + "' is missing or has the wrong shape");
      (*dst)[i].copy_(it->second);
    }
  }
  auto it = state.find("step");
  if (it == state.end()) fail(Status::Format, "Adadelta state: 'step' is missing");
  step_ = it->second.item<int64_t>();
}

}  // namespace gml
