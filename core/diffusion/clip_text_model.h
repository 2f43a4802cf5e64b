// Stable Diffusion's text encoder: transformers' CLIPTextModel (Radford et
// al. 2021's text transformer: pre-LayerNorm blocks under a causal mask,
// learned absolute positions), with transformers' module tree so that the
// parameter names are the keys of a checkpoint's text_encoder/
// model.safetensors: text_model.embeddings.token_embedding.weight,
// text_model.encoder.layers.N.self_attn.q_proj.weight, ...,
// text_model.final_layer_norm.bias.
//
// Callers run it under c10::InferenceMode; the module moves with .to() like
// any other (CUDA, half precision).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

#include "core/diffusion/layers.h"

namespace gml::diffusion {

enum class ClipActivation { QuickGelu, Gelu };

// The keys of a transformers text_encoder/config.json this engine uses.
// Defaults are CLIPTextConfig's, which from_pretrained gives absent keys.
struct ClipTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t max_position_embeddings = 77;
  ClipActivation hidden_act = ClipActivation::QuickGelu;
  double layer_norm_eps = 1e-5;
  int64_t bos_token_id = 49406;
  int64_t eos_token_id = 49407;
  int64_t pad_token_id = 1;
  // CLIPTextModelWithProjection's checkpoints also hold text_projection.weight,
  // which Stable Diffusion 1.x/2.x never use: the loader skips it.
  bool with_projection = false;

  // A lower bound of the parameters (the token embedding and four
  // hidden x hidden projections per layer); see UnetConfig::minimum_parameters.
  double minimum_parameters() const;
};

// Reads config.json text; `source` names it in messages. Error(Format)
// naming the source and the key for text that is not a JSON object, a
// model_type other than clip_text_model, architectures other than
// CLIPTextModel / CLIPTextModelWithProjection, a hidden_act other than
// quick_gelu or gelu, a value of the wrong type, or sizes that do not form
// a model (non-positive, hidden_size not divisible by the heads).
ClipTextConfig clip_text_config_from_json(const std::string& json_text, const std::string& source);

struct ClipTextOutput {
  at::Tensor last_hidden_state;  // [B, T, H], after the final LayerNorm
  at::Tensor pooler_output;      // [B, H], the eos token's row of it
};

class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(int64_t hidden_size, int64_t num_heads);
  at::Tensor forward(const at::Tensor& x);

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(ClipAttention);

class ClipMlpImpl : public torch::nn::Module {
 public:
  explicit ClipMlpImpl(const ClipTextConfig& config);
  at::Tensor forward(const at::Tensor& x);

  Linear fc1{nullptr}, fc2{nullptr};

 private:
  ClipActivation activation_;
};
TORCH_MODULE(ClipMlp);

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const ClipTextConfig& config);
  at::Tensor forward(const at::Tensor& x);

  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr};
  ClipMlp mlp{nullptr};
  torch::nn::LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

class ClipTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipTextEmbeddingsImpl(const ClipTextConfig& config);
  at::Tensor forward(const at::Tensor& input_ids);

  Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(ClipTextEmbeddings);

class ClipEncoderImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderImpl(const ClipTextConfig& config);

  torch::nn::ModuleList layers{nullptr};  // of ClipEncoderLayer
};
TORCH_MODULE(ClipEncoder);

// transformers 4's CLIPTextTransformer. Its parameter names are the keys
// transformers 5's save_pretrained writes for a CLIPTextModel (it dropped
// the "text_model." prefix), so such a file loads into it directly.
class ClipTextTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipTextTransformerImpl(const ClipTextConfig& config);

  // transformers' hidden_states[layers]: the output of the first `layers`
  // encoder layers, before the final LayerNorm.
  at::Tensor hidden_state(const at::Tensor& input_ids, int64_t layers);

  ClipTextEmbeddings embeddings{nullptr};
  ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(ClipTextTransformer);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextConfig& config);

  // transformers' CLIPTextModel(input_ids): input_ids [B, T] integer with
  // T <= max_position_embeddings and ids inside the vocabulary
  // (Error(InvalidArgument) otherwise), on any device (moved to the
  // module's). The pooled row is the first eos_token_id of each sequence,
  // or, for configs with the pre-2023 eos_token_id = 2, the largest id (SD
  // 1.5's eos 49407 is the largest), as transformers does.
  ClipTextOutput forward(const at::Tensor& input_ids);

  // diffusers' prompt embeddings (StableDiffusionPipeline.encode_prompt):
  // clip_skip = 0 is last_hidden_state; clip_skip = k >= 1 takes the output
  // k layers before the last (hidden_states[-(k + 1)]) and applies the final
  // LayerNorm to it; k <= num_hidden_layers, Error(InvalidArgument)
  // otherwise. Layers past it are not run.
  at::Tensor prompt_embeds(const at::Tensor& input_ids, int64_t clip_skip = 0);

  const ClipTextConfig& config() const { return config_; }
  ClipTextTransformer text_model{nullptr};

 private:
  at::Tensor checked_ids(const at::Tensor& input_ids);
  ClipTextConfig config_;
};
TORCH_MODULE(ClipTextModel);

// A text_encoder/ directory: config.json and model.safetensors (float32,
// float16 or bfloat16; keys with the "text_model." prefix as in Stable
// Diffusion checkpoints, the position_ids buffer older transformers saved
// allowed, or without it as transformers 5 saves a CLIPTextModel). The
// module is float32 on the CPU, in eval mode. Error(NotFound) naming the file
// for a missing one; the errors of clip_text_config_from_json and
// load_state_dict naming the file and key otherwise.
ClipTextModel load_clip_text_model(const std::string& dir);

}  // namespace gml::diffusion
