// The unit both backbones are built from, convolution + BatchNorm +
// activation, in its two forms: the training modules (ConvBn) and the folded
// inference convolution (FusedConv).
//
// Why folding: in eval mode BatchNorm is a per-channel affine map, so it
// disappears into the convolution's weight and bias, which saves one pass
// over every activation. Why channels_last and oneDNN post-ops: oneDNN's
// direct NHWC convolutions need no reorder of activations between layers,
// and with the activation (and a residual addition) applied as post-ops in
// the convolution's own output loop, a ResNet block costs two passes over
// memory instead of seven.
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gml::merger {

enum class Activation { kNone, kReLU, kSiLU };

// Geometry of a square-kernel convolution (dilation 1).
struct ConvSpec {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t groups = 1;
  int64_t padding() const { return (kernel - 1) / 2; }
};

// A bias-free Conv2d and a BatchNorm2d, with torchvision's initialisation
// (kaiming normal, fan_out, for the convolution; weight 1, bias 0 for the
// norm). The modules are owned by whatever container registered them.
struct ConvBn {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  ConvSpec spec;
  Activation act = Activation::kNone;

  // act(bn(conv(x))), the training path.
  at::Tensor forward(const at::Tensor& x) const;
};

// Creates a ConvBn whose modules are registered on `owner` under the given
// names (ResNet: conv1, bn1, ...).
ConvBn register_conv_bn(torch::nn::Module& owner, const std::string& conv_name,
                        const std::string& bn_name, const ConvSpec& spec, Activation act);

// Creates torchvision's Conv2dNormActivation: a Sequential holding the conv
// (index 0), the norm (1) and, unless act is kNone, the activation (2).
// `unit` receives handles to the first two.
torch::nn::Sequential conv_norm_activation(const ConvSpec& spec, Activation act, ConvBn& unit);

// x in channels_last memory, with channels_last strides even when C = 1
// (then a view of x when it is contiguous).
at::Tensor explicit_channels_last(const at::Tensor& x);

// x = act(x) for the module path: ReLU in place, SiLU out of place (its
// backward needs the input).
void activate_(at::Tensor& x, Activation act);

// Folded BatchNorm, channels_last weights, optional oneDNN fusion.
class FusedConv {
 public:
  FusedConv() = default;
  // Reads the current weights and running statistics of `unit` (autograd
  // off). use_onednn selects the fused oneDNN kernel; it must only be true
  // for float32 CPU weights when onednn_fusion_available().
  FusedConv(const ConvBn& unit, bool use_onednn);

  // act(bn(conv(x))); x and the result channels_last.
  at::Tensor operator()(const at::Tensor& x) const;
  // after(bn(conv(x)) + residual); residual has the output's shape.
  at::Tensor add(const at::Tensor& x, const at::Tensor& residual, Activation after) const;

  bool uses_onednn() const { return onednn_; }

 private:
  bool onednn_for(const at::Tensor& x) const;

  at::Tensor weight_;  // (out, in / groups, k, k), channels_last
  at::Tensor bias_;    // (out)
  std::vector<int64_t> stride_, padding_, dilation_;
  int64_t groups_ = 1;
  Activation act_ = Activation::kNone;
  bool onednn_ = false;
};

// Whether oneDNN's fused convolution (mkldnn::_convolution_pointwise) is in
// this LibTorch build, enabled, and agrees with at::conv2d on a probe. Checked
// once per process.
bool onednn_fusion_available();

// A backbone's folded inference network.
class FusedPath {
 public:
  virtual ~FusedPath() = default;
  // x: (N, C, H, W) of the model's device and dtype. Returns the last feature
  // map, channels_last.
  virtual at::Tensor features(const at::Tensor& x) const = 0;
  virtual bool uses_onednn() const = 0;
};

}  // namespace gml::merger
