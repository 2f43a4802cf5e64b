#include "core/diffusion/clip_text_model.h"

#include <ATen/ATen.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/config_fields.h"
#include "core/common/error.h"
#include "core/common/json_field.h"
#include "core/common/safetensors.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/state_dict.h"

namespace gml::diffusion {
namespace {

const EnumNames<ClipActivation> kActivations{{"quick_gelu", ClipActivation::QuickGelu},
                                             {"gelu", ClipActivation::Gelu}};

torch::nn::LayerNorm layer_norm(const ClipTextConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

// NotFound, as diffusers_config.h's require_file, with what the folder
// should hold.
void require_part_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(Status::NotFound, path + ": does not exist or is not a regular file (" + what + ")");
}

}  // namespace

double ClipTextConfig::minimum_parameters() const {
  const double h = static_cast<double>(hidden_size);
  return static_cast<double>(vocab_size) * h + 4.0 * static_cast<double>(num_hidden_layers) * h * h;
}

ClipTextConfig clip_text_config_from_json(const std::string& json_text, const std::string& source) {
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    fail(Status::Format, source + ": text encoder config is not a JSON object");
  auto where = [&](const char* key) { return source + ": text encoder config key '" + key + "'"; };
  auto string_of = [&](const char* key) {
    if (!j.at(key).is_string()) fail(Status::Format, where(key) + " must be a string");
    return j.at(key).get<std::string>();
  };

  ClipTextConfig c;
  // A whole CLIPModel's config (text_config nested beside a vision tower)
  // or another text model would read as defaults here and load garbage.
  if (j.contains("model_type")) {
    const std::string type = string_of("model_type");
    if (type != "clip_text_model")
      fail(Status::Format, where("model_type") + " = \"" + type +
                               "\" is not implemented (only clip_text_model, the text_encoder/ "
                               "of a Stable Diffusion checkpoint)");
  }
  if (j.contains("architectures") && !j.at("architectures").is_null()) {
    const nlohmann::json& a = j.at("architectures");
    if (!a.is_array()) fail(Status::Format, where("architectures") + " must be an array");
    for (const nlohmann::json& name : a) {
      const std::string text = name.is_string() ? name.get<std::string>() : name.dump();
      if (text == "CLIPTextModelWithProjection") {
        c.with_projection = true;
      } else if (text != "CLIPTextModel") {
        fail(Status::Format, where("architectures") + " names " + text +
                                 ", not implemented (only CLIPTextModel or "
                                 "CLIPTextModelWithProjection)");
      }
    }
  }

  // Token ids may be null in a config (no such token): the default stays.
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key) || j.at(key).is_null()) return;
    try {
      read_json_field(j, key, field, source + ": text encoder config");
    } catch (const nlohmann::json::exception&) {
      fail(Status::Format, where(key) + " has the wrong type: " + j.at(key).dump());
    }
  };
  get("vocab_size", c.vocab_size);
  get("hidden_size", c.hidden_size);
  get("intermediate_size", c.intermediate_size);
  get("num_hidden_layers", c.num_hidden_layers);
  get("num_attention_heads", c.num_attention_heads);
  get("max_position_embeddings", c.max_position_embeddings);
  get("layer_norm_eps", c.layer_norm_eps);
  get("bos_token_id", c.bos_token_id);
  get("eos_token_id", c.eos_token_id);
  get("pad_token_id", c.pad_token_id);
  if (j.contains("hidden_act")) {
    const std::string act = string_of("hidden_act");
    const auto v = find_named(kActivations, act);
    if (!v)
      fail(Status::Format, where("hidden_act") + " = \"" + act + "\" is not implemented (" +
                               enum_options(kActivations) + ")");
    c.hidden_act = *v;
  }

  auto positive = [&](const char* key, int64_t v) {
    if (v < 1) fail(Status::Format, where(key) + " must be positive, not " + std::to_string(v));
  };
  positive("vocab_size", c.vocab_size);
  positive("hidden_size", c.hidden_size);
  positive("intermediate_size", c.intermediate_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("max_position_embeddings", c.max_position_embeddings);
  if (c.hidden_size % c.num_attention_heads != 0)
    fail(Status::Format, where("num_attention_heads") + " = " +
                             std::to_string(c.num_attention_heads) +
                             " does not divide hidden_size " + std::to_string(c.hidden_size));
  if (!(c.layer_norm_eps > 0)) fail(Status::Format, where("layer_norm_eps") + " must be positive");
  return c;
}

