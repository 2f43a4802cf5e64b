#include "core/merger/merger_inference.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/merger/merger_images.h"
#include "core/merger/merger_training.h"
#include "core/merger/nets/backbone.h"

namespace gml::merger {

MergerPredictions predict_merger(MergerNet& net, const at::Tensor& raw,
                                 const PredictRequest& request, RunControl* control,
                                 const char* stage) {
  const MergerConfig& config = net->config();
  require(request.classes || request.latent, "merger inference: nothing asked for");
  require(!request.latent || config.latent_dim > 0,
          "merger inference: this model has no VAE, so it gives no latent");
  require(request.batch_size >= 1, "merger inference: batch size must be >= 1");
  require(raw.defined() && raw.dim() == 4 && raw.size(0) >= 1,
          "merger inference: expected images (N, C, H, W) with N >= 1");
  net->eval();
  // BatchNorm folded, channels_last, oneDNN post-ops (nets/backbone.h); rebuilt
  // lazily by the backbone when the weights change.
  if (!net->backbone().prepared_for_inference()) net->backbone().prepare_for_inference();
  const c10::Device device = net->parameters().front().device();
  const int64_t n = raw.size(0);
  MergerPredictions out;
  out.flags.reserve(static_cast<size_t>(n));
  std::vector<at::Tensor> probs, times, latents;
  HeadSelection heads;
  heads.classifier = request.classes;
  heads.time = request.classes && config.regress_time;
  heads.fcae = false;
  heads.vae = request.latent;
  Progress progress(control, stage, n, "images");
  c10::InferenceMode guard;
  for (int64_t i = 0; i < n; i += request.batch_size) {
    const int64_t b = std::min(request.batch_size, n - i);
    std::vector<int32_t> flags;
    at::Tensor x = prepare_images(raw.narrow(0, i, b), config, request.resize, &flags);
    out.flags.insert(out.flags.end(), flags.begin(), flags.end());
    MergerOutput o = net->forward(x.to(device), heads);
    if (request.classes) {
      probs.push_back(o.logits.softmax(1).to(at::kCPU));
      times.push_back(predicted_time_myr(config, o).to(at::kCPU, at::kFloat));
      if (o.time.defined()) {
        const at::Tensor t = times.back();
        const at::Tensor outside = ((t < 0) | (t > config.time_max_myr)).to(at::kByte);
        const uint8_t* out_of_range = outside.const_data_ptr<uint8_t>();
        for (int64_t j = 0; j < b; ++j) {
          if (out_of_range[j]) out.flags[static_cast<size_t>(i + j)] |= kImageTimeOutsideRange;
        }
      }
    }
    if (request.latent) latents.push_back(o.mu.to(at::kCPU));
    progress.update(i + b);
  }
  progress.finish();
  if (request.classes) {
    out.probs = at::cat(probs);
    out.classes = out.probs.argmax(1);
    out.time_myr = at::cat(times);
  }
  if (request.latent) out.latent = at::cat(latents);
  return out;
}

}  // namespace gml::merger
