#include "core/diffusion/stable_diffusion.h"

#include <torch/torch.h>

#include <cmath>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/diffusion/autoencoder_kl.h"
#include "core/diffusion/clip_text_model.h"
#include "core/diffusion/clip_tokenizer.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/noise_source.h"
#include "core/diffusion/pipeline_layout.h"
#include "core/diffusion/prompt_embedding.h"
#include "core/diffusion/prompt_weights.h"
#include "core/diffusion/scheduler_config.h"
#include "core/diffusion/state_dict.h"
#include "core/diffusion/unet.h"

namespace gml::diffusion {
namespace {

void check_request(const StableDiffusion& model, const GenerationRequest& r,
                   const at::Tensor& out) {
  require(!r.prompts.empty(), "no prompt given");
  require(r.images_per_prompt >= 1, "images per prompt must be at least 1");
  require(r.steps >= 1, "steps must be at least 1, got " + std::to_string(r.steps));
  require(r.batch_size >= 1, "batch size must be at least 1");
  require(!r.karras_sigmas || r.sampler == SamplerKind::DpmSolverPP2M,
          "Karras noise levels are implemented for DPM-Solver++(2M) only");
  require(std::isfinite(r.guidance) && r.guidance >= 0.0, "guidance must be a finite number >= 0");
  const int64_t f = model.vae_scale_factor();
  require(r.height >= f && r.width >= f && r.height % f == 0 && r.width % f == 0,
          "height and width must be positive multiples of " + std::to_string(f) + ", got " +
              std::to_string(r.height) + " x " + std::to_string(r.width));
  const int64_t n = image_count(r);
  const std::vector<int64_t> shape = {n, model.image_channels(), r.height, r.width};
  require(out.defined() && out.device().is_cpu() && out.scalar_type() == at::kFloat &&
              out.is_contiguous() && out.sizes() == at::IntArrayRef(shape),
          "output must be a contiguous float32 CPU tensor of shape " +
              c10::str(at::IntArrayRef(shape)));
  if (r.reference.defined()) {
    const at::Tensor& ref = r.reference;
    require(ref.dim() == 4 && (ref.size(0) == 1 || ref.size(0) == n) &&
                ref.size(1) == model.image_channels() && ref.size(2) == r.height &&
                ref.size(3) == r.width,
            "the reference must be [1 or " + std::to_string(n) + ", " +
                std::to_string(model.image_channels()) + ", " + std::to_string(r.height) + ", " +
                std::to_string(r.width) + "], got " + c10::str(ref.sizes()));
    require(at::isfinite(ref).all().item<bool>(), "the reference image holds NaN or infinity");
  }
}

// The reference's latents, scaled as the UNet sees them: [R, c, h, w],
// float32 whatever the VAE's dtype.
at::Tensor encode_reference(const StableDiffusion& model, const at::Tensor& reference,
                            NoiseSource& noise) {
  // As diffusers' StableDiffusionImg2ImgPipeline: scaling_factor only (its
  // SD pipelines ignore the shift_factor of later model families).
  LatentDistribution dist =
      model.vae().encode((reference.to(at::kFloat) * 2.0 - 1.0).to(model.format().dtype));
  dist.mean = dist.mean.to(at::kFloat);
  dist.logvar = dist.logvar.to(at::kFloat);
  return dist.sample(noise.reference(dist.mean.sizes())) * model.vae().scaling_factor();
}

template <typename Module>
Module converted(const Module& from, const ComputeFormat& format, const std::string& where) {
  Module to(from->config());
  to->to(format.dtype);
  {
    c10::InferenceMode guard;
    load_state_dict(*to, state_dict_of(*from), where);
  }
  to->eval();
  to->use_channels_last(format.channels_last);
  return to;
}

}  // namespace

// Token ids and per-token weights of a weighted prompt: each span
// tokenized alone (so a weight covers whole words), bos first, cut to leave
// room for eos, padded to the encoder's length.
WeightedTokens tokenize_weighted(const ClipTokenizer& tokenizer, const std::string& prompt) {
  const int64_t length = tokenizer.model_max_length();
  WeightedTokens t;
  t.ids.push_back(tokenizer.bos_id());
  t.weights.push_back(1.0f);
  for (const PromptSpan& span : parse_weighted_prompt(prompt)) {
    for (int64_t id : tokenizer.encode(span.text)) {
      t.ids.push_back(id);
      t.weights.push_back(static_cast<float>(span.weight));
    }
  }
  if (static_cast<int64_t>(t.ids.size()) > length - 1) {
    t.ids.resize(static_cast<size_t>(length - 1));
    t.weights.resize(static_cast<size_t>(length - 1));
  }
  t.ids.push_back(tokenizer.eos_id());
  t.weights.push_back(1.0f);
  t.ids.resize(static_cast<size_t>(length), tokenizer.pad_id());
  t.weights.resize(static_cast<size_t>(length), 1.0f);
  return t;
}

StableDiffusion::StableDiffusion(std::shared_ptr<ClipTokenizer> tokenizer,
                                 std::shared_ptr<ClipTextModelImpl> text_encoder,
                                 std::shared_ptr<UnetImpl> unet,
                                 std::shared_ptr<AutoencoderKlImpl> vae,
                                 std::string scheduler_config, std::string source)
    : tokenizer_(std::move(tokenizer)),
      text_encoder_(std::move(text_encoder)),
      unet_(std::move(unet)),
      vae_(std::move(vae)),
      scheduler_config_(std::move(scheduler_config)),
      source_(std::move(source)) {
  const int64_t context = text_encoder_->config().hidden_size;
  if (unet_->config().cross_attention_dim != context) {
    fail(Status::Format,
         source_ + ": the UNet attends to " + std::to_string(unet_->config().cross_attention_dim) +
             "-wide text embeddings, the text encoder makes " + std::to_string(context));
  }
  if (unet_->config().in_channels != vae_->config().latent_channels) {
    fail(Status::Format,
         source_ + ": the UNet takes " + std::to_string(unet_->config().in_channels) +
             " latent channels, the VAE makes " + std::to_string(vae_->config().latent_channels));
  }
}

std::shared_ptr<StableDiffusion> StableDiffusion::load_diffusers(const std::string& dir) {
  const PipelineLayout layout = read_pipeline_layout(dir);
  std::string scheduler = read_text_file(layout.scheduler_config);
  sampler_of_config(scheduler, layout.scheduler_config);  // refuses what is not implemented
  return std::make_shared<StableDiffusion>(
      std::make_shared<ClipTokenizer>(ClipTokenizer::from_directory(layout.tokenizer_dir)),
      load_clip_text_model(layout.text_encoder_dir).ptr(), load_unet(layout.unet_dir).ptr(),
      load_autoencoder_kl(layout.vae_dir).ptr(), std::move(scheduler), dir);
}

at::ScalarType compute_dtype_from_name(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  fail(Status::InvalidArgument, "unknown precision '" + name + "' (float32, bfloat16 or float16)");
}

const StableDiffusion& StableDiffusion::in_format(const ComputeFormat& format) const {
  require(format.dtype == at::kFloat || format.dtype == at::kBFloat16 || format.dtype == at::kHalf,
          std::string("the networks compute in float32, bfloat16 or float16, not ") +
              c10::toString(format.dtype));
  if (format.dtype == format_.dtype && format.channels_last == format_.channels_last) return *this;
  const std::pair<int, bool> key{static_cast<int>(format.dtype), format.channels_last};
  std::lock_guard<std::mutex> lock(formats_mutex_);
  auto it = formats_.find(key);
  if (it != formats_.end()) return *it->second;
  // From this model's own weights: a copy of a copy would round twice.
  const Unet unet = converted(Unet(unet_), format, source_ + " UNet");
  const AutoencoderKl vae = converted(AutoencoderKl(vae_), format, source_ + " VAE");
  auto variant = std::make_unique<StableDiffusion>(tokenizer_, text_encoder_, unet.ptr(), vae.ptr(),
                                                   scheduler_config_, source_);
  variant->format_ = format;
  return *(formats_[key] = std::move(variant));
}

int64_t StableDiffusion::vae_scale_factor() const {
  return int64_t{1} << (vae_->config().block_out_channels.size() - 1);
}
int64_t StableDiffusion::native_size() const {
  return unet_->config().sample_size * vae_scale_factor();
}
int64_t StableDiffusion::latent_channels() const {
  return unet_->config().in_channels;
}
int64_t StableDiffusion::image_channels() const {
  return vae_->config().in_channels;
}

int64_t image_count(const GenerationRequest& request) {
  return static_cast<int64_t>(request.prompts.size()) * request.images_per_prompt;
}

at::Tensor encode_prompt(const StableDiffusion& model, const std::string& prompt,
                         bool restore_mean) {
  c10::InferenceMode guard;
  const WeightedTokens t = tokenize_weighted(model.tokenizer(), prompt);
  const int64_t length = static_cast<int64_t>(t.ids.size());
  const at::Tensor ids = at::tensor(t.ids, at::kLong).view({1, length});
  const at::Tensor weights = at::tensor(t.weights, at::kFloat).view({1, length});
  PromptEmbeddingOptions options;
  options.restore_mean = restore_mean;
  return weighted_prompt_embeds(model.text_encoder(), ids, weights, options);
}

void generate(const StableDiffusion& loaded, const GenerationRequest& r, at::Tensor out) {
  check_request(loaded, r, out);
  const StableDiffusion& model = loaded.in_format(r.format);
  const at::ScalarType dtype = r.format.dtype;
  c10::InferenceMode guard;
  const int64_t n = image_count(r);
  const int64_t f = model.vae_scale_factor();
  const std::vector<int64_t> latent_shape = {model.latent_channels(), r.height / f, r.width / f};
  NoiseScheduleConfig schedule =
      noise_schedule_for(r.sampler, model.scheduler_config(), model.source() + " scheduler");
  if (r.karras_sigmas) schedule.use_karras_sigmas = true;
  std::unique_ptr<Scheduler> scheduler = Scheduler::create(r.sampler, schedule, r.eta);
  scheduler->set_timesteps(r.steps);
  const bool img2img = r.reference.defined();
  const int64_t first_step = img2img ? scheduler->first_step_for_strength(r.strength) : 0;
  const bool guided = r.guidance > 1.0;

  std::vector<at::Tensor> conditions;
  for (const std::string& prompt : r.prompts) {
    conditions.push_back(encode_prompt(model, prompt, r.restore_mean));
  }
  const at::Tensor unconditional =
      guided ? encode_prompt(model, r.negative_prompt, r.restore_mean) : at::Tensor();

  SeededNoise seeded(r.seed);
  NoiseSource& noise = r.noise ? *r.noise : seeded;
  const at::Tensor reference_latents =
      img2img ? encode_reference(model, r.reference, noise) : at::Tensor();

  const int64_t total = (scheduler->steps() - first_step) * ((n + r.batch_size - 1) / r.batch_size);
  Progress progress(r.control, "denoise", total, "steps");
  int64_t done = 0;
  for (int64_t first = 0; first < n; first += r.batch_size) {
    const int64_t count = std::min(r.batch_size, n - first);
    std::vector<at::Tensor> rows;
    for (int64_t i = first; i < first + count; ++i) {
      rows.push_back(conditions[static_cast<size_t>(i / r.images_per_prompt)]);
    }
    const at::Tensor condition = at::cat(rows, 0);
    const at::Tensor context =
        (guided ? at::cat({unconditional.expand({count, -1, -1}), condition}, 0) : condition)
            .to(dtype);

    scheduler->set_timesteps(r.steps);  // a fresh history for multistep samplers
    at::Tensor latents = noise.images(first, count, latent_shape);
    if (img2img) {
      const at::Tensor start = reference_latents.size(0) == 1
                                   ? reference_latents.expand({count, -1, -1, -1})
                                   : reference_latents.narrow(0, first, count);
      latents = scheduler->add_noise(start, latents, first_step);
    } else {
      latents = latents * scheduler->init_noise_sigma();
    }
    for (int64_t i = first_step; i < scheduler->steps(); ++i) {
      const at::Tensor input = scheduler->scale_model_input(latents, i).to(dtype);
      const at::Tensor t = at::scalar_tensor(scheduler->timesteps()[static_cast<size_t>(i)],
                                             at::TensorOptions().dtype(at::kFloat));
      at::Tensor prediction;
      if (guided) {
        const std::vector<at::Tensor> halves =
            model.unet().forward(at::cat({input, input}, 0), t, context).to(at::kFloat).chunk(2, 0);
        prediction = halves[0] + r.guidance * (halves[1] - halves[0]);
      } else {
        prediction = model.unet().forward(input, t, context).to(at::kFloat);
      }
      const at::Tensor step_noise =
          scheduler->stochastic() ? noise.images(first, count, latent_shape) : at::Tensor();
      latents = scheduler->step(prediction, i, latents, step_noise);
      progress.update(++done);
    }
    const at::Tensor images = model.vae()
                                  .decode((latents / model.vae().config().scaling_factor).to(dtype))
                                  .to(at::kFloat);
    out.narrow(0, first, count).copy_((images / 2.0 + 0.5).clamp(0.0, 1.0));
  }
  progress.finish();
}

}  // namespace gml::diffusion
