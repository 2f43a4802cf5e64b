// GalaxySD's Eq. 4: the contextual embeddings of a weighted tag's tokens
// are multiplied by the tag's weight w after the text encoder and before
// cross-attention, c'_i = w_i c_i, so the weight acts on what the U-Net
// attends to without changing what the encoder read. The weights per token
// come from parse_weighted_prompt's spans (1 for unweighted text and for
// the bos, eos and padding tokens).
//
// Optionally the mean is restored as AUTOMATIC1111's web UI does
// (modules/sd_hijack_clip.py): the weighted tensor is rescaled so that its
// mean over every element equals the unweighted one's. Since the mean runs
// over the whole batch, as there, a prompt's result then depends on the
// prompts encoded with it; encode prompts one at a time for results that
// do not.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/diffusion/clip_text_model.h"

namespace gml::diffusion {

struct PromptEmbeddingOptions {
  int64_t clip_skip = 0;      // as ClipTextModelImpl::prompt_embeds
  bool restore_mean = false;  // A1111's mean restore after weighting
};

// embeddings [B, T, H] scaled per token by weights [B, T] (moved to the
// embeddings' device and dtype). Error(InvalidArgument) for weights of
// another shape, not floating point, or not finite and positive, and with
// restore_mean for weighted embeddings whose mean is zero.
at::Tensor weight_token_embeddings(const at::Tensor& embeddings, const at::Tensor& weights,
                                   bool restore_mean);

// The encoder's prompt embeddings for input_ids [B, T], weighted.
at::Tensor weighted_prompt_embeds(ClipTextModelImpl& encoder, const at::Tensor& input_ids,
                                  const at::Tensor& weights,
                                  const PromptEmbeddingOptions& options = {});

}  // namespace gml::diffusion
