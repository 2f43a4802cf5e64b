// Rectified Adam (Liu et al. 2020, "On the Variance of the Adaptive Learning
// Rate and Beyond"), the optimiser GalacticFlow trains with. LibTorch's C++
// API has no RAdam; this follows the published update with the same
// conventions as torch.optim.RAdam (bias-corrected first moment, rectifier
// applied once rho_t > 5, eps added to sqrt(v)).
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

#include "core/common/optimizer.h"

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

// Checkpoint state: keys m.<i> (first moment), v.<i> (second) and step.
class RAdam : public Optimizer {
 public:
  RAdam(std::vector<at::Tensor> params, RAdamOptions options);

  void step() override;
  // Drops the gradients (set_to_none), so a parameter the next backward
  // does not reach is skipped rather than updated with a zero gradient.
  void zero_grad() override;

 private:
  RAdamOptions options_;
};

}  // namespace gml
