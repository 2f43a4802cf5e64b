// Moving torch::nn::Module state in and out of a ModelFile's /tensors group,
// by the module tree's own dotted names (e.g. blocks.3.coupling.net.0.weight).
#pragma once

#include <torch/nn/module.h>

#include "core/common/model_file.h"

namespace gml {

// Copies every parameter and buffer of `module` (to CPU) into model.tensors.
void store_module(const torch::nn::Module& module, ModelFile& model);

// Loads model.tensors into `module` in place. Every parameter and buffer must
// be present with the same shape; extra tensors are an error too, because
// they mean the file was written for another architecture.
// Throws Error(Format) naming the first mismatch.
void load_module(torch::nn::Module& module, const ModelFile& model);

}  // namespace gml
