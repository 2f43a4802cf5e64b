#include "core/merger/nets/resnet.h"

#include <torch/torch.h>

#include "core/common/error.h"

namespace gml::merger {
namespace {

int64_t expansion(bool bottleneck) {
  return bottleneck ? 4 : 1;
}

// Folded ResNet: stem, max pool, then per block
//   BasicBlock   relu(c2(relu(c1(x))) + identity)
//   Bottleneck   relu(c3(relu(c2(relu(c1(x))))) + identity)
// with the last addition and ReLU inside the last convolution.
class ResNetFused : public FusedPath {
 public:
  struct Block {
    std::vector<FusedConv> convs;
    std::optional<FusedConv> downsample;
  };

  at::Tensor features(const at::Tensor& input) const override {
    at::Tensor x = stem(explicit_channels_last(input));
    x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    for (const Block& b : blocks) {
      const at::Tensor identity = b.downsample ? (*b.downsample)(x) : x;
      at::Tensor y = x;
      for (size_t i = 0; i + 1 < b.convs.size(); ++i) y = b.convs[i](y);
      x = b.convs.back().add(y, identity, Activation::kReLU);
    }
    return x;
  }
  bool uses_onednn() const override { return stem.uses_onednn(); }

  FusedConv stem;
  std::vector<Block> blocks;
};

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(bool bottleneck, int64_t in_channels, int64_t planes,
                                     int64_t stride) {
  const int64_t out = planes * expansion(bottleneck);
  if (bottleneck) {
    units.push_back(
        register_conv_bn(*this, "conv1", "bn1", {in_channels, planes, 1, 1, 1}, Activation::kReLU));
    units.push_back(
        register_conv_bn(*this, "conv2", "bn2", {planes, planes, 3, stride, 1}, Activation::kReLU));
    units.push_back(
        register_conv_bn(*this, "conv3", "bn3", {planes, out, 1, 1, 1}, Activation::kNone));
  } else {
    units.push_back(register_conv_bn(*this, "conv1", "bn1", {in_channels, planes, 3, stride, 1},
                                     Activation::kReLU));
    units.push_back(
        register_conv_bn(*this, "conv2", "bn2", {planes, out, 3, 1, 1}, Activation::kNone));
  }
  if (stride != 1 || in_channels != out) {
    ConvBn ds;
    torch::nn::Sequential seq =
        conv_norm_activation({in_channels, out, 1, stride, 1}, Activation::kNone, ds);
    register_module("downsample", seq);
    downsample = ds;
  }
}

at::Tensor ResidualBlockImpl::forward(const at::Tensor& x) {
  at::Tensor out = x;
  for (const ConvBn& u : units) out = u.forward(out);
  out += downsample ? downsample->forward(x) : x;
  return at::relu_(out);
}

ResNet::ResNet(int depth, int64_t in_channels, int64_t num_classes)
    : Backbone("resnet" + std::to_string(depth), in_channels, num_classes,
               depth >= 50 ? 2048 : 512) {
  std::vector<int64_t> counts;
  switch (depth) {
    case 18: counts = {2, 2, 2, 2}; break;
    case 34: counts = {3, 4, 6, 3}; break;
    case 50: counts = {3, 4, 6, 3}; break;
    default:
      fail(Status::InvalidArgument,
           "resnet: depth must be 18, 34 or 50, got " + std::to_string(depth));
  }
  const bool bottleneck = depth >= 50;
  stem_ = register_conv_bn(*this, "conv1", "bn1", {in_channels, 64, 7, 2, 1}, Activation::kReLU);
  int64_t inplanes = 64;
  const int64_t planes[4] = {64, 128, 256, 512};
  for (int l = 0; l < 4; ++l) {
    torch::nn::Sequential layer;
    std::vector<ResidualBlock> typed;
    for (int64_t i = 0; i < counts[static_cast<size_t>(l)]; ++i) {
      const int64_t stride = (l > 0 && i == 0) ? 2 : 1;
      ResidualBlock block(bottleneck, inplanes, planes[l], stride);
      inplanes = planes[l] * expansion(bottleneck);
      layer->push_back(block);
      typed.push_back(block);
    }
    layers_.push_back(register_module("layer" + std::to_string(l + 1), layer));
    blocks_.push_back(std::move(typed));
  }
  if (num_classes > 0) {
    // Linear's own reset is PyTorch's default, which torchvision's ResNet keeps.
    fc_ = register_module("fc", torch::nn::Linear(inplanes, num_classes));
  }
}

at::Tensor ResNet::features_modules(const at::Tensor& x) {
  at::Tensor y = stem_.forward(x);
  y = at::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  for (auto& layer : layers_) y = layer->forward(y);
  return y;
}

at::Tensor ResNet::head_modules(const at::Tensor& pooled) {
  return fc_->forward(pooled);
}

std::unique_ptr<FusedPath> ResNet::build_fused(bool use_onednn) const {
  auto path = std::make_unique<ResNetFused>();
  path->stem = FusedConv(stem_, use_onednn);
  for (const auto& layer : blocks_) {
    for (const ResidualBlock& block : layer) {
      ResNetFused::Block b;
      for (const ConvBn& u : block->units) b.convs.emplace_back(u, use_onednn);
      if (block->downsample) b.downsample.emplace(*block->downsample, use_onednn);
      path->blocks.push_back(std::move(b));
    }
  }
  return path;
}

}  // namespace gml::merger
