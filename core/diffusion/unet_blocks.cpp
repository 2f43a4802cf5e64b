#include "core/diffusion/unet_blocks.h"

#include <torch/torch.h>

#include <utility>

#include "core/common/error.h"

namespace gml::diffusion {
namespace {

Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0) {
  return Conv2d(in, out, kernel, stride, padding);
}

Linear linear(int64_t in, int64_t out, bool bias = true) {
  return Linear(in, out, bias);
}

torch::nn::GroupNorm group_norm(int64_t groups, int64_t channels, double eps) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(eps));
}

}  // namespace

ResnetBlock2DImpl::ResnetBlock2DImpl(int64_t in_channels, int64_t out_channels,
                                     int64_t temb_channels, int64_t groups, double eps,
                                     double output_scale_factor)
    : output_scale_factor_(output_scale_factor) {
  norm1_ = register_module("norm1", group_norm(groups, in_channels, eps));
  conv1_ = register_module("conv1", conv(in_channels, out_channels, 3, 1, 1));
  if (temb_channels > 0) {
    time_emb_proj_ = register_module("time_emb_proj", linear(temb_channels, out_channels));
  }
  norm2_ = register_module("norm2", group_norm(groups, out_channels, eps));
  conv2_ = register_module("conv2", conv(out_channels, out_channels, 3, 1, 1));
  if (in_channels != out_channels) {
    conv_shortcut_ = register_module("conv_shortcut", conv(in_channels, out_channels, 1));
  }
}

at::Tensor ResnetBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb) {
  at::Tensor h = conv1_->forward(at::silu(norm1_->forward(x)));
  if (time_emb_proj_) {
    h = h + time_emb_proj_->forward(at::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  }
  h = conv2_->forward(at::silu(norm2_->forward(h)));
  const at::Tensor shortcut = conv_shortcut_ ? conv_shortcut_->forward(x) : x;
  at::Tensor out = shortcut + h;
  // diffusers divides even by 1; skipping that changes nothing.
  if (output_scale_factor_ != 1.0) out = out / output_scale_factor_;
  return out;
}

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t padding) : padding_(padding) {
  conv_ = register_module("conv", conv(channels, channels, 3, 2, padding));
}

