// Rectified Adam (Liu et al. 2020, "On the Variance of the Adaptive Learning
// Rate and Beyond"), the optimiser GalacticFlow trains with. LibTorch's C++
// API has no RAdam; this follows the published update with the same
// conventions as torch.optim.RAdam (bias-corrected first moment, rectifier
// applied once rho_t > 5, eps added to sqrt(v)).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace gml {

struct RAdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  // false: plain Adam (Kingma & Ba 2015) with torch.optim.Adam's
  // conventions, the optimiser SEDflow trains with; same state layout.
  bool rectified = true;
};

class RAdam {
 public:
  RAdam(std::vector<at::Tensor> params, RAdamOptions options);

  // One update from the parameters' .grad(); parameters without a gradient
  // are skipped.
  void step();
  void zero_grad();

  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }
  int64_t steps() const { return step_; }

  // Moments and step count, for checkpoints: keys m.<i>, v.<i>, step.
  std::map<std::string, at::Tensor> state() const;
  void load_state(const std::map<std::string, at::Tensor>& state);

 private:
  std::vector<at::Tensor> params_, m_, v_;
  RAdamOptions options_;
  int64_t step_ = 0;
};

}  // namespace gml
