// The DeepGalaxy network: one CNN encoder and three heads.
//
//   image (N, C, S, S) --backbone--> feature map F (N, K, s, s), s = ceil(S / 32)
//     classifier:  pool(F) -> dropout -> linear -> n_classes logits
//     time head:   pool(F) -> linear [-> sigmoid] -> t / time_max   (optional;
//                  the sigmoid bounds it to the simulated span, TimeHead)
//     FCAE:        F -> 5 x (transposed conv, x2) -> reconstructed image;
//                  fully convolutional, so it works at any resolution
//     VAE:         flatten(F) -> MLP -> (mu, log var) -> z -> MLP -> flatten(F)
//
// The VAE reads the feature map detached from the encoder: its loss never
// moves the encoder, so it can be trained after the classifier or jointly
// with it (the paper does both), and the search latent is mu.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <memory>

#include "core/merger/merger_config.h"

namespace gml::merger {

class Backbone;

// Heads computed by a forward pass; skipping a head saves its work.
struct HeadSelection {
  bool classifier = true;
  bool time = true;
  bool fcae = true;
  bool vae = true;
};

struct MergerOutput {
  at::Tensor logits;         // (N, n_classes)
  at::Tensor time;           // (N) predicted t / time_max; undefined without the head
  at::Tensor recon;          // (N, C, S, S) FCAE output; undefined when not computed
  at::Tensor features;       // (N, K * s * s) flattened feature map, detached
  at::Tensor mu, logvar;     // (N, latent_dim) VAE posterior; undefined without the VAE
  at::Tensor feature_recon;  // (N, K * s * s) VAE decoder output from a sample of z
};

class MergerNetImpl : public torch::nn::Module {
 public:
  explicit MergerNetImpl(const MergerConfig& config);

  // x must be (N, in_channels, image_size, image_size); the FCAE accepts any
  // size that is a multiple of 32 when only it is selected. Throws
  // Error(InvalidArgument) for other shapes.
  MergerOutput forward(const at::Tensor& x, const HeadSelection& heads = {});

  const MergerConfig& config() const { return config_; }
  int64_t feature_dim() const { return feature_dim_; }  // K * s * s
  Backbone& backbone() { return *backbone_; }

 private:
  MergerConfig config_;
  std::shared_ptr<Backbone> backbone_;
  torch::nn::Sequential classifier_{nullptr};
  torch::nn::Linear time_head_{nullptr};
  torch::nn::Sequential decoder_{nullptr};
  torch::nn::Sequential vae_encoder_{nullptr}, vae_decoder_{nullptr};
  torch::nn::Linear vae_mu_{nullptr}, vae_logvar_{nullptr};
  int64_t feature_channels_ = 0, feature_side_ = 0, feature_dim_ = 0;
};
TORCH_MODULE(MergerNet);

}  // namespace gml::merger
