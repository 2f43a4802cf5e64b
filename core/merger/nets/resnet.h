// ResNet-18/34/50 (He et al. 2016; torchvision's "v1.5": the stride of a
// bottleneck sits in its 3x3 convolution), with torchvision's module tree so
// that state_dict names match: conv1, bn1, layer{1..4}.{i}.conv{1,2,3},
// .bn{1,2,3}, .downsample.{0,1}, fc.
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/merger/nets/backbone.h"
#include "core/merger/nets/backbone_fused.h"

namespace gml::merger {

// One residual block: BasicBlock (two 3x3) or Bottleneck (1x1, 3x3, 1x1).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(bool bottleneck, int64_t in_channels, int64_t planes, int64_t stride);
  at::Tensor forward(const at::Tensor& x);

  // conv1..conv3 (two for a BasicBlock), each with its BatchNorm.
  std::vector<ConvBn> units;
  std::optional<ConvBn> downsample;
};
TORCH_MODULE(ResidualBlock);

class ResNet : public Backbone {
 public:
  // depth: 18, 34 or 50.
  ResNet(int depth, int64_t in_channels, int64_t num_classes);

 protected:
  at::Tensor features_modules(const at::Tensor& x) override;
  at::Tensor head_modules(const at::Tensor& pooled) override;
  std::unique_ptr<FusedPath> build_fused(bool use_onednn) const override;

 private:
  ConvBn stem_;
  std::vector<torch::nn::Sequential> layers_;
  std::vector<std::vector<ResidualBlock>> blocks_;  // typed views of layers_
  torch::nn::Linear fc_{nullptr};
};

}  // namespace gml::merger
