#include "core/flow/flow_file.h"

#include <ATen/ATen.h>

#include "core/common/error.h"
#include "core/common/module_io.h"

namespace gml::flow {

ModelFile flow_model_file(ConditionalFlow& flow, const FlowFileExtras& extras) {
  ModelFile file;
  file.family = "flow";
  file.config = flow->config().to_json_text();
  file.provenance = extras.provenance;
  store_module(*flow, file);
  for (const auto& [name, t] : flow->normalization_tensors()) file.normalization[name] = t;
  if (extras.condition_min.defined()) {
    file.normalization["condition_train_min"] = extras.condition_min.to(at::kDouble).cpu();
    file.normalization["condition_train_max"] = extras.condition_max.to(at::kDouble).cpu();
  }
  file.extra["training"] = at::from_blob(const_cast<char*>(extras.training.data()),
                                         {static_cast<int64_t>(extras.training.size())}, at::kByte)
                               .clone();
  return file;
}

void save_flow(const std::string& path, ConditionalFlow& flow, const FlowFileExtras& extras) {
  ModelFile file = flow_model_file(flow, extras);
  write_model_file(path, file);
}

LoadedFlow flow_from_model_file(const ModelFile& file) {
  require(file.family == "flow", "not a flow model file");
  LoadedFlow out;
  FlowConfig config;
  try {
    config = FlowConfig::from_json_text(file.config);
  } catch (const Error& e) {
    fail(Status::Format, std::string("flow model file has an invalid config: ") + e.what());
  }
  // Every block's conditioner holds an MLP of hidden_layers layers of width
  // hidden_width: at least (hidden_layers - 1) W x W matrices and W weights.
  const double w = static_cast<double>(config.hidden_width);
  require_config_fits_tensors(file,
                              static_cast<double>(config.num_blocks) *
                                  (static_cast<double>(config.hidden_layers - 1) * w * w + w),
                              "num_blocks x ((hidden_layers - 1) x hidden_width^2 + hidden_width)");
  out.flow = ConditionalFlow(config);
  load_module(*out.flow, file);
  std::map<std::string, at::Tensor> norm;
  for (const auto& [name, t] : file.normalization) {
    if (name == "condition_train_min") {
      out.extras.condition_min = t;
    } else if (name == "condition_train_max") {
      out.extras.condition_max = t;
    } else {
      norm[name] = t;
    }
  }
  try {
    out.flow->set_normalization_tensors(norm);
  } catch (const Error& e) {
    fail(Status::Format, std::string("flow model file normalisation: ") + e.what());
  }
  if (auto it = file.extra.find("training"); it != file.extra.end()) {
    const at::Tensor bytes = it->second.to(at::kByte).contiguous();
    out.extras.training.assign(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                               static_cast<size_t>(bytes.numel()));
  }
  out.extras.provenance = file.provenance;
  out.checksum = file.checksum;
  out.flow->eval();
  return out;
}

LoadedFlow load_flow(const std::string& path) {
  return flow_from_model_file(read_model_file(path, "flow"));
}

const ModelFamily kFlowFamily{
    LoadedFlow::kFamily, [](const ModelFile& file) {
      return std::unique_ptr<LoadedModel>(std::make_unique<LoadedFlow>(flow_from_model_file(file)));
    }};

}  // namespace gml::flow
