// The layout of a diffusers Stable Diffusion directory (what
// `StableDiffusionPipeline.save_pretrained` writes and what the Hugging Face
// Hub serves): model_index.json naming the pipeline and its parts, then one
// folder per part. Read and checked before any weights are, so a wrong
// directory fails at once with the file and key that are wrong.
#pragma once

#include <string>

namespace gml::diffusion {

struct PipelineLayout {
  std::string root;
  std::string pipeline_class;   // "StableDiffusionPipeline", ...
  std::string scheduler_class;  // as model_index.json names it
  std::string unet_dir;
  std::string vae_dir;
  std::string text_encoder_dir;
  std::string tokenizer_dir;
  std::string scheduler_config;  // path of scheduler/scheduler_config.json
};

// Reads `dir`/model_index.json. Error(Io) when it cannot be read,
// Error(NotFound) for a missing part folder or file, Error(Format) naming
// model_index.json and the key for a pipeline this engine does not run
// (SDXL, SD-3, Kandinsky, ...) or a part of an unexpected class.
PipelineLayout read_pipeline_layout(const std::string& dir);

// The weights of a part folder: `stem`.safetensors, or
// `stem`.`variant`.safetensors when a variant ("fp16") is asked for.
// Error(NotFound) naming the folder, and saying so when only a pickled
// PyTorch .bin is there (not read: unpickling runs arbitrary code).
std::string part_weights(const std::string& part_dir, const std::string& stem,
                         const std::string& variant = "");

}  // namespace gml::diffusion
