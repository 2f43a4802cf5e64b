#include "core/merger/nets/backbone.h"

#include <c10/core/GradMode.h>
#include <torch/torch.h>

#include <sstream>

#include "core/common/error.h"
#include "core/merger/nets/backbone_fused.h"
#include "core/merger/nets/efficientnet.h"
#include "core/merger/nets/resnet.h"

namespace gml::merger {
namespace {

std::string shape_text(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

}  // namespace

Backbone::Backbone(const std::string& name, int64_t in_channels, int64_t num_classes,
                   int64_t feature_channels)
    : torch::nn::Module(name),
      in_channels_(in_channels),
      num_classes_(num_classes),
      feature_channels_(feature_channels) {
  require(in_channels >= 1,
          name + ": in_channels must be >= 1, got " + std::to_string(in_channels));
  require(num_classes >= 0,
          name + ": num_classes must be >= 0 (0 = no head), got " + std::to_string(num_classes));
}

Backbone::~Backbone() = default;

void Backbone::check_input(const at::Tensor& x) const {
  const std::string& n = name();
  require(x.defined(), n + ": input tensor is undefined");
  require(x.dim() == 4, n + ": expected a 4-D image batch (N, C, H, W), got a " +
                            std::to_string(x.dim()) + "-D tensor of shape " + shape_text(x));
  require(x.size(1) == in_channels_, n + ": expected " + std::to_string(in_channels_) +
                                         " input channel(s), got " + std::to_string(x.size(1)) +
                                         " (input shape " + shape_text(x) + ")");
  require(x.size(2) >= 1 && x.size(3) >= 1,
          n + ": image height and width must be >= 1, got shape " + shape_text(x));
  const at::Tensor w = parameters().front();  // a copy: parameters() is a temporary
  require(x.scalar_type() == w.scalar_type(),
          n + ": input dtype " + std::string(c10::toString(x.scalar_type())) +
              " does not match the model's " + std::string(c10::toString(w.scalar_type())));
  require(x.device() == w.device(),
          n + ": input is on " + x.device().str() + " but the model is on " + w.device().str());
}

std::vector<std::pair<const void*, int64_t>> Backbone::fingerprint() const {
  // Storage and version counter of every tensor. Inference tensors (a model
  // built under InferenceMode) have no version counter: only their storage
  // is watched.
  std::vector<std::pair<const void*, int64_t>> fp;
  auto add = [&fp](const at::Tensor& t) {
    fp.emplace_back(t.data_ptr(), t.is_inference() ? -1 : static_cast<int64_t>(t._version()));
  };
  for (const auto& t : parameters()) add(t);
  for (const auto& t : buffers()) add(t);
  return fp;
}

void Backbone::prepare_for_inference(bool fuse_activations) {
  eval();
  fuse_activations_ = fuse_activations;
  torch::NoGradGuard no_grad;
  const at::Tensor w = parameters().front();  // a copy: parameters() is a temporary
  const bool onednn = fuse_activations && w.device().is_cpu() && w.scalar_type() == at::kFloat &&
                      onednn_fusion_available();
  fused_ = build_fused(onednn);
  fused_fingerprint_ = fingerprint();
}

bool Backbone::uses_fused_kernels() const {
  return fused_ && fused_->uses_onednn();
}

bool Backbone::take_fused_path(const at::Tensor& x) {
  if (!fused_ || is_training() || c10::GradMode::is_enabled() || x.size(0) == 0) return false;
  if (fingerprint() != fused_fingerprint_) prepare_for_inference(fuse_activations_);
  return true;
}

at::Tensor Backbone::forward_features(const at::Tensor& x) {
  check_input(x);
  if (take_fused_path(x)) return fused_->features(x).contiguous();
  return features_modules(x);
}

at::Tensor Backbone::forward(const at::Tensor& x) {
  check_input(x);
  const at::Tensor features = take_fused_path(x) ? fused_->features(x) : features_modules(x);
  // AdaptiveAvgPool2d(1) + flatten.
  const at::Tensor pooled = features.mean({2, 3});
  if (num_classes_ == 0) return pooled;
  return head_modules(pooled);
}

const std::vector<std::string>& backbone_names() {
  static const std::vector<std::string> names = {
      "resnet18",        "resnet34",        "resnet50",        "efficientnet_b0",
      "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4"};
  return names;
}

std::shared_ptr<Backbone> make_backbone(const std::string& name, int64_t in_channels,
                                        int64_t num_classes, const BackboneOptions& options) {
  require(in_channels >= 1,
          "make_backbone: in_channels must be >= 1, got " + std::to_string(in_channels));
  require(num_classes >= 0, "make_backbone: num_classes must be >= 0 (0 = no head), got " +
                                std::to_string(num_classes));
  require(options.dropout < 1.0, "make_backbone: dropout must be < 1 (negative = default), got " +
                                     std::to_string(options.dropout));
  require(options.stochastic_depth_prob >= 0.0 && options.stochastic_depth_prob < 1.0,
          "make_backbone: stochastic_depth_prob must be in [0, 1), got " +
              std::to_string(options.stochastic_depth_prob));
  if (name == "resnet18") return std::make_shared<ResNet>(18, in_channels, num_classes);
  if (name == "resnet34") return std::make_shared<ResNet>(34, in_channels, num_classes);
  if (name == "resnet50") return std::make_shared<ResNet>(50, in_channels, num_classes);
  const std::string prefix = "efficientnet_b";
  if (name.size() == prefix.size() + 1 && name.compare(0, prefix.size(), prefix) == 0 &&
      name.back() >= '0' && name.back() <= '4') {
    return std::make_shared<EfficientNet>(name.back() - '0', in_channels, num_classes, options);
  }
  std::string valid;
  for (const auto& n : backbone_names()) valid += (valid.empty() ? "" : ", ") + n;
  fail(Status::InvalidArgument,
       "make_backbone: unknown backbone '" + name + "'; valid names: " + valid);
}

}  // namespace gml::merger
