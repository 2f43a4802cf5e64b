#include "core/merger/merger_net.h"

#include <torch/torch.h>

#include "core/common/error.h"
#include "core/merger/nets/backbone.h"

namespace gml::merger {

namespace {

// One x2 upsampling stage of the FCAE decoder.
void add_up_stage(torch::nn::Sequential& seq, int64_t in, int64_t out, bool last) {
  seq->push_back(torch::nn::ConvTranspose2d(
      torch::nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(last)));
  if (!last) {
    seq->push_back(torch::nn::BatchNorm2d(out));
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  }
}

}  // namespace

MergerNetImpl::MergerNetImpl(const MergerConfig& config) : config_(config) {
  config_.validate();
  backbone_ = register_module(
      "backbone", make_backbone(config_.backbone, config_.in_channels, /*num_classes=*/0));
  feature_channels_ = backbone_->feature_channels();
  const int64_t stride = backbone_->stride();
  feature_side_ = (config_.image_size + stride - 1) / stride;
  feature_dim_ = feature_channels_ * feature_side_ * feature_side_;

  classifier_ = register_module(
      "classifier", torch::nn::Sequential(torch::nn::Dropout(config_.dropout),
                                          torch::nn::Linear(feature_channels_, config_.n_classes)));
  if (config_.regress_time)
    time_head_ = register_module("time_head", torch::nn::Linear(feature_channels_, 1));
  if (config_.fcae) {
    // Channels halve per stage from min(K, 256); five stages undo stride 32.
    torch::nn::Sequential dec;
    int64_t ch = std::min<int64_t>(feature_channels_, 256);
    dec->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(feature_channels_, ch, 1).bias(false)));
    dec->push_back(torch::nn::BatchNorm2d(ch));
    dec->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    for (int stage = 0; stage < 5; ++stage) {
      const bool last = stage == 4;
      const int64_t next = last ? config_.in_channels : std::max<int64_t>(ch / 2, 16);
      add_up_stage(dec, ch, next, last);
      ch = next;
    }
    decoder_ = register_module("decoder", dec);
  }
  if (config_.latent_dim > 0) {
    const int64_t h = config_.vae_hidden;
    vae_encoder_ = register_module(
        "vae_encoder",
        torch::nn::Sequential(torch::nn::Linear(feature_dim_, h), torch::nn::ReLU()));
    vae_mu_ = register_module("vae_mu", torch::nn::Linear(h, config_.latent_dim));
    vae_logvar_ = register_module("vae_logvar", torch::nn::Linear(h, config_.latent_dim));
    vae_decoder_ = register_module(
        "vae_decoder",
        torch::nn::Sequential(torch::nn::Linear(config_.latent_dim, h), torch::nn::ReLU(),
                              torch::nn::Linear(h, feature_dim_)));
  }
}

MergerOutput MergerNetImpl::forward(const at::Tensor& x, const HeadSelection& heads) {
  const bool needs_fixed_size = heads.classifier || heads.time || heads.vae;
  if (x.dim() != 4 || x.size(1) != config_.in_channels ||
      (needs_fixed_size && (x.size(2) != config_.image_size || x.size(3) != config_.image_size)) ||
      (!needs_fixed_size && (x.size(2) % 32 != 0 || x.size(3) % 32 != 0))) {
    fail(Status::InvalidArgument,
         "merger model: images must be (N, " + std::to_string(config_.in_channels) + ", " +
             std::to_string(config_.image_size) + ", " + std::to_string(config_.image_size) +
             "), got " + c10::str(x.sizes()));
  }
  MergerOutput out;
  at::Tensor fmap = backbone_->forward_features(x);
  at::Tensor pooled;
  if (heads.classifier || (heads.time && time_head_)) pooled = fmap.mean({2, 3});
  if (heads.classifier) out.logits = classifier_->forward(pooled);
  if (heads.time && time_head_) {
    out.time = time_head_->forward(pooled).squeeze(1);
    if (config_.time_head == TimeHead::Bounded) out.time = at::sigmoid(out.time);
  }
  if (heads.fcae && decoder_) {
    at::Tensor r = decoder_->forward(fmap);
    // ceil(S / 32) * 32 may exceed S; the reconstruction is cropped back.
    out.recon = r.narrow(2, 0, x.size(2)).narrow(3, 0, x.size(3));
  }
  if (heads.vae && vae_encoder_) {
    out.features = fmap.detach().flatten(1);
    at::Tensor h = vae_encoder_->forward(out.features);
    out.mu = vae_mu_->forward(h);
    out.logvar = vae_logvar_->forward(h).clamp(-20, 10);
    at::Tensor z = out.mu;
    if (is_training()) z = out.mu + at::randn_like(out.mu) * (0.5 * out.logvar).exp();
    out.feature_recon = vae_decoder_->forward(z);
  }
  return out;
}

}  // namespace gml::merger
