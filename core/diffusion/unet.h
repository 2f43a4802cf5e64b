// diffusers' UNet2DConditionModel with the Stable Diffusion 1.x block set
// (CrossAttnDownBlock2D / DownBlock2D, UNetMidBlock2DCrossAttn,
// CrossAttnUpBlock2D / UpBlock2D), loaded from a checkpoint's unet/ folder
// and equal to diffusers' forward.
//
// Settings of other UNets (SDXL's added embeddings, class embeddings,
// several transformer layers per block, ...) are refused when the config is
// read rather than run wrongly.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/diffusion/layers.h"

namespace gml::diffusion {

enum class UnetBlockKind { Plain, CrossAttention };

struct UnetConfig {
  int64_t in_channels = 4;
  // The latent size trained on (64 for SD-1.5): only the default image size.
  int64_t sample_size = 64;
  int64_t out_channels = 4;
  bool center_input_sample = false;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  // Down blocks from the full resolution; up blocks from the lowest one.
  std::vector<UnetBlockKind> down_blocks;
  std::vector<UnetBlockKind> up_blocks;
  std::vector<int64_t> block_out_channels;
  std::vector<int64_t> layers_per_block;  // one per down block
  // Heads per down block: diffusers' attention_head_dim, which in SD 1.x
  // configs is the number of heads, not their width. The up blocks take
  // them in reverse order, the mid-block the last.
  std::vector<int64_t> attention_heads;
  int64_t cross_attention_dim = 1280;
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1;
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool use_linear_projection = false;
  // Without effect, as in diffusers' default attention processor
  // (scaled_dot_product_attention), which ignores it too.
  bool upcast_attention = false;

  // From a unet/config.json's text; `source` (the file) names it in errors.
  // Error(Format) naming the source and the key for anything that is not
  // implemented or inconsistent.
  static UnetConfig from_json(const std::string& json_text, const std::string& source);

  // A lower bound of the parameters a UNet of this config holds (a 3x3
  // convolution of each block's width), to refuse a config that asks for
  // more than its checkpoint stores before anything is allocated.
  double minimum_parameters() const;
};

class UnetDownBlockImpl;
class UnetUpBlockImpl;
class UnetMidBlockImpl;

class UnetImpl : public torch::nn::Module {
 public:
  explicit UnetImpl(const UnetConfig& config);

  // sample [B, in_channels, h, w]; timestep a scalar or [B] tensor (integer
  // or floating point); encoder_hidden_states [B, tokens, cross_attention_dim].
  // Returns the noise (or v) prediction [B, out_channels, h, w] in the
  // sample's dtype. Any h, w (odd ones too): the up blocks then take their
  // sizes from the skip connections, as diffusers does.
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep,
                     const at::Tensor& encoder_hidden_states);

  // Runs the convolutions in channels_last layout (faster on some
  // hardware): converts the weights now and each input in forward.
  void use_channels_last(bool on);

  const UnetConfig& config() const { return config_; }

 private:
  UnetConfig config_;
  bool channels_last_ = false;
  Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  Linear time_linear_1_{nullptr}, time_linear_2_{nullptr};
  std::vector<std::shared_ptr<UnetDownBlockImpl>> down_;
  std::shared_ptr<UnetMidBlockImpl> mid_;
  std::vector<std::shared_ptr<UnetUpBlockImpl>> up_;
  torch::nn::GroupNorm conv_norm_out_{nullptr};
};
TORCH_MODULE(Unet);

// diffusers' get_timestep_embedding: [N] timesteps to [N, dim] sinusoids
// (float32), cos first with flip_sin_to_cos, frequencies
// exp(-ln(10000) i / (dim/2 - freq_shift)).
at::Tensor timestep_embedding(const at::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                              double freq_shift);

// The UNet of `dir` (a checkpoint's unet/ folder): config.json and
// diffusion_pytorch_model.safetensors (float32, float16 or bfloat16 stored;
// float32 in memory), in eval mode. Error(NotFound) naming a missing file,
// Error(Format) naming the file and key for an unsupported config or a
// tensor that does not fit it.
Unet load_unet(const std::string& dir);

}  // namespace gml::diffusion
