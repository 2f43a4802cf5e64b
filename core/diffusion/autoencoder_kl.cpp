#include "core/diffusion/autoencoder_kl.h"

#include <torch/torch.h>

#include <utility>

#include "core/common/error.h"
#include "core/common/safetensors.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/state_dict.h"
#include "core/diffusion/unet_blocks.h"

namespace gml::diffusion {
namespace {

// diffusers' Encoder and Decoder fix their norms' epsilon.
constexpr double kEps = 1e-6;
constexpr int64_t kMaxChannels = 1 << 16;

Conv2d conv3x3(int64_t in, int64_t out) {
  return Conv2d(in, out, 3, 1, 1);
}

torch::nn::GroupNorm norm(int64_t groups, int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(kEps));
}

// DownEncoderBlock2D (down) or UpDecoderBlock2D: resnets without time
// embedding, then an optional resampler.
class VaeBlockImpl : public torch::nn::Module {
 public:
  VaeBlockImpl(bool down, int64_t in, int64_t out, int64_t layers, int64_t groups, bool resample) {
    torch::nn::ModuleList resnets;
    for (int64_t i = 0; i < layers; ++i) {
      resnets_.emplace_back(i == 0 ? in : out, out, 0, groups, kEps);
      resnets->push_back(resnets_.back());
    }
    register_module("resnets", resnets);
    if (resample) {
      torch::nn::ModuleList list;
      if (down) {
        downsampler_ = Downsample2D(out, 0);
        list->push_back(downsampler_);
      } else {
        upsampler_ = Upsample2D(out);
        list->push_back(upsampler_);
      }
      register_module(down ? "downsamplers" : "upsamplers", list);
    }
  }

  at::Tensor forward(at::Tensor h) {
    for (auto& r : resnets_) h = r->forward(h);
    if (downsampler_) h = downsampler_->forward(h);
    if (upsampler_) h = upsampler_->forward(h);
    return h;
  }

 private:
  std::vector<ResnetBlock2D> resnets_;
  Downsample2D downsampler_{nullptr};
  Upsample2D upsampler_{nullptr};
};
TORCH_MODULE(VaeBlock);

// UNetMidBlock2D without time embedding: resnet, single-head attention over
// the pixels (optional), resnet.
class VaeMidBlockImpl : public torch::nn::Module {
 public:
  VaeMidBlockImpl(int64_t channels, int64_t groups, bool attention) {
    torch::nn::ModuleList resnets;
    for (int i = 0; i < 2; ++i) {
      resnets_.emplace_back(channels, channels, 0, groups, kEps);
      resnets->push_back(resnets_.back());
    }
    if (attention) {
      AttentionOptions o;
      o.query_dim = channels;
      o.heads = 1;
      o.dim_head = channels;
      o.qkv_bias = true;
      o.norm_groups = groups;
      o.norm_eps = kEps;
      torch::nn::ModuleList attentions;
      attention_ = Attention(o);
      attentions->push_back(attention_);
      register_module("attentions", attentions);
    }
    register_module("resnets", resnets);
  }

  at::Tensor forward(at::Tensor h) {
    h = resnets_[0]->forward(h);
    if (attention_) h = attention_->forward_spatial(h);
    return resnets_[1]->forward(h);
  }

 private:
  std::vector<ResnetBlock2D> resnets_;
  Attention attention_{nullptr};
};
TORCH_MODULE(VaeMidBlock);

}  // namespace

class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const AutoencoderKlConfig& c) {
    const std::vector<int64_t>& ch = c.block_out_channels;
    const size_t n = ch.size();
    conv_in_ = register_module("conv_in", conv3x3(c.in_channels, ch[0]));
    torch::nn::ModuleList down_blocks;
    for (size_t i = 0; i < n; ++i) {
      blocks_.emplace_back(true, ch[i == 0 ? 0 : i - 1], ch[i], c.layers_per_block,
                           c.norm_num_groups, i + 1 < n);
      down_blocks->push_back(blocks_.back());
    }
    register_module("down_blocks", down_blocks);
    mid_ = register_module("mid_block",
                           VaeMidBlock(ch[n - 1], c.norm_num_groups, c.mid_block_add_attention));
    conv_norm_out_ = register_module("conv_norm_out", norm(c.norm_num_groups, ch[n - 1]));
    conv_out_ = register_module("conv_out", conv3x3(ch[n - 1], 2 * c.latent_channels));
  }

  at::Tensor forward(const at::Tensor& x) {
    at::Tensor h = conv_in_->forward(x);
    for (auto& b : blocks_) h = b->forward(h);
    h = mid_->forward(h);
    return conv_out_->forward(at::silu(conv_norm_out_->forward(h)));
  }

 private:
  Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  std::vector<VaeBlock> blocks_;
  VaeMidBlock mid_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
};

