// AdaDelta (Zeiler 2012), the optimiser DeepGalaxy trains with. LibTorch's
// C++ API has none; this follows torch.optim.Adadelta's conventions (eps
// inside both square roots, lr scaling the step, L2 weight decay added to
// the gradient).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gml {

struct AdadeltaOptions {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0.0;
};

class Adadelta {
 public:
  Adadelta(std::vector<at::Tensor> params, AdadeltaOptions options);

  // One update from the parameters' .grad(); parameters without a gradient
  // are skipped.
  void step();
  void zero_grad();

  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }
  int64_t steps() const { return step_; }

  // Accumulators and step count, for checkpoints: keys sq.<i>, acc.<i>, step.
  std::map<std::string, at::Tensor> state() const;
  // Throws Error(Format) when the state does not fit the parameters.
  void load_state(const std::map<std::string, at::Tensor>& state);

 private:
  std::vector<at::Tensor> params_, square_avg_, acc_delta_;
  AdadeltaOptions options_;
  int64_t step_ = 0;
};

}  // namespace gml
