#include "core/diffusion/unet.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "core/common/error.h"
#include "core/common/safetensors.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/state_dict.h"
#include "core/diffusion/unet_blocks.h"

namespace gml::diffusion {

// What every block shares: the time-embedding width, the cross-attention
// context width, the norms and the transformer projection kind.
struct UnetBlockShape {
  int64_t temb_channels;
  int64_t context_dim;
  int64_t groups;
  double eps;
  bool linear_projection;
};

// CrossAttnDownBlock2D (resnet then transformer, per layer) or DownBlock2D,
// then an optional stride-2 downsampler. Every layer's output and the
// downsampled one are skip connections for the up blocks.
class UnetDownBlockImpl : public torch::nn::Module {
 public:
  UnetDownBlockImpl(UnetBlockKind kind, int64_t in, int64_t out, int64_t layers, int64_t heads,
                    const UnetBlockShape& s, bool add_downsample, int64_t downsample_padding) {
    torch::nn::ModuleList resnets, attentions;
    for (int64_t i = 0; i < layers; ++i) {
      resnets_.emplace_back(i == 0 ? in : out, out, s.temb_channels, s.groups, s.eps);
      resnets->push_back(resnets_.back());
      if (kind == UnetBlockKind::CrossAttention) {
        attentions_.emplace_back(out, heads, s.context_dim, s.groups, s.linear_projection);
        attentions->push_back(attentions_.back());
      }
    }
    register_module("resnets", resnets);
    if (!attentions_.empty()) register_module("attentions", attentions);
    if (add_downsample) {
      torch::nn::ModuleList downsamplers;
      downsampler_ = Downsample2D(out, downsample_padding);
      downsamplers->push_back(downsampler_);
      register_module("downsamplers", downsamplers);
    }
  }

  at::Tensor forward(at::Tensor h, const at::Tensor& temb, const at::Tensor& context,
                     std::vector<at::Tensor>& skips) {
    for (size_t i = 0; i < resnets_.size(); ++i) {
      h = resnets_[i]->forward(h, temb);
      if (!attentions_.empty()) h = attentions_[i]->forward(h, context);
      skips.push_back(h);
    }
    if (downsampler_) {
      h = downsampler_->forward(h);
      skips.push_back(h);
    }
    return h;
  }

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
  Downsample2D downsampler_{nullptr};
};

// CrossAttnUpBlock2D or UpBlock2D: each layer concatenates the last skip
// connection left, then an optional upsampler.
class UnetUpBlockImpl : public torch::nn::Module {
 public:
  UnetUpBlockImpl(UnetBlockKind kind, int64_t in, int64_t prev_out, int64_t out, int64_t layers,
                  int64_t heads, const UnetBlockShape& s, bool add_upsample) {
    torch::nn::ModuleList resnets, attentions;
    for (int64_t i = 0; i < layers; ++i) {
      const int64_t skip_channels = i == layers - 1 ? in : out;
      const int64_t resnet_in = i == 0 ? prev_out : out;
      resnets_.emplace_back(resnet_in + skip_channels, out, s.temb_channels, s.groups, s.eps);
      resnets->push_back(resnets_.back());
      if (kind == UnetBlockKind::CrossAttention) {
        attentions_.emplace_back(out, heads, s.context_dim, s.groups, s.linear_projection);
        attentions->push_back(attentions_.back());
      }
    }
    register_module("resnets", resnets);
    if (!attentions_.empty()) register_module("attentions", attentions);
    if (add_upsample) {
      torch::nn::ModuleList upsamplers;
      upsampler_ = Upsample2D(out);
      upsamplers->push_back(upsampler_);
      register_module("upsamplers", upsamplers);
    }
  }

  size_t layers() const { return resnets_.size(); }

