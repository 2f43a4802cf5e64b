#include "core/flow/flow_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/common/config_fields.h"
#include "core/common/error.h"
#include "core/flow/galaxy_generator.h"

namespace gml::flow {
namespace {

void check_columns(const std::vector<int64_t>& columns, int64_t dim, const std::string& what) {
  std::set<int64_t> seen;
  for (int64_t c : columns) {
    require(c >= 0 && c < dim, "FlowConfig: " + what + " index " + std::to_string(c) +
                                   " outside [0, " + std::to_string(dim) + ")");
    require(seen.insert(c).second,
            "FlowConfig: " + what + " index " + std::to_string(c) + " listed twice");
  }
}

const ConfigFields<FlowConfig>& fields() {
  static const ConfigFields<FlowConfig> table = [] {
    ConfigFields<FlowConfig> f("FlowConfig");
    // Coupling splits the data into two halves, hence data_dim >= 2.
    f.integer("data_dim", &FlowConfig::data_dim, 2, 1024);
    f.integer("condition_dim", &FlowConfig::condition_dim, 1, 1024);
    f.integer("num_blocks", &FlowConfig::num_blocks, 1, 256);
    f.integer("num_bins", &FlowConfig::num_bins, 2, 1024);
    f.real("tail_bound", &FlowConfig::tail_bound, Interval::above(0));
    f.integer("hidden_width", &FlowConfig::hidden_width, 1, 8192);
    f.integer("hidden_layers", &FlowConfig::hidden_layers, 1, 64);
    f.real("leaky_relu_slope", &FlowConfig::leaky_relu_slope, Interval::half_open(0, 1));
    f.flag("conditioner_output_activation", &FlowConfig::conditioner_output_activation);
    f.real("min_bin_width", &FlowConfig::min_bin_width, Interval::at_least(0));
    f.real("min_bin_height", &FlowConfig::min_bin_height, Interval::at_least(0));
    f.real("min_derivative", &FlowConfig::min_derivative, Interval::at_least(0));
    f.plain("log_columns", &FlowConfig::log_columns);
    f.plain("condition_log_columns", &FlowConfig::condition_log_columns);
    f.plain("column_names", &FlowConfig::column_names);
    f.plain("condition_names", &FlowConfig::condition_names);
    return f;
  }();
  return table;
}

}  // namespace

FlowConfig FlowConfig::galactic_flow() {
  FlowConfig c;
  c.log_columns = {kColZ};
  c.condition_log_columns = {kCondMeanZ};
  c.column_names.assign(kColumnNames.begin(), kColumnNames.end());
  c.condition_names.assign(kConditionNames.begin(), kConditionNames.end());
  return c;
}

void FlowConfig::validate() const {
  fields().validate(*this);
  const auto k = static_cast<double>(num_bins);
  // The K bins share the unit interval with at least the minimum each.
  require(min_bin_width * k < 1, "FlowConfig: min_bin_width x num_bins must be below 1");
  require(min_bin_height * k < 1, "FlowConfig: min_bin_height x num_bins must be below 1");
  check_columns(log_columns, data_dim, "log_columns");
  check_columns(condition_log_columns, condition_dim, "condition_log_columns");
  require(column_names.empty() || static_cast<int64_t>(column_names.size()) == data_dim,
          "FlowConfig: column_names must be empty or have data_dim entries");
  require(condition_names.empty() || static_cast<int64_t>(condition_names.size()) == condition_dim,
          "FlowConfig: condition_names must be empty or have condition_dim entries");
}

std::string FlowConfig::to_json_text() const {
  return fields().write(*this).dump();
}

FlowConfig FlowConfig::from_json_text(const std::string& text) {
  return fields().parse(text);
}

void to_json(nlohmann::json& j, const FlowConfig& c) {
  j = fields().write(c);
}

void from_json(const nlohmann::json& j, FlowConfig& c) {
  FlowConfig out;
  fields().read(j, out);
  out.validate();
  c = std::move(out);
}

}  // namespace gml::flow