at::Tensor Downsample2DImpl::forward(const at::Tensor& x) {
  if (padding_ == 0) return conv_->forward(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
  return conv_->forward(x);
}

Upsample2DImpl::Upsample2DImpl(int64_t channels) {
  conv_ = register_module("conv", conv(channels, channels, 3, 1, 1));
}

at::Tensor Upsample2DImpl::forward(const at::Tensor& x, std::vector<int64_t> size) {
  if (size.empty()) size = {2 * x.size(2), 2 * x.size(3)};
  // At exactly twice the size, the source index of nearest interpolation is
  // the same whether derived from the size or from scale factor 2, so this
  // equals diffusers' scale_factor=2 call too.
  return conv_->forward(at::upsample_nearest2d(x, size));
}

AttentionImpl::AttentionImpl(const AttentionOptions& options) : options_(options) {
  const int64_t inner = options.heads * options.dim_head;
  const int64_t context = options.context_dim > 0 ? options.context_dim : options.query_dim;
  if (options.norm_groups > 0) {
    group_norm_ = register_module(
        "group_norm", group_norm(options.norm_groups, options.query_dim, options.norm_eps));
  }
  to_q_ = register_module("to_q", linear(options.query_dim, inner, options.qkv_bias));
  to_k_ = register_module("to_k", linear(context, inner, options.qkv_bias));
  to_v_ = register_module("to_v", linear(context, inner, options.qkv_bias));
  // to_out is [Linear, Dropout] in diffusers; only index 0 holds weights.
  torch::nn::ModuleList to_out;
  to_out_ = linear(inner, options.query_dim);
  to_out->push_back(to_out_);
  register_module("to_out", to_out);
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const at::Tensor& kv = context.defined() ? context : x;
  const int64_t batch = x.size(0);
  auto heads = [&](const at::Tensor& t) {
    return t.view({batch, -1, options_.heads, options_.dim_head}).transpose(1, 2);
  };
  const at::Tensor q = heads(to_q_->forward(x));
  const at::Tensor k = heads(to_k_->forward(kv));
  const at::Tensor v = heads(to_v_->forward(kv));
  const at::Tensor a = at::scaled_dot_product_attention(q, k, v);
  return to_out_->forward(
      a.transpose(1, 2).reshape({batch, -1, options_.heads * options_.dim_head}));
}

at::Tensor AttentionImpl::forward_spatial(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // GroupNorm statistics do not depend on the spatial layout, so normalising
  // before flattening equals diffusers' normalising of [B, C, HW].
  at::Tensor t = group_norm_ ? group_norm_->forward(x) : x;
  t = t.reshape({b, c, h * w}).transpose(1, 2);
  t = forward(t);
  return t.transpose(1, 2).reshape({b, c, h, w}) + x;
}

FeedForwardImpl::FeedForwardImpl(int64_t dim) {
  const int64_t inner = 4 * dim;
  // net = [GEGLU (holding proj), Dropout, Linear]: index 1 is kept as a
  // parameterless placeholder so that the output layer is net.2.
  torch::nn::ModuleList net;
  auto geglu = std::make_shared<torch::nn::Module>();
  proj_ = geglu->register_module("proj", linear(dim, 2 * inner));
  net->push_back(geglu);
  net->push_back(torch::nn::Identity());
  out_ = linear(inner, dim);
  net->push_back(out_);
  register_module("net", net);
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  const std::vector<at::Tensor> halves = proj_->forward(x).chunk(2, -1);
  return out_->forward(halves[0] * at::gelu(halves[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head,
                                                     int64_t context_dim) {
  // Transformer2DModel's norm_eps default; the UNet does not pass its own.
  auto layer_norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5));
  };
  AttentionOptions self;
  self.query_dim = dim;
  self.heads = heads;
  self.dim_head = dim_head;
  AttentionOptions cross = self;
  cross.context_dim = context_dim;
  norm1_ = register_module("norm1", layer_norm());
  attn1_ = register_module("attn1", Attention(self));
  norm2_ = register_module("norm2", layer_norm());
  attn2_ = register_module("attn2", Attention(cross));
  norm3_ = register_module("norm3", layer_norm());
  ff_ = register_module("ff", FeedForward(dim));
}

at::Tensor BasicTransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  at::Tensor h = attn1_->forward(norm1_->forward(x)) + x;
  h = attn2_->forward(norm2_->forward(h), context) + h;
  return ff_->forward(norm3_->forward(h)) + h;
}

Transformer2DModelImpl::Transformer2DModelImpl(int64_t channels, int64_t heads, int64_t context_dim,
                                               int64_t groups, bool use_linear_projection,
                                               int64_t layers)
    : linear_(use_linear_projection) {
  norm_ = register_module("norm", group_norm(groups, channels, 1e-6));
  if (linear_) {
    proj_in_linear_ = register_module("proj_in", linear(channels, channels));
  } else {
    proj_in_conv_ = register_module("proj_in", conv(channels, channels, 1));
  }
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < layers; ++i) {
    blocks_.emplace_back(channels, heads, channels / heads, context_dim);
    list->push_back(blocks_.back());
  }
  register_module("transformer_blocks", list);
  if (linear_) {
    proj_out_linear_ = register_module("proj_out", linear(channels, channels));
  } else {
    proj_out_conv_ = register_module("proj_out", conv(channels, channels, 1));
  }
}

at::Tensor Transformer2DModelImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor t = norm_->forward(x);
  if (!linear_) t = proj_in_conv_->forward(t);
  t = t.permute({0, 2, 3, 1}).reshape({b, h * w, c});
  if (linear_) t = proj_in_linear_->forward(t);
  for (auto& block : blocks_) t = block->forward(t, context);
  if (linear_) t = proj_out_linear_->forward(t);
  t = t.reshape({b, h, w, c}).permute({0, 3, 1, 2});
  if (!linear_) t = proj_out_conv_->forward(t.contiguous(x.suggest_memory_format()));
  return t + x;
}

void set_channels_last(torch::nn::Module& module, bool channels_last) {
  at::NoGradGuard no_grad;
  const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  for (auto& p : module.parameters(true)) {
    if (p.dim() == 4) p.set_data(p.contiguous(format));
  }
}

}  // namespace gml::diffusion
