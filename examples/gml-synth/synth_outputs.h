// What gml-synth writes: the images as a FITS cube whose header says how
// they were made (prompts, seed, scheduler, steps, guidance, model and its
// checksum), and a PNG grid of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace gml_tools {

struct ReferenceImages {
  int64_t n = 0, c = 0, h = 0, w = 0;
  std::vector<float> pixels;
  bool rescaled = false;  // some image was min-max scaled to [0, 1]
};

struct SynthRun {
  std::vector<std::string> prompts;
  std::string negative_prompt;
  std::string scheduler;
  std::string precision;  // the UNet's and VAE's dtype
  gml_diffusion_options options{};
  uint64_t seed = 0;
  std::string model_path;
  std::string model_description;  // gml_diffusion_describe()'s JSON
  std::string reference_path;     // empty for text-to-image
  bool reference_rescaled = false;
};

// gml_diffusion_describe() of a loaded model.
std::string describe_model(const gml_model* model);

// "synth.fits" -> "synth.png".
std::string replace_extension(const std::string& path, const std::string& extension);

// The cube [N, C, H, W] (FITS axes W, H, C, N) as float32, with the run in
// its header and an IMAGES table (image, prompt index, prompt, seed).
// Written to a temporary file in the same folder, then renamed: a failure
// leaves no file. Exits with a clear line on failure.
void write_synth_fits(const std::string& path, const std::vector<float>& images,
                      const int64_t shape[4], const SynthRun& run);

// The images on a grid, one row per prompt (at most 8 columns), each titled
// with its seed.
void write_synth_png(const std::string& path, const std::vector<float>& images,
                     const int64_t shape[4], const SynthRun& run);

// The first images of a galaxy image set (gml_diffusion_procedural_galaxies)
// on a grid titled with their captions: the last three bands as red, green
// and blue (one band: grey), each asinh-stretched from its sky noise to its
// 99.5th percentile.
void write_image_set_png(const std::string& fits_path, const std::string& png_path,
                         int max_images = 48);

}  // namespace gml_tools
