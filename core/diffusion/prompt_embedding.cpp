#include "core/diffusion/prompt_embedding.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "core/common/error.h"

namespace gml::diffusion {

at::Tensor weight_token_embeddings(const at::Tensor& embeddings, const at::Tensor& weights,
                                   bool restore_mean) {
  require(embeddings.defined() && embeddings.dim() == 3,
          "prompt weighting: embeddings must be [batch, tokens, width]");
  require(weights.defined() && weights.dim() == 2 && weights.size(0) == embeddings.size(0) &&
              weights.size(1) == embeddings.size(1),
          "prompt weighting: weights must be [batch, tokens] = " +
              c10::str(embeddings.sizes().slice(0, 2)) + ", not " +
              (weights.defined() ? c10::str(weights.sizes()) : std::string("undefined")));
  require(weights.is_floating_point(), "prompt weighting: weights must be floating point");
  const at::Tensor w = weights.to(embeddings.device(), embeddings.scalar_type());
  require(at::isfinite(w).all().item<bool>() && (w > 0).all().item<bool>(),
          "prompt weighting: weights must be finite and positive");

  const at::Tensor weighted = embeddings * w.unsqueeze(-1);
  if (!restore_mean) return weighted;
  // Means in float32 whatever the embeddings' dtype: a half-precision
  // mean of 77 x 768 values would set the scale to three digits.
  const at::Tensor original_mean = embeddings.mean(at::kFloat);
  const at::Tensor new_mean = weighted.mean(at::kFloat);
  const double ratio = (original_mean / new_mean).item<double>();
  require(std::isfinite(ratio),
          "prompt weighting: the weighted embeddings have mean zero, their mean cannot be "
          "restored");
  return weighted * (original_mean / new_mean).to(weighted.scalar_type());
}

at::Tensor weighted_prompt_embeds(ClipTextModelImpl& encoder, const at::Tensor& input_ids,
                                  const at::Tensor& weights,
                                  const PromptEmbeddingOptions& options) {
  return weight_token_embeddings(encoder.prompt_embeds(input_ids, options.clip_skip), weights,
                                 options.restore_mean);
}

}  // namespace gml::diffusion