ClipAttentionImpl::ClipAttentionImpl(int64_t hidden_size, int64_t num_heads)
    : num_heads_(num_heads) {
  // Registered in transformers' order, which named_parameters() follows.
  k_proj = register_module("k_proj", Linear(hidden_size, hidden_size));
  v_proj = register_module("v_proj", Linear(hidden_size, hidden_size));
  q_proj = register_module("q_proj", Linear(hidden_size, hidden_size));
  out_proj = register_module("out_proj", Linear(hidden_size, hidden_size));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x) {
  const int64_t batch = x.size(0), tokens = x.size(1), width = x.size(2);
  auto heads = [&](const at::Tensor& t) {
    return t.view({batch, tokens, num_heads_, width / num_heads_}).transpose(1, 2);
  };
  // The default scale is transformers' head_dim^-0.5.
  const at::Tensor a = at::scaled_dot_product_attention(
      heads(q_proj(x)), heads(k_proj(x)), heads(v_proj(x)), /*attn_mask=*/{}, /*dropout_p=*/0.0,
      /*is_causal=*/true);
  return out_proj(a.transpose(1, 2).reshape({batch, tokens, width}));
}

ClipMlpImpl::ClipMlpImpl(const ClipTextConfig& c) : activation_(c.hidden_act) {
  fc1 = register_module("fc1", Linear(c.hidden_size, c.intermediate_size));
  fc2 = register_module("fc2", Linear(c.intermediate_size, c.hidden_size));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  at::Tensor h = fc1(x);
  // OpenAI's CLIP was trained with x * sigmoid(1.702 x), SD 2's OpenCLIP
  // with the exact (erf) GELU.
  h = activation_ == ClipActivation::QuickGelu ? h * at::sigmoid(1.702 * h) : at::gelu(h);
  return fc2(h);
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& c) {
  self_attn = register_module("self_attn", ClipAttention(c.hidden_size, c.num_attention_heads));
  layer_norm1 = register_module("layer_norm1", layer_norm(c));
  mlp = register_module("mlp", ClipMlp(c));
  layer_norm2 = register_module("layer_norm2", layer_norm(c));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x) {
  const at::Tensor h = x + self_attn(layer_norm1(x));
  return h + mlp(layer_norm2(h));
}

ClipTextEmbeddingsImpl::ClipTextEmbeddingsImpl(const ClipTextConfig& c) {
  token_embedding = register_module("token_embedding", Embedding(c.vocab_size, c.hidden_size));
  position_embedding =
      register_module("position_embedding", Embedding(c.max_position_embeddings, c.hidden_size));
}

at::Tensor ClipTextEmbeddingsImpl::forward(const at::Tensor& input_ids) {
  // transformers looks positions up through its position_ids buffer
  // (arange); the first T rows of the table are the same numbers.
  return token_embedding(input_ids) + position_embedding->weight.slice(0, 0, input_ids.size(1));
}

ClipEncoderImpl::ClipEncoderImpl(const ClipTextConfig& c) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(ClipEncoderLayer(c));
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& c) {
  embeddings = register_module("embeddings", ClipTextEmbeddings(c));
  encoder = register_module("encoder", ClipEncoder(c));
  final_layer_norm = register_module("final_layer_norm", layer_norm(c));
}

at::Tensor ClipTextTransformerImpl::hidden_state(const at::Tensor& input_ids, int64_t layers) {
  at::Tensor h = embeddings(input_ids);
  for (int64_t i = 0; i < layers; ++i)
    h = encoder->layers->ptr<ClipEncoderLayerImpl>(i)->forward(h);
  return h;
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& config) : config_(config) {
  text_model = register_module("text_model", ClipTextTransformer(config));
}

