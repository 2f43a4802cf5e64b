#include "core/flow/flow_file.h"

#include <ATen/ATen.h>

#include "core/common/error.h"
#include "core/common/module_io.h"

namespace gml::flow {
namespace {

constexpr TrainingRangeKeys kConditionRange{"condition_train_min", "condition_train_max"};

}  // namespace

ModelFile flow_model_file(ConditionalFlow& flow, const FlowFileExtras& extras) {
  return flow_family_file(LoadedFlow::kFamily, flow, kConditionRange, extras.condition_min,
                          extras.condition_max, extras.training, extras.provenance);
}

void save_flow(const std::string& path, ConditionalFlow& flow, const FlowFileExtras& extras) {
  write_model_file(path, flow_model_file(flow, extras));
}

LoadedFlow flow_from_model_file(const ModelFile& file) {
  const FlowConfig config = config_of<FlowConfig>(file, LoadedFlow::kFamily);
  // Every block's conditioner holds an MLP of hidden_layers layers of width
  // hidden_width: at least (hidden_layers - 1) W x W matrices and W weights.
  const double w = static_cast<double>(config.hidden_width);
  require_config_fits_tensors(file,
                              static_cast<double>(config.num_blocks) *
                                  (static_cast<double>(config.hidden_layers - 1) * w * w + w),
                              "num_blocks x ((hidden_layers - 1) x hidden_width^2 + hidden_width)");
  LoadedFlow out;
  out.flow = ConditionalFlow(config);
  load_module(*out.flow, file);
  restore_flow_family_file(file, kConditionRange, out, out.extras.condition_min,
                           out.extras.condition_max);
  return out;
}

LoadedFlow load_flow(const std::string& path) {
  return flow_from_model_file(read_model_file(path, LoadedFlow::kFamily));
}

const ModelFamily kFlowFamily{LoadedFlow::kFamily, load_as<LoadedFlow, flow_from_model_file>};

}  // namespace gml::flow
