// The spline-parameter network of GalacticFlow: the elementwise product of
// an MLP of the conditioning half of the data and an MLP of the galaxy
// condition. The product lets the galaxy condition gate every spline
// parameter multiplicatively instead of only shifting the data features.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace gml::flow {

struct ConditionerShape {
  int64_t data_in = 0;
  int64_t condition_in = 0;
  int64_t out = 0;
  int64_t hidden_width = 128;
  int64_t hidden_layers = 3;
  double leaky_relu_slope = 0.2;
  bool output_activation = false;  // LeakyReLU after the last layer too
};

class ConditionerImpl : public torch::nn::Module {
 public:
  // Weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn with
  // `generator` (PyTorch's nn.Linear default, but reproducible).
  ConditionerImpl(const ConditionerShape& shape, at::Generator generator);

  // data (N, data_in), condition (N or 1, condition_in) -> (N, out). A single
  // condition row is evaluated once and broadcast.
  at::Tensor forward(const at::Tensor& data, const at::Tensor& condition);

  const ConditionerShape& shape() const { return shape_; }

 private:
  ConditionerShape shape_;
  torch::nn::Sequential data_net_{nullptr};
  torch::nn::Sequential condition_net_{nullptr};
};
TORCH_MODULE(Conditioner);

}  // namespace gml::flow
