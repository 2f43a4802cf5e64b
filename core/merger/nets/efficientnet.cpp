#include "core/merger/nets/efficientnet.h"

#include <torch/nn/init.h>
#include <torch/torch.h>

#include <cmath>

#include "core/common/error.h"

namespace gml::merger {
namespace {

// torchvision.models._utils._make_divisible(v, 8): nearest multiple of 8, not
// below 8 and not more than 10% below v.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t rounded =
      static_cast<int64_t>(v + static_cast<double>(divisor) / 2.0) / divisor * divisor;
  rounded = std::max(divisor, rounded);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

struct StageConfig {
  double expand_ratio;
  int64_t kernel, stride, in_channels, out_channels, layers;
};

// Table 1 of the EfficientNet paper, as torchvision's _efficientnet_conf.
constexpr StageConfig kB0Stages[] = {
    {1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},   {6, 3, 2, 40, 80, 3},
    {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1},
};

struct Scaling {
  double width, depth, dropout;
};
constexpr Scaling kScaling[] = {
    {1.0, 1.0, 0.2}, {1.0, 1.1, 0.2}, {1.1, 1.2, 0.3}, {1.2, 1.4, 0.3}, {1.4, 1.8, 0.4},
};

int64_t feature_channels_of(int variant) {
  require(variant >= 0 && variant <= 4,
          "efficientnet: variant must be 0..4, got " + std::to_string(variant));
  return 4 * make_divisible(320 * kScaling[variant].width);
}

// Folded EfficientNet: per block [expand,] depthwise, squeeze-excitation on
// the pooled map (two small matrix products), project with the residual
// addition inside the convolution.
class EfficientNetFused : public FusedPath {
 public:
  struct Block {
    std::optional<FusedConv> expand;
    FusedConv depthwise, project;
    at::Tensor fc1_t, fc1_b, fc2_t, fc2_b;  // (C, S), (S), (S, C), (C)
    bool residual = false;
  };

  at::Tensor features(const at::Tensor& input) const override {
    at::Tensor x = stem(explicit_channels_last(input));
    for (const Block& b : blocks) {
      at::Tensor y = b.expand ? (*b.expand)(x) : x;
      y = b.depthwise(y);
      at::Tensor s = at::addmm(b.fc1_b, y.mean({2, 3}), b.fc1_t);
      at::silu_(s);
      s = at::addmm(b.fc2_b, s, b.fc2_t).sigmoid_();
      y.mul_(s.view({s.size(0), s.size(1), 1, 1}));  // y is this block's own tensor
      x = b.residual ? b.project.add(y, x, Activation::kNone) : b.project(y);
    }
    return head(x);
  }
  bool uses_onednn() const override { return stem.uses_onednn(); }

  FusedConv stem, head;
  std::vector<Block> blocks;
};

}  // namespace

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels) {
  auto make = [](int64_t in, int64_t out) {
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, 1));
    torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    torch::nn::init::zeros_(conv->bias);
    return conv;
  };
  fc1 = register_module("fc1", make(channels, squeeze_channels));
  fc2 = register_module("fc2", make(squeeze_channels, channels));
}

at::Tensor SqueezeExcitationImpl::forward(const at::Tensor& x) {
  at::Tensor s = at::adaptive_avg_pool2d(x, {1, 1});
  s = at::sigmoid(fc2->forward(at::silu(fc1->forward(s))));
  return x * s;
}

MBConvImpl::MBConvImpl(double expand_ratio, int64_t kernel, int64_t stride, int64_t in_channels,
                       int64_t out_channels, double stochastic_depth_prob)
    : residual(stride == 1 && in_channels == out_channels),
      stochastic_depth_prob(stochastic_depth_prob) {
  // ModuleList, not Sequential: LibTorch's Sequential cannot hold one.
  torch::nn::ModuleList block;
  const int64_t expanded = make_divisible(static_cast<double>(in_channels) * expand_ratio);
  if (expanded != in_channels) {
    ConvBn e;
    block->push_back(conv_norm_activation({in_channels, expanded, 1, 1, 1}, Activation::kSiLU, e));
    expand = e;
  }
  block->push_back(conv_norm_activation({expanded, expanded, kernel, stride, expanded},
                                        Activation::kSiLU, depthwise));
  se = SqueezeExcitation(expanded, std::max<int64_t>(1, in_channels / 4));
  block->push_back(se);
  block->push_back(
      conv_norm_activation({expanded, out_channels, 1, 1, 1}, Activation::kNone, project));
  register_module("block", block);
}

