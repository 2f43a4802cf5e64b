// CNN backbones for the merger family (DeepGalaxy, Cai et al. 2020):
// ResNet-18/34/50 and EfficientNet-B0..B4 as torch::nn modules.
//
// Why our own modules rather than TorchScript or Python: the core is
// LibTorch-only, and a pipeline must be able to load torchvision-trained
// weights. So every parameter and buffer carries exactly the name and shape
// of torchvision's state_dict (conv1.weight, layer1.0.downsample.0.weight,
// features.1.0.block.0.0.weight, classifier.1.weight, ...), and the
// initialisation is torchvision's. Multi-band survey images are native: the
// first convolution takes `in_channels` bands, with no grey-to-RGB copy.
//
// Inference: prepare_for_inference() folds every BatchNorm into the
// convolution before it and stores those folded weights in channels_last
// form, next to (not instead of) the training modules; on the CPU the
// activations and residual additions run inside oneDNN's convolution as
// post-ops. forward() takes that path in eval mode with autograd off
// (c10::InferenceMode or NoGradGuard) and otherwise runs the modules.
//
// Thread-safety: a Backbone may be used by one thread at a time (forward may
// rebuild the folded weights, see prepare_for_inference).
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gml::merger {

class FusedPath;

// Training-time hyper-parameters that torchvision exposes as keyword
// arguments. The defaults reproduce torchvision's models.
struct BackboneOptions {
  // Dropout before EfficientNet's classifier; < 0 takes torchvision's value
  // for the model (B0, B1 0.2; B2, B3 0.3; B4 0.4). ResNet has none.
  double dropout = -1.0;
  // EfficientNet's stochastic depth: block b of B drops its residual branch
  // with probability p * b / B while training. 0 disables it.
  double stochastic_depth_prob = 0.2;
};

class Backbone : public torch::nn::Module {
 public:
  ~Backbone() override;

  // x: (N, in_channels, H, W), floating point, on the model's device and of
  // its dtype. Returns the last feature map (N, feature_channels(),
  // ceil(H / 32), ceil(W / 32)), contiguous.
  // Throws Error(InvalidArgument) naming the shape/dtype/device at fault.
  at::Tensor forward_features(const at::Tensor& x);

  // x as for forward_features. Returns logits (N, num_classes()) when
  // num_classes() > 0 (global average pool, flatten, dropout (EfficientNet,
  // training only), linear); otherwise the pooled features
  // (N, feature_channels()).
  at::Tensor forward(const at::Tensor& x);

  // Puts the module in eval mode and builds the inference path: BatchNorm
  // folded into convolution weight and bias, weights channels_last, and (CPU,
  // float32, fuse_activations) ReLU/SiLU and residual additions fused into
  // oneDNN convolutions. The training modules are kept unchanged.
  // forward/forward_features use this path while the module is in eval mode
  // and autograd is off. The folded weights are a snapshot: when a parameter
  // or buffer changes afterwards (optimizer step, load, to(device)), the next
  // such forward rebuilds them. Call again after moving the model.
  void prepare_for_inference(bool fuse_activations = true);
  // Whether an inference path is built (it may still be rebuilt lazily).
  bool prepared_for_inference() const { return fused_ != nullptr; }
  // Whether the built inference path runs oneDNN fused convolutions.
  bool uses_fused_kernels() const;

  int64_t in_channels() const { return in_channels_; }
  int64_t num_classes() const { return num_classes_; }
  int64_t feature_channels() const { return feature_channels_; }
  // Total downsampling of forward_features.
  int64_t stride() const { return 32; }
  // The model's name ("resnet18", "efficientnet_b0", ...) is Module::name().

 protected:
  Backbone(const std::string& name, int64_t in_channels, int64_t num_classes,
           int64_t feature_channels);

  // The training path: modules, NCHW, autograd-friendly.
  virtual at::Tensor features_modules(const at::Tensor& x) = 0;
  // pooled (N, feature_channels) -> logits; only called when num_classes > 0.
  virtual at::Tensor head_modules(const at::Tensor& pooled) = 0;
  // Builds the folded inference path from the current weights; called with
  // autograd off and the module in eval mode. use_onednn: float32 CPU weights
  // and onednn_fusion_available(), so FusedConv may take oneDNN's kernel.
  virtual std::unique_ptr<FusedPath> build_fused(bool use_onednn) const = 0;

 private:
  void check_input(const at::Tensor& x) const;
  bool take_fused_path(const at::Tensor& x);
  std::vector<std::pair<const void*, int64_t>> fingerprint() const;

  int64_t in_channels_;
  int64_t num_classes_;
  int64_t feature_channels_;
  bool fuse_activations_ = true;
  std::unique_ptr<FusedPath> fused_;
  std::vector<std::pair<const void*, int64_t>> fused_fingerprint_;
};

// The names make_backbone accepts: resnet18, resnet34, resnet50,
// efficientnet_b0 .. efficientnet_b4.
const std::vector<std::string>& backbone_names();

// Creates a freshly initialised backbone (torchvision's initialisation).
// name: one of backbone_names(); in_channels >= 1 bands; num_classes >= 0,
// 0 for no classification head.
// Throws Error(InvalidArgument) for an unknown name (the message lists the
// valid ones), in_channels < 1, num_classes < 0, or options out of [0, 1).
std::shared_ptr<Backbone> make_backbone(const std::string& name, int64_t in_channels,
                                        int64_t num_classes, const BackboneOptions& options = {});

}  // namespace gml::merger
