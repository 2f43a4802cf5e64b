// What AdaDelta and (R)Adam share: the parameters, two running tensors per
// parameter, the learning rate and the step count, and the checkpoint form
// of that state. Each optimiser keeps its own update and its own zero_grad
// (they follow different torch.optim conventions there).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gml {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One update from the parameters' .grad(); parameters without a gradient
  // are skipped.
  virtual void step() = 0;
  virtual void zero_grad() = 0;

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return step_; }

  // Running tensors and step count, for checkpoints: keys <slot>.<i> and
  // step, copied to the CPU.
  std::map<std::string, at::Tensor> state() const;
  // Throws Error(Format) when the state does not fit the parameters.
  void load_state(const std::map<std::string, at::Tensor>& state);

 protected:
  // How the step count is stored. Checkpoints already written hold
  // AdaDelta's as a one-element array and Adam's as a scalar; each keeps
  // its form so that those files read and compare as before.
  enum class StepShape { Scalar, OneElement };

  // `slot_keys` name the two running tensors in checkpoints.
  Optimizer(const char* name, std::vector<at::Tensor> params, double lr,
            std::array<const char*, 2> slot_keys, StepShape step_shape);

  std::vector<at::Tensor> params_;
  // Two running tensors per parameter, zero at the start, shaped like it.
  std::array<std::vector<at::Tensor>, 2> slots_;
  double lr_;
  int64_t step_ = 0;

 private:
  const char* name_;
  std::array<const char*, 2> slot_keys_;
  StepShape step_shape_;
};

}  // namespace gml