class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const AutoencoderKlConfig& c) {
    const std::vector<int64_t>& ch = c.block_out_channels;
    const size_t n = ch.size();
    conv_in_ = register_module("conv_in", conv3x3(c.latent_channels, ch[n - 1]));
    mid_ = register_module("mid_block",
                           VaeMidBlock(ch[n - 1], c.norm_num_groups, c.mid_block_add_attention));
    torch::nn::ModuleList up_blocks;
    for (size_t i = 0; i < n; ++i) {
      const size_t r = n - 1 - i;
      blocks_.emplace_back(false, ch[i == 0 ? r : r + 1], ch[r], c.layers_per_block + 1,
                           c.norm_num_groups, i + 1 < n);
      up_blocks->push_back(blocks_.back());
    }
    register_module("up_blocks", up_blocks);
    conv_norm_out_ = register_module("conv_norm_out", norm(c.norm_num_groups, ch[0]));
    conv_out_ = register_module("conv_out", conv3x3(ch[0], c.out_channels));
  }

  at::Tensor forward(const at::Tensor& z) {
    at::Tensor h = mid_->forward(conv_in_->forward(z));
    for (auto& b : blocks_) h = b->forward(h);
    return conv_out_->forward(at::silu(conv_norm_out_->forward(h)));
  }

 private:
  Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  std::vector<VaeBlock> blocks_;
  VaeMidBlock mid_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
};

double AutoencoderKlConfig::minimum_parameters() const {
  double n = 0;
  for (int64_t c : block_out_channels) n += 9.0 * static_cast<double>(c) * static_cast<double>(c);
  return n;
}

AutoencoderKlConfig AutoencoderKlConfig::from_json(const std::string& json_text,
                                                   const std::string& source) {
  const DiffusersConfig c(json_text, source);
  if (c.text("_class_name", "AutoencoderKL") != "AutoencoderKL") {
    c.refuse("_class_name", "not an AutoencoderKL");
  }
  const std::string act = c.text("act_fn", "silu");
  if (act != "silu" && act != "swish") c.refuse("act_fn", "not implemented (only silu)");

  AutoencoderKlConfig cfg;
  cfg.in_channels = c.integer("in_channels", 3);
  cfg.out_channels = c.integer("out_channels", 3);
  cfg.latent_channels = c.integer("latent_channels", 4);
  cfg.block_out_channels = c.integers("block_out_channels", {64});
  cfg.layers_per_block = c.integer("layers_per_block", 1);
  cfg.norm_num_groups = c.integer("norm_num_groups", 32);
  cfg.scaling_factor = c.real("scaling_factor", 0.18215);
  cfg.shift_factor = c.real("shift_factor", 0);
  cfg.use_quant_conv = c.boolean("use_quant_conv", true);
  cfg.use_post_quant_conv = c.boolean("use_post_quant_conv", true);
  cfg.mid_block_add_attention = c.boolean("mid_block_add_attention", true);

  const size_t n = cfg.block_out_channels.size();
  if (n == 0) c.refuse("block_out_channels", "no blocks");
  const std::vector<std::string> down = c.texts("down_block_types", {"DownEncoderBlock2D"});
  const std::vector<std::string> up = c.texts("up_block_types", {"UpDecoderBlock2D"});
  if (down.size() != n) c.refuse("down_block_types", "needs one entry per block_out_channels");
  if (up.size() != n) c.refuse("up_block_types", "needs one entry per block_out_channels");
  for (const std::string& t : down) {
    if (t != "DownEncoderBlock2D") {
      c.refuse("down_block_types",
               "block type '" + t + "' is not implemented (only DownEncoderBlock2D)");
    }
  }
  for (const std::string& t : up) {
    if (t != "UpDecoderBlock2D") {
      c.refuse("up_block_types",
               "block type '" + t + "' is not implemented (only UpDecoderBlock2D)");
    }
  }
  auto in_range = [&](const char* key, int64_t v) {
    if (v < 1 || v > kMaxChannels) c.refuse(key, "out of range");
  };
  in_range("in_channels", cfg.in_channels);
  in_range("out_channels", cfg.out_channels);
  in_range("latent_channels", cfg.latent_channels);
  in_range("layers_per_block", cfg.layers_per_block);
  in_range("norm_num_groups", cfg.norm_num_groups);
  for (int64_t ch : cfg.block_out_channels) {
    in_range("block_out_channels", ch);
    if (ch % cfg.norm_num_groups != 0) {
      c.refuse("block_out_channels", std::to_string(ch) + " channels are not divisible by " +
                                         "norm_num_groups " + std::to_string(cfg.norm_num_groups));
    }
  }
  if (!(cfg.scaling_factor > 0)) c.refuse("scaling_factor", "must be positive");
  return cfg;
}

