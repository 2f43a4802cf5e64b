// The diffusion family's entry points: argument checks and translation to
// core/diffusion's GenerationRequest; the work is the core's.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capi/src/model_call.h"
#include "capi/src/options.h"
#include "core/diffusion/autoencoder_kl.h"
#include "core/diffusion/clip_text_model.h"
#include "core/diffusion/clip_tokenizer.h"
#include "core/diffusion/diffusion_file.h"
#include "core/diffusion/scheduler.h"
#include "core/diffusion/stable_diffusion.h"
#include "core/diffusion/unet.h"
#include "galaxyml/diffusion.h"

namespace gml::capi {

namespace {

using diffusion::GenerationRequest;
using diffusion::LoadedDiffusion;
using diffusion::StableDiffusion;

constexpr const char* kFamily = LoadedDiffusion::kFamily;

#define GML_DIFFUSION_FIELDS(X)      \
  X(n_per_prompt, images_per_prompt) \
  X(steps, steps) X(guidance, guidance) X(eta, eta) X(strength, strength) X(batch_size, batch_size)
constexpr auto kDiffusionFields = GML_FIELD_LINKS(GML_DIFFUSION_FIELDS);

const StableDiffusion& sd_of(const gml_model& m) {
  return *loaded_as<LoadedDiffusion>(m).model;
}

// The request of a call, without its prompts; seed 0 stays 0 (the caller
// applies the context's). A height or width of 0 is `default_height` /
// `default_width` when given, else the checkpoint's native size.
GenerationRequest request_of(const StableDiffusion& sd, const gml_diffusion_options* opts,
                             int64_t default_height = 0, int64_t default_width = 0) {
  const gml_diffusion_options o = read_options(opts, gml_diffusion_options_default);
  GenerationRequest r;
  receive_fields(kDiffusionFields, o, r);
  require(o.height >= 0 && o.width >= 0, "height and width must be >= 0 (0: the model's size)");
  r.height = o.height ? o.height : default_height ? default_height : sd.native_size();
  r.width = o.width ? o.width : default_width ? default_width : sd.native_size();
  r.negative_prompt = o.negative_prompt ? o.negative_prompt : "";
  std::string scheduler = o.scheduler ? o.scheduler : "euler_a";
  if (scheduler == "dpmpp_2m_karras") {
    scheduler = "dpmpp_2m";
    r.karras_sigmas = true;
  }
  r.sampler = diffusion::sampler_from_name(scheduler);
  r.restore_mean = o.restore_mean != 0;
  r.seed = o.seed;
  r.format.dtype = diffusion::compute_dtype_from_name(o.precision ? o.precision : "float32");
  r.format.channels_last = o.channels_last != 0;
  return r;
}

// [N, C, H, W] of a request, with N * C * H * W checked against overflow.
std::vector<int64_t> image_shape(const StableDiffusion& sd, const GenerationRequest& r,
                                 int64_t n_prompts) {
  require(n_prompts >= 1, "n_prompts must be at least 1, got " + std::to_string(n_prompts));
  require(r.images_per_prompt >= 1, "n_per_prompt must be at least 1");
  const int64_t f = sd.vae_scale_factor();
  require(r.height >= f && r.width >= f && r.height % f == 0 && r.width % f == 0,
          "height and width must be positive multiples of " + std::to_string(f) + ", got " +
              std::to_string(r.height) + " x " + std::to_string(r.width));
  // In floating point first: the integer product must not overflow.
  const double total = static_cast<double>(n_prompts) * static_cast<double>(r.images_per_prompt) *
                       static_cast<double>(sd.image_channels()) * static_cast<double>(r.height) *
                       static_cast<double>(r.width);
  require(total < 9.0e18, "the image count overflows: " + std::to_string(n_prompts) +
                              " prompts x " + std::to_string(r.images_per_prompt) + " images");
  return {n_prompts * r.images_per_prompt, sd.image_channels(), r.height, r.width};
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// The shape of an img2img reference, [n, C, H, W].
struct ReferenceShape {
  int64_t n = 0, channels = 0, height = 0, width = 0;
};

// txt2img and img2img: reference NULL for the first. Everything is checked
// before a prompt pointer is read: the count of prompts is only trusted
// once the images it asks for fit the caller's buffer.
void generate_into(gml_context& c, const gml_model& m, const char* const* prompts,
                   int64_t n_prompts, const float* reference, const ReferenceShape& ref,
                   const gml_diffusion_options* opts, float* images, size_t capacity) {
  require(prompts != nullptr, "prompts must not be NULL");
  require(images != nullptr, "images must not be NULL");
  const StableDiffusion& sd = sd_of(m);
  GenerationRequest r = request_of(sd, opts, ref.height, ref.width);
  const std::vector<int64_t> shape = image_shape(sd, r, n_prompts);
  require_capacity(images, capacity, elements(shape), "images", "floats");
  if (reference) {
    require(ref.n == 1 || ref.n == shape[0], "n_reference must be 1 or the image count " +
                                                 std::to_string(shape[0]) + ", got " +
                                                 std::to_string(ref.n));
    require(ref.channels == shape[1] && ref.height == shape[2] && ref.width == shape[3],
            "the reference images are " + std::to_string(ref.channels) + " x " +
                std::to_string(ref.height) + " x " + std::to_string(ref.width) +
                " (channels x height x width); this model makes " + std::to_string(shape[1]) +
                " x " + std::to_string(shape[2]) + " x " + std::to_string(shape[3]));
    r.reference = at::from_blob(const_cast<float*>(reference),
                                {ref.n, ref.channels, ref.height, ref.width}, at::kFloat);
  }
  for (int64_t i = 0; i < n_prompts; ++i) {
    require(prompts[i] != nullptr, "prompts[" + std::to_string(i) + "] must not be NULL");
    r.prompts.emplace_back(prompts[i]);
  }
  r.seed = seed_for(c, r.seed);
  r.control = &c.control;
  diffusion::generate(sd, r, at::from_blob(images, shape, at::kFloat));
}

std::string describe(const gml_model& m) {
  const LoadedDiffusion& loaded = loaded_as<LoadedDiffusion>(m);
  const StableDiffusion& sd = *loaded.model;
  const auto& unet = sd.unet().config();
  const auto& text = sd.text_encoder().config();
  nlohmann::json j;
  j["family"] = kFamily;
  j["path"] = m.path;
  j["checksum"] = m.checksum();
  j["image_channels"] = sd.image_channels();
  j["native_size"] = sd.native_size();
  j["vae_scale_factor"] = sd.vae_scale_factor();
  j["latent_channels"] = sd.latent_channels();
  j["unet"] = {{"block_out_channels", unet.block_out_channels},
               {"layers_per_block", unet.layers_per_block},
               {"cross_attention_dim", unet.cross_attention_dim},
               {"sample_size", unet.sample_size}};
  j["text_encoder"] = {{"hidden_size", text.hidden_size},
                       {"num_hidden_layers", text.num_hidden_layers},
                       {"max_position_embeddings", text.max_position_embeddings}};
  j["tokenizer"] = {{"vocab_size", sd.tokenizer().vocab_size()},
                    {"model_max_length", sd.tokenizer().model_max_length()}};
  j["vae"] = {{"block_out_channels", sd.vae().config().block_out_channels},
              {"latent_channels", sd.vae().config().latent_channels},
              {"scaling_factor", sd.vae().scaling_factor()}};
  j["scheduler"] = nlohmann::json::parse(sd.scheduler_config(), nullptr, false);
  j["provenance"] = nlohmann::json::parse(loaded.provenance, nullptr, false);
  return j.dump(2);
}

}  // namespace
}  // namespace gml::capi

using gml::capi::guard;

extern "C" {

GML_API void gml_diffusion_options_default(gml_diffusion_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  gml::capi::publish_fields(gml::capi::kDiffusionFields, *opts,
                            gml::diffusion::GenerationRequest{});
  // 0: the model's own size, known once a model is loaded.
  opts->height = 0;
  opts->width = 0;
}

GML_API gml_status gml_diffusion_image_shape(const gml_model* model,
                                             const gml_diffusion_options* opts, int64_t n_prompts,
                                             int64_t* shape) {
  return guard("gml_diffusion_image_shape", [&] {
    const gml_model& m = gml::capi::require_model(model, gml::capi::kFamily);
    gml::require(shape != nullptr, "shape must not be NULL");
    const auto& sd = gml::capi::sd_of(m);
    const auto r = gml::capi::request_of(sd, opts);
    const std::vector<int64_t> s = gml::capi::image_shape(sd, r, n_prompts);
    std::copy(s.begin(), s.end(), shape);
  });
}

GML_API gml_status gml_diffusion_txt2img(gml_context* ctx, const gml_model* model,
                                         const char* const* prompts, int64_t n_prompts,
                                         const gml_diffusion_options* opts, float* images,
                                         size_t capacity) {
  return gml::capi::model_call("gml_diffusion_txt2img", ctx, model, gml::capi::kFamily,
                               [&](gml_context& c, const gml_model& m) {
                                 gml::capi::generate_into(c, m, prompts, n_prompts, nullptr, {},
                                                          opts, images, capacity);
                               });
}

GML_API gml_status gml_diffusion_img2img(gml_context* ctx, const gml_model* model,
                                         const char* const* prompts, int64_t n_prompts,
                                         const float* reference, int64_t n_reference,
                                         int64_t channels, int64_t height, int64_t width,
                                         const gml_diffusion_options* opts, float* images,
                                         size_t capacity) {
  return gml::capi::model_call("gml_diffusion_img2img", ctx, model, gml::capi::kFamily,
                               [&](gml_context& c, const gml_model& m) {
                                 gml::require(reference != nullptr, "reference must not be NULL");
                                 gml::require(channels >= 1 && height >= 1 && width >= 1,
                                              "the reference's channels, height and width must "
                                              "be at least 1");
                                 gml::capi::generate_into(c, m, prompts, n_prompts, reference,
                                                          {n_reference, channels, height, width},
                                                          opts, images, capacity);
                               });
}

GML_API gml_status gml_diffusion_tokenize(const gml_model* model, const char* prompt, int64_t* ids,
                                          float* weights, size_t capacity, size_t* length) {
  return guard("gml_diffusion_tokenize", [&] {
    const gml_model& m = gml::capi::require_model(model, gml::capi::kFamily);
    gml::require(prompt != nullptr, "prompt must not be NULL");
    gml::require(length != nullptr, "length must not be NULL");
    const auto t = gml::diffusion::tokenize_weighted(gml::capi::sd_of(m).tokenizer(), prompt);
    const int64_t n = static_cast<int64_t>(t.ids.size());
    gml::capi::require_capacity(ids, capacity, n, "ids");
    gml::capi::require_capacity(weights, capacity, n, "weights");
    if (ids) std::copy(t.ids.begin(), t.ids.end(), ids);
    if (weights) std::copy(t.weights.begin(), t.weights.end(), weights);
    *length = t.ids.size();
  });
}

GML_API gml_status gml_diffusion_encode_prompt(gml_context* ctx, const gml_model* model,
                                               const char* prompt, int32_t restore_mean,
                                               float* embedding, size_t capacity, int64_t* n_tokens,
                                               int64_t* width) {
  return gml::capi::model_call(
      "gml_diffusion_encode_prompt", ctx, model, gml::capi::kFamily,
      [&](gml_context&, const gml_model& m) {
        gml::require(prompt != nullptr, "prompt must not be NULL");
        const auto& sd = gml::capi::sd_of(m);
        // The sizes first, so that a short buffer is refused before the
        // encoder runs.
        const int64_t tokens = sd.tokenizer().model_max_length();
        const int64_t d = sd.text_encoder().config().hidden_size;
        gml::capi::require_capacity(embedding, capacity, tokens * d, "embedding", "floats");
        if (n_tokens) *n_tokens = tokens;
        if (width) *width = d;
        if (!embedding) {
          gml::diffusion::tokenize_weighted(sd.tokenizer(), prompt);  // the prompt's errors
          return;
        }
        const at::Tensor e = gml::diffusion::encode_prompt(sd, prompt, restore_mean != 0)
                                 .to(at::kFloat)
                                 .contiguous();
        gml::require(e.numel() == tokens * d, "the encoder's output has an unexpected size");
        std::copy(e.data_ptr<float>(), e.data_ptr<float>() + e.numel(), embedding);
      });
}

GML_API gml_status gml_diffusion_convert(const char* diffusers_dir, const char* out_path) {
  return guard("gml_diffusion_convert", [&] {
    gml::require(diffusers_dir != nullptr, "diffusers_dir must not be NULL");
    gml::require(out_path != nullptr, "out_path must not be NULL");
    if (!gml::diffusion::is_diffusers_folder(diffusers_dir)) {
      gml::fail(gml::Status::NotFound,
                std::string("'") + diffusers_dir +
                    "' is not a diffusers pipeline folder (no model_index.json)");
    }
    gml::diffusion::convert_diffusers(diffusers_dir, out_path,
                                      R"({"command": "gml_diffusion_convert"})");
  });
}

GML_API gml_status gml_diffusion_describe(const gml_model* model, char* buf, size_t capacity,
                                          size_t* length) {
  std::string text;
  const gml_status s = guard("gml_diffusion_describe", [&] {
    text = gml::capi::describe(gml::capi::require_model(model, gml::capi::kFamily));
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_diffusion_describe", text, buf, capacity, length);
}

}  // extern "C"
