#include "core/merger/nets/backbone_fused.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/torch.h>

#include <optional>

#include "core/common/error.h"

namespace gml::merger {
namespace {

const char* onednn_attr(Activation act) {
  switch (act) {
    case Activation::kReLU: return "relu";
    case Activation::kSiLU: return "swish";
    case Activation::kNone: break;
  }
  return "none";
}

std::optional<c10::OperatorHandle> find_cpu_op(const char* name, const char* overload) {
  auto op = c10::Dispatcher::singleton().findOp({name, overload});
  if (!op || !op->hasKernelForDispatchKey(c10::DispatchKey::CPU)) return std::nullopt;
  return op;
}

// mkldnn::_convolution_pointwise(X, W, B, padding, stride, dilation, groups,
// attr, scalars, algorithm): act(conv(X) + B) in one oneDNN primitive.
const std::optional<c10::OperatorHandle>& unary_op() {
  static const std::optional<c10::OperatorHandle> op =
      find_cpu_op("mkldnn::_convolution_pointwise", "");
  return op;
}

// mkldnn::_convolution_pointwise.binary(X, other, W, B, padding, stride,
// dilation, groups, binary_attr, alpha, unary_attr, unary_scalars,
// unary_algorithm): unary(conv(X) + B + other).
const std::optional<c10::OperatorHandle>& binary_op() {
  static const std::optional<c10::OperatorHandle> op =
      find_cpu_op("mkldnn::_convolution_pointwise", "binary");
  return op;
}

// Both operators take the convolution's arguments in this order (padding
// before stride, unlike at::conv2d), after their input tensors.
void push_convolution(torch::jit::Stack& stack, const at::Tensor& w, const at::Tensor& b,
                      c10::IntArrayRef stride, c10::IntArrayRef padding, c10::IntArrayRef dilation,
                      int64_t groups) {
  stack.emplace_back(w);
  stack.emplace_back(b);
  stack.emplace_back(padding);
  stack.emplace_back(stride);
  stack.emplace_back(dilation);
  stack.emplace_back(groups);
}

// Boxed calls: they go through the kernel's own boxing wrapper, so nothing
// here depends on the exact C++ signature of a private operator.
at::Tensor call_unary(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                      c10::IntArrayRef stride, c10::IntArrayRef padding, c10::IntArrayRef dilation,
                      int64_t groups, Activation act) {
  torch::jit::Stack stack;
  stack.reserve(10);
  stack.emplace_back(x);
  push_convolution(stack, w, b, stride, padding, dilation, groups);
  stack.emplace_back(std::string(onednn_attr(act)));
  stack.emplace_back(c10::List<std::optional<at::Scalar>>());
  stack.emplace_back(c10::IValue());
  unary_op()->callBoxed(stack);
  return stack.front().toTensor();
}

at::Tensor call_binary(const at::Tensor& x, const at::Tensor& other, const at::Tensor& w,
                       const at::Tensor& b, c10::IntArrayRef stride, c10::IntArrayRef padding,
                       c10::IntArrayRef dilation, int64_t groups, Activation after) {
  torch::jit::Stack stack;
  stack.reserve(13);
  stack.emplace_back(x);
  stack.emplace_back(other);
  push_convolution(stack, w, b, stride, padding, dilation, groups);
  stack.emplace_back(std::string("add"));
  stack.emplace_back(at::Scalar(1.0));
  if (after == Activation::kNone) {
    stack.emplace_back(c10::IValue());
  } else {
    stack.emplace_back(std::string(onednn_attr(after)));
  }
  stack.emplace_back(c10::List<std::optional<at::Scalar>>());
  stack.emplace_back(c10::IValue());
  binary_op()->callBoxed(stack);
  return stack.front().toTensor();
}

// Runs both fused operators once on a small problem and compares them with
// at::conv2d, so a LibTorch whose private operator behaves differently falls
// back to the plain path instead of giving wrong answers.
bool probe_onednn() {
  if (!unary_op() || !binary_op()) return false;
  try {
    c10::InferenceMode guard;
    const auto cl = at::MemoryFormat::ChannelsLast;
    const at::Tensor x =
        at::sin(at::arange(2 * 8 * 5 * 5, at::kFloat) * 0.37f).reshape({2, 8, 5, 5}).contiguous(cl);
    const at::Tensor w =
        at::cos(at::arange(8 * 8 * 3 * 3, at::kFloat) * 0.11f).reshape({8, 8, 3, 3}).contiguous(cl);
    const at::Tensor b = at::linspace(-0.5, 0.5, 8, at::kFloat);
    const at::Tensor other =
        at::sin(at::arange(2 * 8 * 5 * 5, at::kFloat) * 0.05f).reshape({2, 8, 5, 5}).contiguous(cl);
    const std::vector<int64_t> one{1, 1};
    const at::Tensor ref = at::conv2d(x, w, b, one, one, one, 1);
    const at::Tensor y1 = call_unary(x, w, b, one, one, one, 1, Activation::kSiLU);
    const at::Tensor y2 = call_binary(x, other, w, b, one, one, one, 1, Activation::kReLU);
    const at::Tensor y3 = call_binary(x, other, w, b, one, one, one, 1, Activation::kNone);
    const double tol = 1e-4 * (1.0 + ref.abs().max().item<double>());
    return y1.sizes() == ref.sizes() && y2.sizes() == ref.sizes() &&
           (y1 - at::silu(ref)).abs().max().item<double>() < tol &&
           (y2 - at::relu(ref + other)).abs().max().item<double>() < tol &&
           (y3 - (ref + other)).abs().max().item<double>() < tol;
  } catch (const std::exception&) {
    return false;
  }
}

torch::nn::Conv2d make_conv(const ConvSpec& spec) {
  require(spec.in_channels >= 1 && spec.out_channels >= 1 && spec.groups >= 1 &&
              spec.in_channels % spec.groups == 0 && spec.out_channels % spec.groups == 0,
          "conv: bad geometry in=" + std::to_string(spec.in_channels) + " out=" +
              std::to_string(spec.out_channels) + " groups=" + std::to_string(spec.groups));
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(spec.in_channels, spec.out_channels, spec.kernel)
                             .stride(spec.stride)
                             .padding(spec.padding())
                             .groups(spec.groups)
                             .bias(false));
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  return conv;
}

torch::nn::BatchNorm2d make_bn(int64_t channels) {
  // BatchNorm2d's own reset gives weight 1, bias 0, as torchvision sets.
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels));
}

}  // namespace