at::Tensor ClipTextModelImpl::checked_ids(const at::Tensor& input_ids) {
  require(input_ids.defined() && input_ids.dim() == 2,
          "CLIP text encoder: input_ids must be [batch, tokens]");
  require(at::isIntegralType(input_ids.scalar_type(), /*includeBool=*/false),
          "CLIP text encoder: input_ids must be integers, not " +
              std::string(c10::toString(input_ids.scalar_type())));
  const int64_t tokens = input_ids.size(1);
  require(tokens >= 1 && tokens <= config_.max_position_embeddings,
          "CLIP text encoder: " + std::to_string(tokens) + " tokens, the model has " +
              std::to_string(config_.max_position_embeddings) + " positions");
  require(input_ids.size(0) >= 1, "CLIP text encoder: empty batch");
  // An out-of-range id would otherwise fail deep in the embedding lookup
  // (or, on CUDA, as a device-side assert).
  const int64_t lo = input_ids.min().item<int64_t>(), hi = input_ids.max().item<int64_t>();
  require(lo >= 0 && hi < config_.vocab_size,
          "CLIP text encoder: token id " + std::to_string(lo < 0 ? lo : hi) +
              " outside the vocabulary of " + std::to_string(config_.vocab_size));
  return input_ids.to(text_model->final_layer_norm->weight.device(), at::kLong);
}

ClipTextOutput ClipTextModelImpl::forward(const at::Tensor& input_ids) {
  const at::Tensor ids = checked_ids(input_ids);
  ClipTextOutput out;
  out.last_hidden_state =
      text_model->final_layer_norm(text_model->hidden_state(ids, config_.num_hidden_layers));
  // argmax returns the first maximum, which is what both rules need: the
  // eos before any eos padding.
  const at::Tensor eos = config_.eos_token_id == 2
                             ? ids.argmax(-1)
                             : ids.eq(config_.eos_token_id).to(at::kInt).argmax(-1);
  const at::Tensor rows = at::arange(ids.size(0), ids.options());
  out.pooler_output = out.last_hidden_state.index({rows, eos});
  return out;
}

at::Tensor ClipTextModelImpl::prompt_embeds(const at::Tensor& input_ids, int64_t clip_skip) {
  // diffusers indexes hidden_states[-(clip_skip + 1)] of num_hidden_layers + 1
  // states, so clip_skip = num_hidden_layers is the embeddings themselves.
  require(clip_skip >= 0 && clip_skip <= config_.num_hidden_layers,
          "CLIP text encoder: clip_skip " + std::to_string(clip_skip) + " outside [0, " +
              std::to_string(config_.num_hidden_layers) + "]");
  const at::Tensor ids = checked_ids(input_ids);
  return text_model->final_layer_norm(
      text_model->hidden_state(ids, config_.num_hidden_layers - clip_skip));
}

ClipTextModel load_clip_text_model(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  const std::string weights_path = dir + "/model.safetensors";
  require_part_file(config_path,
                    "a text_encoder directory holds config.json and model.safetensors");
  const ClipTextConfig config =
      clip_text_config_from_json(read_text_file(config_path), config_path);
  require_part_file(weights_path, "only safetensors weights are read, in one file");
  const SafetensorsFile file = SafetensorsFile::open(weights_path);
  require_config_fits_file(file, config.minimum_parameters(), config_path);
  ClipTextModel model(config);
  if (file.contains("embeddings.token_embedding.weight") &&
      !file.contains("text_model.embeddings.token_embedding.weight")) {
    // transformers 5's save_pretrained of a CLIPTextModel built from a
    // config writes the keys without the "text_model." prefix.
    load_state_dict(*model->text_model, file, {"embeddings.position_ids"});
  } else {
    IgnoredKeys ignored{"text_model.embeddings.position_ids"};
    if (config.with_projection) ignored.insert("text_projection.weight");
    load_state_dict(*model, file, ignored);
  }
  model->eval();
  return model;
}

}  // namespace gml::diffusion
