#include "core/common/radam.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/common/error.h"

namespace gml {

RAdam::RAdam(std::vector<at::Tensor> params, RAdamOptions options)
    : Optimizer("RAdam", std::move(params), options.lr, {"m", "v"}, StepShape::Scalar),
      options_(options) {
  require(options.lr >= 0 && options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 &&
              options.beta2 < 1 && options.eps >= 0,
          "RAdam: lr >= 0, 0 <= beta < 1 and eps >= 0 are required");
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
  auto& m = slots_[0];
  auto& v = slots_[1];
  if (rectify) {
    rect = std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                     ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (options_.weight_decay != 0.0) g = g.add(p, options_.weight_decay);
    m[i].mul_(b1).add_(g, 1.0 - b1);
    v[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    if (!options_.rectified) {
      // torch.optim.Adam: lr * m_hat / (sqrt(v_hat) + eps).
      at::Tensor denom = v[i].sqrt().div_(std::sqrt(1.0 - b2t)).add_(options_.eps);
      p.addcdiv_(m[i], denom, -lr_ / bias1);
    } else if (rectify) {
      // lr * rect * m_hat * sqrt(1 - b2^t) / (sqrt(v) + eps), with eps where
      // torch.optim.RAdam puts it so trained models agree with the reference.
      at::Tensor denom = v[i].sqrt().add_(options_.eps);
      p.addcdiv_(m[i], denom, -lr_ * rect * std::sqrt(1.0 - b2t) / bias1);
    } else {
      p.add_(m[i], -lr_ / bias1);
    }
  }
}

}  // namespace gml
