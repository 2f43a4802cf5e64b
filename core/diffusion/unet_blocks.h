// The layers diffusers' AutoencoderKL and UNet2DConditionModel (Stable
// Diffusion 1.x) are built from, as LibTorch modules whose parameter names
// are diffusers' state-dict keys (so that load_state_dict fills them from a
// checkpoint as it is): ResnetBlock2D, Downsample2D, Upsample2D, the
// attention module with to_q/to_k/to_v/to_out.0, the GEGLU feed-forward,
// BasicTransformerBlock and Transformer2DModel (continuous input).
//
// Inference only: dropout is left out, and attention always goes through
// scaled_dot_product_attention (diffusers' default processor, which also
// ignores upcast_attention / upcast_softmax).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "core/diffusion/layers.h"

namespace gml::diffusion {

// norm1 -> SiLU -> conv1 (+ projected time embedding) -> norm2 -> SiLU ->
// conv2, plus the input (through a 1x1 conv_shortcut where the channel
// count changes), divided by output_scale_factor.
class ResnetBlock2DImpl : public torch::nn::Module {
 public:
  // temb_channels 0: no time embedding (the autoencoder's blocks).
  ResnetBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t temb_channels,
                    int64_t groups, double eps, double output_scale_factor = 1.0);
  // `temb` [B, temb_channels], already the UNet's time embedding (the block
  // applies SiLU before its projection); undefined when temb_channels is 0.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb = {});

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  Conv2d conv1_{nullptr}, conv2_{nullptr}, conv_shortcut_{nullptr};
  Linear time_emb_proj_{nullptr};
  double output_scale_factor_;
};
TORCH_MODULE(ResnetBlock2D);

// 3x3 convolution of stride 2. padding 0 is diffusers' asymmetric form (the
// autoencoder's encoder): one zero row and column after the input, then an
// unpadded convolution.
class Downsample2DImpl : public torch::nn::Module {
 public:
  Downsample2DImpl(int64_t channels, int64_t padding);
  at::Tensor forward(const at::Tensor& x);

 private:
  Conv2d conv_{nullptr};
  int64_t padding_;
};
TORCH_MODULE(Downsample2D);

// Nearest-neighbour upsampling, then a 3x3 convolution.
class Upsample2DImpl : public torch::nn::Module {
 public:
  explicit Upsample2DImpl(int64_t channels);
  // `size` {h, w}: the output size where it is not twice the input's (the
  // UNet on latents whose size is no multiple of 2^(levels-1)); empty for 2x.
  at::Tensor forward(const at::Tensor& x, std::vector<int64_t> size = {});

 private:
  Conv2d conv_{nullptr};
};
TORCH_MODULE(Upsample2D);

// Multi-head attention with diffusers' parameter names.
struct AttentionOptions {
  int64_t query_dim = 0;
  int64_t context_dim = 0;  // 0: self-attention
  int64_t heads = 1;
  int64_t dim_head = 0;
  bool qkv_bias = false;
  int64_t norm_groups = 0;  // > 0: a group_norm before the projections (spatial form)
  double norm_eps = 1e-6;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);
  // x [B, N, query_dim], context [B, M, context_dim] or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context = {});
  // The autoencoder's mid-block form: x [B, C, H, W] attends over its
  // pixels after group_norm, and the input is added back.
  at::Tensor forward_spatial(const at::Tensor& x);

 private:
  AttentionOptions options_;
  torch::nn::GroupNorm group_norm_{nullptr};
  Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr}, to_out_{nullptr};
};
TORCH_MODULE(Attention);

// ff.net.0.proj (to twice the inner width; one half gates the other through
// exact GELU), ff.net.2 back to the model width. Inner width 4 x dim.
class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(int64_t dim);
  at::Tensor forward(const at::Tensor& x);

 private:
  Linear proj_{nullptr}, out_{nullptr};
};
TORCH_MODULE(FeedForward);

// Pre-LayerNorm self-attention, cross-attention and feed-forward, each
// added to its input.
class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head, int64_t context_dim);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
  Attention attn1_{nullptr}, attn2_{nullptr};
  FeedForward ff_{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

// GroupNorm, proj_in (1x1 convolution, or a linear layer with
// use_linear_projection), transformer blocks over the pixels, proj_out,
// plus the input.
class Transformer2DModelImpl : public torch::nn::Module {
 public:
  Transformer2DModelImpl(int64_t channels, int64_t heads, int64_t context_dim, int64_t groups,
                         bool use_linear_projection, int64_t layers = 1);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);

 private:
  bool linear_;
  torch::nn::GroupNorm norm_{nullptr};
  Conv2d proj_in_conv_{nullptr}, proj_out_conv_{nullptr};
  Linear proj_in_linear_{nullptr}, proj_out_linear_{nullptr};
  std::vector<BasicTransformerBlock> blocks_;
};
TORCH_MODULE(Transformer2DModel);

// Converts the 4-d parameters of `module` (convolution weights) to
// channels_last or back to contiguous. Values are unchanged.
void set_channels_last(torch::nn::Module& module, bool channels_last);

}  // namespace gml::diffusion
