#include "core/posterior/posterior_file.h"

#include <ATen/ATen.h>

#include "core/common/error.h"
#include "core/common/module_io.h"

namespace gml::posterior {
namespace {

at::Tensor text_tensor(const std::string& text) {
  return at::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                       at::kByte)
      .clone();
}

}  // namespace

ModelFile posterior_model_file(PosteriorFlow& flow, const PosteriorFileExtras& extras) {
  ModelFile file;
  file.family = "posterior";
  file.config = flow->config().to_json_text();
  file.provenance = extras.provenance;
  store_module(*flow, file);
  for (const auto& [name, t] : flow->normalization_tensors()) file.normalization[name] = t;
  if (extras.x_train_min.defined()) {
    file.normalization["x_train_min"] = extras.x_train_min.to(at::kCPU, at::kDouble);
    file.normalization["x_train_max"] = extras.x_train_max.to(at::kCPU, at::kDouble);
  }
  file.extra["training"] = text_tensor(extras.training);
  if (extras.support_x.defined()) {
    file.extra["support_x"] = extras.support_x.to(at::kCPU, at::kDouble).contiguous();
  }
  return file;
}

void save_posterior(const std::string& path, PosteriorFlow& flow,
                    const PosteriorFileExtras& extras) {
  ModelFile file = posterior_model_file(flow, extras);
  write_model_file(path, file);
}

LoadedPosterior posterior_from_model_file(const ModelFile& file) {
  require(file.family == "posterior", "not a posterior model file");
  PosteriorConfig config;
  try {
    config = PosteriorConfig::from_json_text(file.config);
  } catch (const Error& e) {
    fail(Status::Format, std::string("posterior model file has an invalid config: ") + e.what());
  }
  // Every MADE holds made_blocks hidden_width x hidden_width layers.
  const double w = static_cast<double>(config.hidden_width);
  require_config_fits_tensors(file,
                              static_cast<double>(config.num_blocks * config.made_blocks) * w * w,
                              "num_blocks x made_blocks x hidden_width^2");
  LoadedPosterior out;
  out.flow = PosteriorFlow(config, 0);
  load_module(*out.flow, file);
  std::map<std::string, at::Tensor> norm;
  for (const auto& [name, t] : file.normalization) {
    if (name == "x_train_min") {
      out.extras.x_train_min = t;
    } else if (name == "x_train_max") {
      out.extras.x_train_max = t;
    } else {
      norm[name] = t;
    }
  }
  try {
    out.flow->set_normalization_tensors(norm);
  } catch (const Error& e) {
    fail(Status::Format, std::string("posterior model file normalisation: ") + e.what());
  }
  if (auto it = file.extra.find("training"); it != file.extra.end()) {
    const at::Tensor bytes = it->second.to(at::kByte).contiguous();
    out.extras.training.assign(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                               static_cast<size_t>(bytes.numel()));
  }
  if (auto it = file.extra.find("support_x"); it != file.extra.end()) {
    require(it->second.dim() == 2 && it->second.size(1) == config.x_dim,
            "posterior model file: support_x must be (S, x_dim)");
    out.extras.support_x = it->second.to(at::kDouble);
  }
  out.extras.provenance = file.provenance;
  out.checksum = file.checksum;
  out.flow->eval();
  return out;
}

LoadedPosterior load_posterior(const std::string& path) {
  return posterior_from_model_file(read_model_file(path, "posterior"));
}

const ModelFamily kPosteriorFamily{
    LoadedPosterior::kFamily, [](const ModelFile& file) {
      return std::unique_ptr<LoadedModel>(
          std::make_unique<LoadedPosterior>(posterior_from_model_file(file)));
    }};

}  // namespace gml::posterior
