// Diffusion models in the project's HDF5 model format (family "diffusion";
// docs/model_format.md), and the family's entry in the family table.
//
// A file holds one Stable Diffusion 1.x checkpoint: the UNet, VAE and text
// encoder weights as float32 under tensors/unet.*, tensors/vae.* and
// tensors/text_encoder.* (the diffusers/transformers key names below the
// prefix), the four parts' and the scheduler's configs as one JSON object
// (the checkpoint's own config.json texts, so the same readers check
// them), and the tokenizer's files as text under extra/.
//
// A diffusers folder loads through the same code: it is read into the same
// ModelFile in memory, so a folder and the file converted from it make the
// same images and carry the same checksum.
#pragma once

#include <memory>
#include <string>

#include "core/common/loaded_model.h"
#include "core/common/model_file.h"

namespace gml::diffusion {

class StableDiffusion;

struct LoadedDiffusion : LoadedModel {
  static constexpr const char* kFamily = "diffusion";
  std::shared_ptr<StableDiffusion> model;
  std::string checksum;  // empty for a folder's family load (folder_checksum)
  std::string provenance;
  // A folder's model file, whose tensors are views of the loaded weights.
  std::shared_ptr<const ModelFile> folder_file;

  const char* family() const override { return kFamily; }
  // Error(Device) for anything but the CPU: the engine computes in float32
  // on the CPU in this version.
  void to_device(const c10::Device& device) override;
};

// The model file of the diffusers pipeline folder `dir`, with `provenance`
// (JSON text; the folder is added as "source"). Errors as
// StableDiffusion::load_diffusers: everything is read and checked before a
// file could be written.
ModelFile diffusers_model_file(const std::string& dir, const std::string& provenance = "{}");

// Builds the model from a verified file; Error(Format) naming the key for a
// config or tensor the file lacks or that does not match.
LoadedDiffusion diffusion_from_model_file(const ModelFile& file);

// A diffusers folder, or a galaxyml file of family "diffusion".
LoadedDiffusion load_diffusion(const std::string& path);

// Whether `path` is a directory holding model_index.json.
bool is_diffusers_folder(const std::string& path);

// Writes the folder as one model file, atomically; returns its checksum.
std::string convert_diffusers(const std::string& dir, const std::string& out_path,
                              const std::string& provenance = "{}");

extern const ModelFamily kDiffusionFamily;

}  // namespace gml::diffusion