at::Tensor explicit_channels_last(const at::Tensor& x) {
  // With one channel, NCHW-contiguous memory is already NHWC, but its strides
  // do not say so, and oneDNN then picks a slow NCHW kernel and NCHW output.
  if (x.dim() == 4 && x.size(1) == 1 && x.is_contiguous()) {
    return x.as_strided(x.sizes(), {x.size(2) * x.size(3), 1, x.size(3), 1});
  }
  return x.contiguous(at::MemoryFormat::ChannelsLast);
}

void activate_(at::Tensor& x, Activation act) {
  switch (act) {
    case Activation::kReLU: x = at::relu_(x); break;
    case Activation::kSiLU: x = at::silu(x); break;
    case Activation::kNone: break;
  }
}

at::Tensor ConvBn::forward(const at::Tensor& x) const {
  // ptr(): the handles are const here, the modules are not.
  at::Tensor y = bn.ptr()->forward(conv.ptr()->forward(x));
  activate_(y, act);
  return y;
}

ConvBn register_conv_bn(torch::nn::Module& owner, const std::string& conv_name,
                        const std::string& bn_name, const ConvSpec& spec, Activation act) {
  ConvBn unit;
  unit.spec = spec;
  unit.act = act;
  unit.conv = owner.register_module(conv_name, make_conv(spec));
  unit.bn = owner.register_module(bn_name, make_bn(spec.out_channels));
  return unit;
}

