// diffusers' AutoencoderKL (the Stable Diffusion VAE): an image to the
// diagonal Gaussian over latents, and a latent back to an image; loaded
// from a checkpoint's vae/ folder and equal to diffusers' encode and decode.
//
// Latent scaling stays with the caller, as in diffusers' pipelines: the
// UNet sees (z - shift_factor) * scaling_factor, and a denoised latent is
// decoded as decode(latent / scaling_factor + shift_factor).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/diffusion/layers.h"

namespace gml::diffusion {

struct AutoencoderKlConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t latent_channels = 4;
  // One DownEncoderBlock2D and one UpDecoderBlock2D per entry.
  std::vector<int64_t> block_out_channels{64};
  int64_t layers_per_block = 1;
  int64_t norm_num_groups = 32;
  double scaling_factor = 0.18215;
  double shift_factor = 0;  // null in SD 1.x configs, which is 0
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;

  // From a vae/config.json's text; `source` (the file) names it in errors.
  // Error(Format) naming the source and the key for anything that is not
  // implemented or inconsistent. force_upcast (a half-precision GPU
  // setting), sample_size (tiling) and latents_mean/std (used by other
  // pipelines than SD's) are ignored.
  static AutoencoderKlConfig from_json(const std::string& json_text, const std::string& source);

  // A lower bound of the parameters (a 3x3 convolution of each block's
  // width); see UnetConfig::minimum_parameters.
  double minimum_parameters() const;
};

// diffusers' DiagonalGaussianDistribution: logvar is clamped to [-30, 20].
struct LatentDistribution {
  at::Tensor mean;
  at::Tensor logvar;

  at::Tensor std() const;
  // mean + std * noise, for noise of the mean's shape.
  at::Tensor sample(const at::Tensor& noise) const;
  // With standard normal noise drawn from `generator` in the mean's dtype,
  // as diffusers' latent_dist.sample(generator) on the CPU.
  at::Tensor sample(at::Generator generator) const;
};

class VaeEncoderImpl;
class VaeDecoderImpl;

class AutoencoderKlImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKlImpl(const AutoencoderKlConfig& config);

  // x [B, in_channels, H, W] in [-1, 1]; H and W even at every level
  // (multiples of 2^(levels-1)) for a decode of the same size.
  LatentDistribution encode(const at::Tensor& x);
  // z [B, latent_channels, h, w] (unscaled) to [B, out_channels, h * 2^(levels-1), ...].
  at::Tensor decode(const at::Tensor& z);

  double scaling_factor() const { return config_.scaling_factor; }
  double shift_factor() const { return config_.shift_factor; }
  const AutoencoderKlConfig& config() const { return config_; }

  // Runs the convolutions in channels_last layout: converts the weights
  // now and each input in encode and decode.
  void use_channels_last(bool on);

 private:
  AutoencoderKlConfig config_;
  bool channels_last_ = false;
  std::shared_ptr<VaeEncoderImpl> encoder_;
  std::shared_ptr<VaeDecoderImpl> decoder_;
  Conv2d quant_conv_{nullptr}, post_quant_conv_{nullptr};
};
TORCH_MODULE(AutoencoderKl);

// The autoencoder of `dir` (a checkpoint's vae/ folder): config.json and
// diffusion_pytorch_model.safetensors (float32, float16 or bfloat16 stored;
// float32 in memory), in eval mode. Error(NotFound) naming a missing file,
// Error(Format) naming the file and key for an unsupported config or a
// tensor that does not fit it.
AutoencoderKl load_autoencoder_kl(const std::string& dir);

}  // namespace gml::diffusion
