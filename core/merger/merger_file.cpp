#include "core/merger/merger_file.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/common/module_io.h"
#include "core/merger/merger_training.h"
#include "core/merger/nets/backbone.h"

namespace gml::merger {

std::string save_merger(const std::string& path, MergerNet& net, const std::string& provenance,
                        const MergerTrainReport* report) {
  ModelFile f =
      network_model_file(LoadedMerger::kFamily, *net, net->config().to_json_text(), provenance);
  if (report) {
    f.extra["train_loss"] = at::tensor(report->train_loss, at::kDouble);
    f.extra["validation_loss"] = at::tensor(report->validation_loss, at::kDouble);
    const MergerMetrics& v = report->best_validation;
    // loss, accuracy, within 3 classes, time MAE (Myr), images, best epoch
    f.extra["validation_metrics"] =
        at::tensor({v.loss, v.accuracy, v.within3, v.time_mae_myr, static_cast<double>(v.images),
                    static_cast<double>(report->best_epoch)},
                   at::kDouble);
  }
  write_model_file(path, f);
  return f.checksum;
}

LoadedMerger merger_from_model_file(const ModelFile& file) {
  LoadedMerger m;
  const MergerConfig config = config_of<MergerConfig>(file, LoadedMerger::kFamily);
  // The classifier holds at least one weight per class. The VAE's encoder
  // and last decoder layer hold vae_hidden weights per feature-map value
  // (at least one channel on a side of image_size / 32, the stride of every
  // backbone), and its mean, log-variance and first decoder layer
  // latent_dim x vae_hidden each. Checked before the network is built.
  const double h = static_cast<double>(config.vae_hidden);
  const double latent = static_cast<double>(config.latent_dim);
  const double side = std::ceil(static_cast<double>(config.image_size) / 32.0);
  require_config_fits_tensors(
      file,
      static_cast<double>(config.n_classes) + (latent > 0 ? h * (2 * side * side + 3 * latent) : 0),
      "n_classes + vae_hidden x (2 x (image_size / 32)^2 + 3 x latent_dim)");
  m.net = MergerNet(config);
  load_module(*m.net, file);
  m.net->eval();
  m.checksum = file.checksum;
  m.provenance = file.provenance;
  return m;
}

LoadedMerger load_merger(const std::string& path) {
  return merger_from_model_file(read_model_file(path, LoadedMerger::kFamily));
}

void LoadedMerger::to_device(const c10::Device& device) {
  net->to(device);
  net->backbone().prepare_for_inference();
}

const ModelFamily kMergerFamily{LoadedMerger::kFamily,
                                load_as<LoadedMerger, merger_from_model_file>};

}  // namespace gml::merger
