// EfficientNet-B0..B4 (Tan & Le 2019) with torchvision's module tree, so
// that state_dict names match: features.0 (stem Conv2dNormActivation),
// features.1..7 (stages of MBConv blocks: block.{i} = [expand,] depthwise,
// squeeze-excitation (fc1, fc2), project), features.8 (head conv),
// classifier.1 (Linear after Dropout).
//
// Bn differs from B0 by torchvision's width, depth and dropout coefficients:
//   B1 (1.0, 1.1, 0.2)  B2 (1.1, 1.2, 0.3)  B3 (1.2, 1.4, 0.3)
//   B4 (1.4, 1.8, 0.4)
// channels rounded to multiples of 8 (_make_divisible), stage depths rounded
// up. (The published input resolutions, 224..380, are not part of the
// network: any H, W works.)
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/merger/nets/backbone.h"
#include "core/merger/nets/backbone_fused.h"

namespace gml::merger {

// torchvision's SqueezeExcitation: x * sigmoid(fc2(silu(fc1(mean_hw(x))))),
// fc1 and fc2 1x1 convolutions with bias.
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

// Inverted residual block. The residual branch is dropped per row with
// probability stochastic_depth_prob while training.
class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(double expand_ratio, int64_t kernel, int64_t stride, int64_t in_channels,
             int64_t out_channels, double stochastic_depth_prob);
  at::Tensor forward(const at::Tensor& x);

  std::optional<ConvBn> expand;
  ConvBn depthwise;
  SqueezeExcitation se{nullptr};
  ConvBn project;
  bool residual = false;
  double stochastic_depth_prob = 0;
};
TORCH_MODULE(MBConv);

class EfficientNet : public Backbone {
 public:
  // variant: 0..4 for B0..B4.
  EfficientNet(int variant, int64_t in_channels, int64_t num_classes,
               const BackboneOptions& options);

 protected:
  at::Tensor features_modules(const at::Tensor& x) override;
  at::Tensor head_modules(const at::Tensor& pooled) override;
  std::unique_ptr<FusedPath> build_fused(bool use_onednn) const override;

 private:
  torch::nn::ModuleList features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
  ConvBn stem_, head_;
  std::vector<MBConv> blocks_;
};

}  // namespace gml::merger
