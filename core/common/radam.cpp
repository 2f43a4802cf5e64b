#include "core/common/radam.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/common/error.h"

namespace gml {

RAdam::RAdam(std::vector<at::Tensor> params, RAdamOptions options)
    : params_(std::move(params)), options_(options) {
  require(options.lr >= 0 && options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 &&
              options.beta2 < 1 && options.eps >= 0,
          "RAdam: lr >= 0, 0 <= beta < 1 and eps >= 0 are required");
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve).detach());
    v_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve).detach());
  }
}

void RAdam::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

void RAdam::step() {
  at::NoGradGuard no_grad;
  ++step_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double t = static_cast<double>(step_);
  const double bias1 = 1.0 - std::pow(b1, t);
  const double b2t = std::pow(b2, t);
  const double rho_inf = 2.0 / (1.0 - b2) - 1.0;
  const double rho_t = rho_inf - 2.0 * t * b2t / (1.0 - b2t);
  // The variance of the adaptive rate is tractable only once rho_t > 5;
  // before that the update is plain bias-corrected momentum.
  const bool rectify = options_.rectified && rho_t > 5.0;
  double rect = 0.0;
  if (rectify) {
    rect = std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                     ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (options_.weight_decay != 0.0) g = g.add(p, options_.weight_decay);
    m_[i].mul_(b1).add_(g, 1.0 - b1);
    v_[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    if (!options_.rectified) {
      // torch.optim.Adam: lr * m_hat / (sqrt(v_hat) + eps).
      at::Tensor denom = v_[i].sqrt().div_(std::sqrt(1.0 - b2t)).add_(options_.eps);
      p.addcdiv_(m_[i], denom, -options_.lr / bias1);
    } else if (rectify) {
      // lr * rect * m_hat * sqrt(1 - b2^t) / (sqrt(v) + eps), with eps where
      // torch.optim.RAdam puts it so trained models agree with the reference.
      at::Tensor denom = v_[i].sqrt().add_(options_.eps);
      p.addcdiv_(m_[i], denom, -options_.lr * rect * std::sqrt(1.0 - b2t) / bias1);
    } else {
      p.add_(m_[i], -options_.lr / bias1);
    }
  }
}

std::map<std::string, at::Tensor> RAdam::state() const {
  std::map<std::string, at::Tensor> s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s["m." + std::to_string(i)] = m_[i].detach().cpu().clone();
    s["v." + std::to_string(i)] = v_[i].detach().cpu().clone();
  }
  s["step"] = at::full({}, step_, at::kLong);
  return s;
}

void RAdam::load_state(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* dst : {&m_, &v_}) {
      const std::string key = (dst == &m_ ? "m." : "v.") + std::to_string(i);
      auto it = state.find(key);
      if (it == state.end() || it->second.sizes() != (*dst)[i].sizes()) {
        fail(Status::Format, "RAdam checkpoint lacks or mis-shapes " + key);
      }
      (*dst)[i].copy_(it->second);
    }
  }
  auto it = state.find("step");
  if (it == state.end()) fail(Status::Format, "RAdam checkpoint lacks its step count");
  step_ = it->second.item<int64_t>();
}

}  // namespace gml
