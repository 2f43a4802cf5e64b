// A Stable Diffusion 1.x checkpoint and what it generates: text-to-image
// with classifier-free guidance and a negative prompt, and img2img from a
// reference noised to `strength`, as diffusers' StableDiffusionPipeline and
// StableDiffusionImg2ImgPipeline compute them
// (tests/golden/make_sd_pipeline_golden.py), plus GalaxySD's weighted
// prompts. Images are made in batches, so memory is bounded by the batch
// whatever the number asked for.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/diffusion/scheduler.h"

namespace gml {
class RunControl;
}

namespace gml::diffusion {

class ClipTokenizer;
class ClipTextModelImpl;
class UnetImpl;
class AutoencoderKlImpl;
class NoiseSource;

// How the UNet and VAE compute: their dtype and the convolutions' memory
// layout. The text encoder (a few hundredths of a step), the scheduler and
// the latents between steps stay float32, as diffusers' schedulers upcast.
struct ComputeFormat {
  at::ScalarType dtype = at::kFloat;  // kFloat, kBFloat16 or kHalf
  bool channels_last = false;
};

// "float32", "bfloat16" or "float16"; Error(InvalidArgument) listing them
// for anything else.
at::ScalarType compute_dtype_from_name(const std::string& name);

class StableDiffusion {
 public:
  // Reads a diffusers pipeline folder (model_index.json, unet/, vae/,
  // text_encoder/, tokenizer/, scheduler/). Errors name the file and key
  // (see pipeline_layout.h and each part's loader).
  static std::shared_ptr<StableDiffusion> load_diffusers(const std::string& dir);

  StableDiffusion(std::shared_ptr<ClipTokenizer> tokenizer,
                  std::shared_ptr<ClipTextModelImpl> text_encoder, std::shared_ptr<UnetImpl> unet,
                  std::shared_ptr<AutoencoderKlImpl> vae, std::string scheduler_config,
                  std::string source);

  const ClipTokenizer& tokenizer() const { return *tokenizer_; }
  ClipTextModelImpl& text_encoder() const { return *text_encoder_; }
  UnetImpl& unet() const { return *unet_; }
  AutoencoderKlImpl& vae() const { return *vae_; }
  // The checkpoint's scheduler_config.json text.
  const std::string& scheduler_config() const { return scheduler_config_; }
  const std::string& source() const { return source_; }
  // Image pixels per latent pixel (8 for SD-1.x).
  int64_t vae_scale_factor() const;
  int64_t latent_channels() const;
  // The image size the checkpoint was trained at (512 for SD-1.5): the
  // UNet's sample_size in pixels.
  int64_t native_size() const;
  int64_t image_channels() const;

  // The model computing in `format`: *this for the loaded format (float32,
  // channels first), else a copy of the UNet and VAE converted at the first
  // request and kept for the model's lifetime (a 16-bit copy holds half the
  // float32 weights' memory). The tokenizer and text encoder are shared.
  // Thread-safe. Error(InvalidArgument) for a dtype other than float32,
  // bfloat16 and float16.
  const StableDiffusion& in_format(const ComputeFormat& format) const;
  const ComputeFormat& format() const { return format_; }

 private:
  ComputeFormat format_;
  mutable std::mutex formats_mutex_;
  mutable std::map<std::pair<int, bool>, std::unique_ptr<StableDiffusion>> formats_;
  std::shared_ptr<ClipTokenizer> tokenizer_;
  std::shared_ptr<ClipTextModelImpl> text_encoder_;
  std::shared_ptr<UnetImpl> unet_;
  std::shared_ptr<AutoencoderKlImpl> vae_;
  std::string scheduler_config_;
  std::string source_;
};

struct GenerationRequest {
  // Each prompt gives images_per_prompt images, in prompt order. "{tag:w}"
  // weights tags (prompt_weights.h); weights apply to the negative prompt too.
  std::vector<std::string> prompts;
  std::string negative_prompt;  // "" is the unconditional prompt, as diffusers
  int64_t images_per_prompt = 1;
  int64_t height = 512;  // multiples of vae_scale_factor()
  int64_t width = 512;
  int64_t steps = 40;
  SamplerKind sampler = SamplerKind::EulerAncestral;
  // DPM-Solver++(2M) with Karras et al.'s noise levels, whatever the
  // checkpoint's scheduler config says (a config asking for them gets them
  // anyway); DPM-Solver++ only.
  bool karras_sigmas = false;
  double eta = 0.0;       // DDIM only
  double guidance = 7.5;  // <= 1 runs the conditional branch alone, as diffusers
  // Eq. 4 scales a tag's embeddings by its weight; restore_mean then
  // rescales the whole embedding to its unweighted mean (as common web UIs).
  bool restore_mean = false;
  uint64_t seed = 0;
  int64_t batch_size = 1;  // images per network batch
  // The UNet's and VAE's dtype and layout (StableDiffusion::in_format).
  ComputeFormat format;
  // img2img: [1 or N, C, H, W] in [0, 1]; undefined runs text-to-image.
  at::Tensor reference;
  double strength = 0.8;
  // Where the noise comes from; null draws SeededNoise(seed).
  NoiseSource* noise = nullptr;
  // Progress in denoising steps over all batches, and cancellation
  // (Error(Cancelled)); null for neither.
  RunControl* control = nullptr;
};

// The number of images a request makes.
int64_t image_count(const GenerationRequest& request);

// The images, [N, C, H, W] float32 in [0, 1], written into `out` (CPU,
// contiguous, that shape). Error(InvalidArgument) for a bad request: no
// prompt, a prompt the weight parser refuses, sizes that are not multiples
// of vae_scale_factor(), steps < 1, strength that leaves no step, a
// reference of the wrong shape or holding NaN, a wrong `out`.
void generate(const StableDiffusion& model, const GenerationRequest& request, at::Tensor out);

// What the text encoder reads for a prompt: bos, the tokens of each
// weighted span with its weight, eos and padding to the tokenizer's
// model_max_length (the span tokens truncated to fit). Error(InvalidArgument)
// for a prompt the parser or the tokenizer refuses.
struct WeightedTokens {
  std::vector<int64_t> ids;
  std::vector<float> weights;
};
WeightedTokens tokenize_weighted(const ClipTokenizer& tokenizer, const std::string& prompt);

// The conditioning a prompt gives the UNet, [1, 77, D]: for inspection and
// for tests of Eq. 4.
at::Tensor encode_prompt(const StableDiffusion& model, const std::string& prompt,
                         bool restore_mean);

}  // namespace gml::diffusion