  at::Tensor forward(at::Tensor h, std::vector<at::Tensor>& skips, const at::Tensor& temb,
                     const at::Tensor& context, const std::vector<int64_t>& upsample_size) {
    for (size_t i = 0; i < resnets_.size(); ++i) {
      h = at::cat({h, skips.back()}, 1);
      skips.pop_back();
      h = resnets_[i]->forward(h, temb);
      if (!attentions_.empty()) h = attentions_[i]->forward(h, context);
    }
    if (upsampler_) h = upsampler_->forward(h, upsample_size);
    return h;
  }

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
  Upsample2D upsampler_{nullptr};
};

// UNetMidBlock2DCrossAttn: resnet, transformer, resnet.
class UnetMidBlockImpl : public torch::nn::Module {
 public:
  UnetMidBlockImpl(int64_t channels, int64_t heads, const UnetBlockShape& s, double scale) {
    torch::nn::ModuleList resnets, attentions;
    for (int i = 0; i < 2; ++i) {
      resnets_.emplace_back(channels, channels, s.temb_channels, s.groups, s.eps, scale);
      resnets->push_back(resnets_.back());
    }
    attention_ = Transformer2DModel(channels, heads, s.context_dim, s.groups, s.linear_projection);
    attentions->push_back(attention_);
    register_module("attentions", attentions);
    register_module("resnets", resnets);
  }

  at::Tensor forward(at::Tensor h, const at::Tensor& temb, const at::Tensor& context) {
    h = resnets_[0]->forward(h, temb);
    h = attention_->forward(h, context);
    return resnets_[1]->forward(h, temb);
  }

