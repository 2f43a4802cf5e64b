// Architecture of a merger-stage model (DeepGalaxy, Cai et al. 2020): a CNN
// encoder, a classifier over time classes with an optional regression of the
// time itself, a fully convolutional autoencoder (FCAE) decoder, and a VAE
// that compresses the flattened feature map to the search latent. Stored as
// JSON text in the model file's `config` attribute; unknown keys are
// rejected.
#pragma once

#include <cstdint>
#include <string>

namespace gml::merger {

// What happens to NaN pixels of an input image.
enum class NanPolicy {
  Reject,  // the image is an error (whole call for arrays; a flagged row in catalogs)
  Mask,    // NaN pixels become 0 after normalisation and the row is flagged
};

// How the time head maps its linear output z to t / time_max.
enum class TimeHead {
  // z itself: unbounded, so an image unlike the training set can get any
  // time (flagged kImageTimeOutsideRange). Files written before the
  // "time_head" key existed are read as this, unchanged.
  Linear,
  // sigmoid(z), in (0, 1): every time lies in the simulated span.
  Bounded,
};

struct MergerConfig {
  std::string backbone = "resnet18";  // see make_backbone()
  int64_t in_channels = 1;            // bands; 1-band images need no RGB copy
  int64_t image_size = 64;            // square input, pixels
  int64_t n_classes = 71;             // time classes of the simulations
  double time_max_myr = 0;            // time of the last class; 0 = no time axis
  bool regress_time = true;           // extra head predicting t / time_max
  TimeHead time_head = TimeHead::Bounded;
  bool fcae = true;         // FCAE decoder head
  int64_t latent_dim = 16;  // VAE latent (16 or 32 in the paper); 0 = no VAE
  int64_t vae_hidden = 256;
  double dropout = 0.2;  // before the classifier
  NanPolicy nan_policy = NanPolicy::Reject;

  // Throws Error(InvalidArgument) naming the first bad field.
  void validate() const;
  std::string to_json_text() const;
  // Throws Error(Format) for bad JSON or unknown keys, then validates.
  static MergerConfig from_json_text(const std::string& text);
};

const char* nan_policy_name(NanPolicy p);
const char* time_head_name(TimeHead h);
NanPolicy nan_policy_from_name(const std::string& name);

}  // namespace gml::merger
