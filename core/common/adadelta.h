// AdaDelta (Zeiler 2012), the optimiser DeepGalaxy trains with. LibTorch's
// C++ API has none; this follows torch.optim.Adadelta's conventions (eps
// inside both square roots, lr scaling the step, L2 weight decay added to
// the gradient).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "core/common/optimizer.h"

namespace gml {

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0.0;
};

// Checkpoint state: keys sq.<i> (running mean of g^2), acc.<i> (of the
// squared updates) and step.
class Adadelta : public Optimizer {
 public:
  Adadelta(std::vector<at::Tensor> params, AdadeltaOptions options);

  void step() override;
  // Zeroes the gradients in place, as torch.optim.Adadelta did when the
  // reference trajectories were recorded.
  void zero_grad() override;

 private:
  AdadeltaOptions options_;
};

}  // namespace gml
