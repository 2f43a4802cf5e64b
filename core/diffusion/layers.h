// Convolution, linear and embedding layers with the parameter names and
// shapes of torch.nn (so state dicts are unchanged), whose parameters are
// allocated but not initialised.
//
// LibTorch's own layers draw PyTorch's default initialisation in their
// constructors, element by element from one serial generator: building
// SD-1.5's UNet that way took 7.5 of the 20 s the pipeline took to load, for
// values the checkpoint overwrites at once. This family builds networks only
// to load weights into them, and load_state_dict is strict (a parameter
// that the checkpoint does not assign fails the load), so the uninitialised
// memory is never read. A network trained from scratch must initialise
// these parameters itself.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace gml::diffusion {

// torch.nn.Conv2d with square kernels, zero padding, no dilation or groups.
class Conv2dImpl : public torch::nn::Cloneable<Conv2dImpl> {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
             int64_t padding = 0);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias;

 private:
  int64_t in_channels_, out_channels_, kernel_, stride_, padding_;
};
TORCH_MODULE(Conv2d);

// torch.nn.Linear.
class LinearImpl : public torch::nn::Cloneable<LinearImpl> {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool with_bias = true);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias;  // bias undefined without one

 private:
  int64_t in_features_, out_features_;
  bool with_bias_;
};
TORCH_MODULE(Linear);

// torch.nn.Embedding without padding index or norm limit.
class EmbeddingImpl : public torch::nn::Cloneable<EmbeddingImpl> {
 public:
  EmbeddingImpl(int64_t count, int64_t dim);
  void reset() override;
  at::Tensor forward(const at::Tensor& ids);

  at::Tensor weight;

 private:
  int64_t count_, dim_;
};
TORCH_MODULE(Embedding);

}  // namespace gml::diffusion