at::Tensor MBConvImpl::forward(const at::Tensor& x) {
  at::Tensor y = expand ? expand->forward(x) : x;
  y = se->forward(depthwise.forward(y));
  y = project.forward(y);
  if (!residual) return y;
  if (is_training() && stochastic_depth_prob > 0) {
    // torchvision.ops.stochastic_depth(mode="row").
    const double survival = 1.0 - stochastic_depth_prob;
    at::Tensor noise = at::empty({y.size(0), 1, 1, 1}, y.options()).bernoulli_(survival);
    if (survival > 0) noise.div_(survival);
    y = y * noise;
  }
  return y + x;
}

EfficientNet::EfficientNet(int variant, int64_t in_channels, int64_t num_classes,
                           const BackboneOptions& options)
    : Backbone("efficientnet_b" + std::to_string(variant), in_channels, num_classes,
               feature_channels_of(variant)) {
  const Scaling& scale = kScaling[variant];
  auto width = [&](int64_t c) { return make_divisible(static_cast<double>(c) * scale.width); };
  auto depth = [&](int64_t n) {
    return static_cast<int64_t>(std::ceil(static_cast<double>(n) * scale.depth));
  };

  features_ = torch::nn::ModuleList();
  features_->push_back(conv_norm_activation({in_channels, width(kB0Stages[0].in_channels), 3, 2, 1},
                                            Activation::kSiLU, stem_));
  int64_t total_blocks = 0;
  for (const StageConfig& s : kB0Stages) total_blocks += depth(s.layers);
  int64_t block_id = 0;
  for (const StageConfig& s : kB0Stages) {
    torch::nn::ModuleList stage;
    for (int64_t i = 0; i < depth(s.layers); ++i) {
      const int64_t in = i == 0 ? width(s.in_channels) : width(s.out_channels);
      const double sd = options.stochastic_depth_prob * static_cast<double>(block_id) /
                        static_cast<double>(total_blocks);
      MBConv block(s.expand_ratio, s.kernel, i == 0 ? s.stride : 1, in, width(s.out_channels), sd);
      stage->push_back(block);
      blocks_.push_back(block);
      ++block_id;
    }
    features_->push_back(stage);
  }
  const int64_t last_in = width(kB0Stages[6].out_channels);
  features_->push_back(
      conv_norm_activation({last_in, feature_channels(), 1, 1, 1}, Activation::kSiLU, head_));
  register_module("features", features_);

  if (num_classes > 0) {
    const double dropout = options.dropout < 0 ? scale.dropout : options.dropout;
    torch::nn::Linear fc(feature_channels(), num_classes);
    const double range = 1.0 / std::sqrt(static_cast<double>(num_classes));
    torch::nn::init::uniform_(fc->weight, -range, range);
    torch::nn::init::zeros_(fc->bias);
    classifier_ =
        register_module("classifier", torch::nn::Sequential(torch::nn::Dropout(dropout), fc));
  }
}

at::Tensor EfficientNet::features_modules(const at::Tensor& x) {
  at::Tensor y = stem_.forward(x);
  for (auto& block : blocks_) y = block->forward(y);
  return head_.forward(y);
}

at::Tensor EfficientNet::head_modules(const at::Tensor& pooled) {
  return classifier_->forward(pooled);
}

std::unique_ptr<FusedPath> EfficientNet::build_fused(bool use_onednn) const {
  auto path = std::make_unique<EfficientNetFused>();
  path->stem = FusedConv(stem_, use_onednn);
  path->head = FusedConv(head_, use_onednn);
  for (const MBConv& block : blocks_) {
    EfficientNetFused::Block b;
    if (block->expand) b.expand.emplace(*block->expand, use_onednn);
    b.depthwise = FusedConv(block->depthwise, use_onednn);
    b.project = FusedConv(block->project, use_onednn);
    const auto& fc1 = block->se->fc1;
    const auto& fc2 = block->se->fc2;
    b.fc1_t = fc1->weight.detach().flatten(1).t().contiguous();
    b.fc1_b = fc1->bias.detach().contiguous();
    b.fc2_t = fc2->weight.detach().flatten(1).t().contiguous();
    b.fc2_b = fc2->bias.detach().contiguous();
    b.residual = block->residual;
    path->blocks.push_back(std::move(b));
  }
  return path;
}

}  // namespace gml::merger
