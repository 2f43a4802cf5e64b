// Loading a checkpoint part (a diffusers/transformers state dict) into a
// torch::nn::Module whose parameter names are the checkpoint's own keys
// (e.g. down_blocks.0.resnets.1.conv1.weight), from a safetensors file or
// from tensors already in memory (a galaxyml model file's group).
//
// Strict, as PyTorch's load_state_dict(strict=True): every parameter and
// buffer of the module must be present with its shape, and a key the module
// does not have is an error too, because it means the checkpoint was written
// for another configuration. Stored half and bfloat16 tensors are converted
// to the module's dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <set>
#include <string>

namespace torch::nn {
class Module;
}

namespace gml {
class SafetensorsFile;
}

namespace gml::diffusion {

// Keys a checkpoint may hold that no module needs (e.g. the position_ids
// buffer older transformers versions saved in CLIP text encoders).
using IgnoredKeys = std::set<std::string>;

// Copies the tensors of `file` into `module` (no autograd).
// Error(Format) naming the file and the key for a missing key, a key the
// module lacks, a shape mismatch, or a stored dtype that is not floating
// point where the module holds floating point (or floating point where it
// holds integers).
void load_state_dict(torch::nn::Module& module, const SafetensorsFile& file,
                     const IgnoredKeys& ignored = {});

// The same from named tensors in memory; `source` names them in messages.
void load_state_dict(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                     const std::string& source, const IgnoredKeys& ignored = {});

// The module's parameters and buffers by name, shared (not copied): what
// load_state_dict reads back into a module of the same configuration.
std::map<std::string, at::Tensor> state_dict_of(const torch::nn::Module& module);

// Refuses, before a module is built from `config_path`, a config whose
// lower bound of parameters (its minimum_parameters()) exceeds the elements
// `file` declares: each value of a hand-edited config.json may be within
// its bounds while their product asks for terabytes. Error(Format) naming
// both files.
void require_config_fits_file(const SafetensorsFile& file, double config_parameters,
                              const std::string& config_path);

}  // namespace gml::diffusion