 private:
  std::vector<ResnetBlock2D> resnets_;
  Transformer2DModel attention_{nullptr};
};

namespace {

constexpr int64_t kMaxChannels = 1 << 16;

UnetBlockKind block_kind(const DiffusersConfig& c, const std::string& key, const std::string& type,
                         bool down) {
  if (type == (down ? "CrossAttnDownBlock2D" : "CrossAttnUpBlock2D")) {
    return UnetBlockKind::CrossAttention;
  }
  if (type == (down ? "DownBlock2D" : "UpBlock2D")) return UnetBlockKind::Plain;
  const std::string known =
      down ? "CrossAttnDownBlock2D and DownBlock2D" : "CrossAttnUpBlock2D and UpBlock2D";
  c.refuse(key, "block type '" + type + "' is not implemented (only " + known + ")");
}

}  // namespace

double UnetConfig::minimum_parameters() const {
  double n = 0;
  for (int64_t c : block_out_channels) n += 9.0 * static_cast<double>(c) * static_cast<double>(c);
  return n;
}

UnetConfig UnetConfig::from_json(const std::string& json_text, const std::string& source) {
  const DiffusersConfig c(json_text, source);
  const std::string class_name = c.text("_class_name", "UNet2DConditionModel");
  if (class_name != "UNet2DConditionModel") {
    c.refuse("_class_name", "not a UNet2DConditionModel");
  }
  // Settings of other UNets (SDXL, Kandinsky, unCLIP, LCM, ...): each would
  // change the network, so running without them would be wrong.
  const char* const absent[] = {"num_attention_heads",
                                "reverse_transformer_layers_per_block",
                                "encoder_hid_dim",
                                "encoder_hid_dim_type",
                                "class_embed_type",
                                "addition_embed_type",
                                "addition_time_embed_dim",
                                "num_class_embeds",
                                "projection_class_embeddings_input_dim",
                                "time_embedding_dim",
                                "time_embedding_act_fn",
                                "timestep_post_act",
                                "time_cond_proj_dim",
                                "cross_attention_norm"};
  for (const char* key : absent) c.require_default(key, "null");
  c.require_default("dual_cross_attention", "false");
  c.require_default("only_cross_attention", "false");
  c.require_default("mid_block_only_cross_attention", "false");
  c.require_default("class_embeddings_concat", "false");
  c.require_default("resnet_time_scale_shift", "\"default\"");
  c.require_default("resnet_skip_time_act", "false");
  c.require_default("resnet_out_scale_factor", "1.0");
  c.require_default("time_embedding_type", "\"positional\"");
  c.require_default("conv_in_kernel", "3");
  c.require_default("conv_out_kernel", "3");
  c.require_default("attention_type", "\"default\"");
  // null: no mid-block at all.
  if (c.is_null("mid_block_type")) c.refuse("mid_block_type", "null is not implemented");
  c.require_default("mid_block_type", "\"UNetMidBlock2DCrossAttn\"",
                    "not implemented (only UNetMidBlock2DCrossAttn)");
  const std::string act = c.text("act_fn", "silu");
  if (act != "silu" && act != "swish") c.refuse("act_fn", "not implemented (only silu)");

  UnetConfig cfg;
  cfg.in_channels = c.integer("in_channels", 4);
  cfg.sample_size = c.integer("sample_size", 64);
  if (cfg.sample_size < 1) c.refuse("sample_size", "must be a positive integer");
  cfg.out_channels = c.integer("out_channels", 4);
  cfg.center_input_sample = c.boolean("center_input_sample", false);
  cfg.flip_sin_to_cos = c.boolean("flip_sin_to_cos", true);
  cfg.freq_shift = c.real("freq_shift", 0);
  cfg.block_out_channels = c.integers("block_out_channels", {320, 640, 1280, 1280});
  const std::vector<std::string> down = c.texts(
      "down_block_types",
      {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"});
  const std::vector<std::string> up =
      c.texts("up_block_types",
              {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"});
  const size_t n = cfg.block_out_channels.size();
  if (n == 0) c.refuse("block_out_channels", "no blocks");
  if (down.size() != n) c.refuse("down_block_types", "needs one entry per block_out_channels");
  if (up.size() != n) c.refuse("up_block_types", "needs one entry per block_out_channels");
  for (const std::string& t : down)
    cfg.down_blocks.push_back(block_kind(c, "down_block_types", t, true));
  for (const std::string& t : up)
    cfg.up_blocks.push_back(block_kind(c, "up_block_types", t, false));
  cfg.layers_per_block = c.per_block("layers_per_block", 2, n);
  cfg.attention_heads = c.per_block("attention_head_dim", 8, n);
  for (int64_t layers : c.per_block("transformer_layers_per_block", 1, n)) {
    if (layers != 1) c.refuse("transformer_layers_per_block", "not implemented (only 1)");
  }
  const std::vector<int64_t> cross = c.per_block("cross_attention_dim", 1280, n);
  // One context is given to every block, so per-block widths must agree.
  if (std::adjacent_find(cross.begin(), cross.end(), std::not_equal_to<>()) != cross.end()) {
    c.refuse("cross_attention_dim", "differs between blocks");
  }
  cfg.cross_attention_dim = cross[0];
  cfg.downsample_padding = c.integer("downsample_padding", 1);
  cfg.mid_block_scale_factor = c.real("mid_block_scale_factor", 1);
  // null would mean no output norm and ungrouped resnets: not SD 1.x.
  if (c.is_null("norm_num_groups")) c.refuse("norm_num_groups", "null is not implemented");
  cfg.norm_num_groups = c.integer("norm_num_groups", 32);
  cfg.norm_eps = c.real("norm_eps", 1e-5);
  cfg.use_linear_projection = c.boolean("use_linear_projection", false);
  cfg.upcast_attention = c.boolean("upcast_attention", false);

  auto positive = [&](const char* key, int64_t v) {
    if (v < 1 || v > kMaxChannels) c.refuse(key, "out of range");
  };
  positive("in_channels", cfg.in_channels);
  positive("out_channels", cfg.out_channels);
  positive("cross_attention_dim", cfg.cross_attention_dim);
  positive("norm_num_groups", cfg.norm_num_groups);
  if (cfg.downsample_padding < 0 || cfg.downsample_padding > 1) {
    c.refuse("downsample_padding", "must be 0 or 1");
  }
  if (!(cfg.norm_eps > 0)) c.refuse("norm_eps", "must be positive");
  if (!(cfg.mid_block_scale_factor > 0)) c.refuse("mid_block_scale_factor", "must be positive");
  for (size_t i = 0; i < n; ++i) {
    const int64_t ch = cfg.block_out_channels[i];
    positive("block_out_channels", ch);
    positive("layers_per_block", cfg.layers_per_block[i]);
    positive("attention_head_dim", cfg.attention_heads[i]);
    if (ch % cfg.norm_num_groups != 0) {
      c.refuse("block_out_channels", std::to_string(ch) + " channels are not divisible by " +
                                         "norm_num_groups " + std::to_string(cfg.norm_num_groups));
    }
    // Blocks with attention at this width: down block i, up block n-1-i
    // (heads reversed likewise) and the mid-block at the last width.
    const bool attends = cfg.down_blocks[i] == UnetBlockKind::CrossAttention ||
                         cfg.up_blocks[n - 1 - i] == UnetBlockKind::CrossAttention || i == n - 1;
    if (attends && ch % cfg.attention_heads[i] != 0) {
      c.refuse("attention_head_dim", std::to_string(cfg.attention_heads[i]) +
                                         " heads do not divide " + std::to_string(ch) +
                                         " channels");
    }
  }
  return cfg;
}

at::Tensor timestep_embedding(const at::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                              double freq_shift) {
  const int64_t half = dim / 2;
  at::Tensor exponent =
      at::arange(half, timesteps.options().dtype(at::kFloat)) * (-std::log(10000.0));
  exponent = exponent / (static_cast<double>(half) - freq_shift);
  const at::Tensor freqs = at::exp(exponent);
  const at::Tensor args = timesteps.unsqueeze(1).to(at::kFloat) * freqs.unsqueeze(0);
  at::Tensor emb = flip_sin_to_cos ? at::cat({at::cos(args), at::sin(args)}, -1)
                                   : at::cat({at::sin(args), at::cos(args)}, -1);
  if (dim % 2 == 1) emb = at::constant_pad_nd(emb, {0, 1, 0, 0}, 0);
  return emb;
}

UnetImpl::UnetImpl(const UnetConfig& config) : config_(config) {
  const std::vector<int64_t>& channels = config.block_out_channels;
  const size_t n = channels.size();
  const int64_t temb = channels[0] * 4;
  const UnetBlockShape shape{temb, config.cross_attention_dim, config.norm_num_groups,
                             config.norm_eps, config.use_linear_projection};

  conv_in_ = register_module("conv_in", Conv2d(config.in_channels, channels[0], 3, 1, 1));
  auto time_embedding = std::make_shared<torch::nn::Module>();
  time_linear_1_ = time_embedding->register_module("linear_1", Linear(channels[0], temb));
  time_linear_2_ = time_embedding->register_module("linear_2", Linear(temb, temb));
  register_module("time_embedding", time_embedding);

  torch::nn::ModuleList down_blocks, up_blocks;
  int64_t out = channels[0];
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = out;
    out = channels[i];
    down_.push_back(std::make_shared<UnetDownBlockImpl>(
        config.down_blocks[i], in, out, config.layers_per_block[i], config.attention_heads[i],
        shape, i + 1 < n, config.downsample_padding));
    down_blocks->push_back(down_.back());
  }
  register_module("down_blocks", down_blocks);

  mid_ = std::make_shared<UnetMidBlockImpl>(channels[n - 1], config.attention_heads[n - 1], shape,
                                            config.mid_block_scale_factor);
  register_module("mid_block", mid_);

  out = channels[n - 1];
  for (size_t i = 0; i < n; ++i) {
    const size_t r = n - 1 - i;  // the down block this up block mirrors
    const int64_t prev_out = out;
    out = channels[r];
    const int64_t in = channels[r == 0 ? 0 : r - 1];
    up_.push_back(std::make_shared<UnetUpBlockImpl>(config.up_blocks[i], in, prev_out, out,
                                                    config.layers_per_block[r] + 1,
                                                    config.attention_heads[r], shape, i + 1 < n));
    up_blocks->push_back(up_.back());
  }
  register_module("up_blocks", up_blocks);

  conv_norm_out_ = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(
          torch::nn::GroupNormOptions(config.norm_num_groups, channels[0]).eps(config.norm_eps)));
  conv_out_ = register_module("conv_out", Conv2d(channels[0], config.out_channels, 3, 1, 1));
}

at::Tensor UnetImpl::forward(const at::Tensor& sample, const at::Tensor& timestep,
                             const at::Tensor& encoder_hidden_states) {
  require(sample.dim() == 4 && sample.size(1) == config_.in_channels,
          "Unet: sample must be [B, " + std::to_string(config_.in_channels) + ", h, w]");
  require(encoder_hidden_states.dim() == 3 && encoder_hidden_states.size(0) == sample.size(0) &&
              encoder_hidden_states.size(2) == config_.cross_attention_dim,
          "Unet: encoder_hidden_states must be [B, tokens, " +
              std::to_string(config_.cross_attention_dim) + "]");
  require(timestep.dim() == 0 || (timestep.dim() == 1 &&
                                  (timestep.size(0) == 1 || timestep.size(0) == sample.size(0))),
          "Unet: timestep must be a scalar or have one value per sample");
  const int64_t batch = sample.size(0);
  const size_t upsamplers = up_.size() - 1;
  const bool forward_upsample_size = sample.size(2) % (int64_t{1} << upsamplers) != 0 ||
                                     sample.size(3) % (int64_t{1} << upsamplers) != 0;

  at::Tensor x = sample;
  if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  if (config_.center_input_sample) x = 2 * x - 1.0;

  const at::Tensor t =
      (timestep.dim() == 0 ? timestep.unsqueeze(0) : timestep).to(sample.device()).expand({batch});
  const at::Tensor t_emb = timestep_embedding(t, config_.block_out_channels[0],
                                              config_.flip_sin_to_cos, config_.freq_shift)
                               .to(sample.scalar_type());
  const at::Tensor emb = time_linear_2_->forward(at::silu(time_linear_1_->forward(t_emb)));
  const at::Tensor& context = encoder_hidden_states;

  x = conv_in_->forward(x);
  std::vector<at::Tensor> skips{x};
  for (auto& block : down_) x = block->forward(x, emb, context, skips);
  x = mid_->forward(x, emb, context);
  std::vector<int64_t> upsample_size;
  for (size_t i = 0; i < up_.size(); ++i) {
    const bool last = i + 1 == up_.size();
    if (!last && forward_upsample_size) {
      // The skip connection the next up block starts with has the size this
      // one's upsampler must reach.
      upsample_size = skips[skips.size() - up_[i]->layers() - 1].sizes().slice(2).vec();
    }
    x = up_[i]->forward(x, skips, emb, context, upsample_size);
  }
  x = at::silu(conv_norm_out_->forward(x));
  return conv_out_->forward(x);
}

void UnetImpl::use_channels_last(bool on) {
  set_channels_last(*this, on);
  channels_last_ = on;
}

Unet load_unet(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  const std::string weights_path = dir + "/diffusion_pytorch_model.safetensors";
  const UnetConfig config = UnetConfig::from_json(read_text_file(config_path), config_path);
  require_file(weights_path);
  const SafetensorsFile weights = SafetensorsFile::open(weights_path);
  require_config_fits_file(weights, config.minimum_parameters(), config_path);
  Unet unet(config);
  load_state_dict(*unet, weights);
  unet->eval();
  return unet;
}

}  // namespace gml::diffusion
