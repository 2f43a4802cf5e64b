#include "core/common/optimizer.h"

#include <ATen/ATen.h>

#include "core/common/error.h"

namespace gml {

Optimizer::Optimizer(const char* name, std::vector<at::Tensor> params, double lr,
                     std::array<const char*, 2> slot_keys, StepShape step_shape)
    : params_(std::move(params)),
      lr_(lr),
      name_(name),
      slot_keys_(slot_keys),
      step_shape_(step_shape) {
  for (auto& slot : slots_) {
    for (const at::Tensor& p : params_)
      slot.push_back(at::zeros_like(p, at::MemoryFormat::Preserve).detach());
  }
}

std::map<std::string, at::Tensor> Optimizer::state() const {
  std::map<std::string, at::Tensor> s;
  for (size_t k = 0; k < slots_.size(); ++k) {
    for (size_t i = 0; i < params_.size(); ++i)
      s[slot_keys_[k] + ("." + std::to_string(i))] = slots_[k][i].detach().cpu().clone();
  }
  s["step"] = step_shape_ == StepShape::Scalar ? at::full({}, step_, at::kLong)
                                               : at::tensor({step_}, at::kLong);
  return s;
}

void Optimizer::load_state(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (size_t k = 0; k < slots_.size(); ++k) {
      const std::string key = slot_keys_[k] + ("." + std::to_string(i));
      auto it = state.find(key);
      if (it == state.end() || !it->second.sizes().equals(slots_[k][i].sizes()))
        fail(Status::Format,
             std::string(name_) + " state: '" + key + "' is missing or has the wrong shape");
      slots_[k][i].copy_(it->second);
    }
  }
  auto it = state.find("step");
  if (it == state.end()) fail(Status::Format, std::string(name_) + " state: 'step' is missing");
  step_ = it->second.item<int64_t>();
}

}  // namespace gml
