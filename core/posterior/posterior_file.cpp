#include "core/posterior/posterior_file.h"

#include <ATen/ATen.h>

#include "core/common/error.h"
#include "core/common/module_io.h"

namespace gml::posterior {
namespace {

constexpr TrainingRangeKeys kXRange{"x_train_min", "x_train_max"};

}  // namespace

ModelFile posterior_model_file(PosteriorFlow& flow, const PosteriorFileExtras& extras) {
  ModelFile file = flow_family_file(LoadedPosterior::kFamily, flow, kXRange, extras.x_train_min,
                                    extras.x_train_max, extras.training, extras.provenance);
  if (extras.support_x.defined()) {
    file.extra["support_x"] = extras.support_x.to(at::kCPU, at::kDouble).contiguous();
  }
  return file;
}

void save_posterior(const std::string& path, PosteriorFlow& flow,
                    const PosteriorFileExtras& extras) {
  write_model_file(path, posterior_model_file(flow, extras));
}

LoadedPosterior posterior_from_model_file(const ModelFile& file) {
  const PosteriorConfig config = config_of<PosteriorConfig>(file, LoadedPosterior::kFamily);
  // Every MADE holds made_blocks hidden_width x hidden_width layers.
  const double w = static_cast<double>(config.hidden_width);
  require_config_fits_tensors(file,
                              static_cast<double>(config.num_blocks * config.made_blocks) * w * w,
                              "num_blocks x made_blocks x hidden_width^2");
  LoadedPosterior out;
  out.flow = PosteriorFlow(config, 0);
  load_module(*out.flow, file);
  restore_flow_family_file(file, kXRange, out, out.extras.x_train_min, out.extras.x_train_max);
  if (auto it = file.extra.find("support_x"); it != file.extra.end()) {
    require(it->second.dim() == 2 && it->second.size(1) == config.x_dim,
            "posterior model file: support_x must be (S, x_dim)");
    out.extras.support_x = it->second.to(at::kDouble);
  }
  return out;
}

LoadedPosterior load_posterior(const std::string& path) {
  return posterior_from_model_file(read_model_file(path, LoadedPosterior::kFamily));
}

const ModelFamily kPosteriorFamily{LoadedPosterior::kFamily,
                                   load_as<LoadedPosterior, posterior_from_model_file>};

}  // namespace gml::posterior