at::Tensor LatentDistribution::std() const {
  return at::exp(0.5 * logvar);
}

at::Tensor LatentDistribution::sample(const at::Tensor& noise) const {
  require(noise.sizes() == mean.sizes(), "LatentDistribution: noise must have the mean's shape");
  return mean + std() * noise;
}

at::Tensor LatentDistribution::sample(at::Generator generator) const {
  return sample(at::randn(mean.sizes(), generator, mean.options()));
}

AutoencoderKlImpl::AutoencoderKlImpl(const AutoencoderKlConfig& config) : config_(config) {
  encoder_ = register_module("encoder", std::make_shared<VaeEncoderImpl>(config));
  decoder_ = register_module("decoder", std::make_shared<VaeDecoderImpl>(config));
  const int64_t latent = config.latent_channels;
  if (config.use_quant_conv) {
    quant_conv_ = register_module("quant_conv", Conv2d(2 * latent, 2 * latent, 1));
  }
  if (config.use_post_quant_conv) {
    post_quant_conv_ = register_module("post_quant_conv", Conv2d(latent, latent, 1));
  }
}

LatentDistribution AutoencoderKlImpl::encode(const at::Tensor& x) {
  require(x.dim() == 4 && x.size(1) == config_.in_channels,
          "AutoencoderKl: image must be [B, " + std::to_string(config_.in_channels) + ", H, W]");
  at::Tensor h =
      encoder_->forward(channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast) : x);
  if (quant_conv_) h = quant_conv_->forward(h);
  const std::vector<at::Tensor> parts = h.chunk(2, 1);
  return {parts[0], at::clamp(parts[1], -30.0, 20.0)};
}

at::Tensor AutoencoderKlImpl::decode(const at::Tensor& z) {
  require(
      z.dim() == 4 && z.size(1) == config_.latent_channels,
      "AutoencoderKl: latent must be [B, " + std::to_string(config_.latent_channels) + ", h, w]");
  at::Tensor h = channels_last_ ? z.contiguous(at::MemoryFormat::ChannelsLast) : z;
  if (post_quant_conv_) h = post_quant_conv_->forward(h);
  return decoder_->forward(h);
}

void AutoencoderKlImpl::use_channels_last(bool on) {
  set_channels_last(*this, on);
  channels_last_ = on;
}

AutoencoderKl load_autoencoder_kl(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  const std::string weights_path = dir + "/diffusion_pytorch_model.safetensors";
  const AutoencoderKlConfig config =
      AutoencoderKlConfig::from_json(read_text_file(config_path), config_path);
  require_file(weights_path);
  const SafetensorsFile weights = SafetensorsFile::open(weights_path);
  require_config_fits_file(weights, config.minimum_parameters(), config_path);
  AutoencoderKl vae(config);
  load_state_dict(*vae, weights);
  vae->eval();
  return vae;
}

}  // namespace gml::diffusion