torch::nn::Sequential conv_norm_activation(const ConvSpec& spec, Activation act, ConvBn& unit) {
  unit.spec = spec;
  unit.act = act;
  unit.conv = make_conv(spec);
  unit.bn = make_bn(spec.out_channels);
  torch::nn::Sequential seq(unit.conv, unit.bn);
  if (act == Activation::kSiLU) seq->push_back(torch::nn::SiLU());
  if (act == Activation::kReLU) seq->push_back(torch::nn::ReLU());
  return seq;
}

bool onednn_fusion_available() {
  static const bool probed = probe_onednn();
  return probed && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn();
}

FusedConv::FusedConv(const ConvBn& unit, bool use_onednn)
    : stride_{unit.spec.stride, unit.spec.stride},
      padding_{unit.spec.padding(), unit.spec.padding()},
      dilation_{1, 1},
      groups_(unit.spec.groups),
      act_(unit.act),
      onednn_(use_onednn) {
  torch::NoGradGuard no_grad;
  const torch::nn::BatchNorm2dImpl& bn = *unit.bn;
  const at::Tensor& w = unit.conv->weight;
  require(bn.options.affine() && bn.options.track_running_stats(),
          "fused conv: BatchNorm without affine parameters or running statistics");
  // Fold in float64: w' = w * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps).
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor scale = bn.weight.to(f64) / at::sqrt(bn.running_var.to(f64) + bn.options.eps());
  at::Tensor shift = bn.bias.to(f64) - bn.running_mean.to(f64) * scale;
  if (unit.conv->bias.defined()) shift = shift + unit.conv->bias.to(f64) * scale;
  weight_ = explicit_channels_last(
      (w.to(f64) * scale.view({-1, 1, 1, 1})).to(w.scalar_type()).contiguous());
  bias_ = shift.to(w.scalar_type()).contiguous();
  require(!onednn_ || (w.device().is_cpu() && w.scalar_type() == at::kFloat),
          "fused conv: oneDNN fusion needs float32 CPU weights");
}

bool FusedConv::onednn_for(const at::Tensor& x) const {
  // With a 1x1 map NCHW and NHWC strides coincide, and oneDNN's fused
  // kernels then fail to build their memory descriptors ("could not create a
  // memory"); such layers are tiny, so at::conv2d takes them.
  if (!onednn_) return false;
  const int64_t k = weight_.size(2);
  const int64_t h = (x.size(2) + 2 * padding_[0] - k) / stride_[0] + 1;
  const int64_t w = (x.size(3) + 2 * padding_[1] - k) / stride_[1] + 1;
  return x.size(2) * x.size(3) > 1 && h * w > 1;
}

at::Tensor FusedConv::operator()(const at::Tensor& x) const {
  if (onednn_for(x)) {
    return call_unary(explicit_channels_last(x), weight_, bias_, stride_, padding_, dilation_,
                      groups_, act_);
  }
  at::Tensor y = at::conv2d(x, weight_, bias_, stride_, padding_, dilation_, groups_);
  switch (act_) {
    case Activation::kReLU: y.relu_(); break;
    case Activation::kSiLU: at::silu_(y); break;
    case Activation::kNone: break;
  }
  return y;
}

at::Tensor FusedConv::add(const at::Tensor& x, const at::Tensor& residual, Activation after) const {
  if (onednn_for(x)) {
    return call_binary(explicit_channels_last(x), explicit_channels_last(residual), weight_, bias_,
                       stride_, padding_, dilation_, groups_, after);
  }
  at::Tensor y = at::conv2d(x, weight_, bias_, stride_, padding_, dilation_, groups_);
  y.add_(residual);
  if (after == Activation::kReLU) y.relu_();
  if (after == Activation::kSiLU) at::silu_(y);
  return y;
}

}  // namespace gml::merger
