#include "core/flow/flow_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/common/error.h"
#include "core/common/json_field.h"
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
  // Upper bounds far above any useful flow: a damaged or hand-edited config
  // must fail here, before the network it describes is allocated.
  auto at_most = [](int64_t v, int64_t limit, const char* name) {
    require(v <= limit, std::string("FlowConfig: ") + name + " = " + std::to_string(v) +
                            " is above the limit of " + std::to_string(limit));
  };
  at_most(data_dim, 1024, "data_dim");
  at_most(condition_dim, 1024, "condition_dim");
  at_most(num_blocks, 256, "num_blocks");
  at_most(num_bins, 1024, "num_bins");
  at_most(hidden_width, 8192, "hidden_width");
  at_most(hidden_layers, 64, "hidden_layers");
  require(data_dim >= 2, "FlowConfig: data_dim must be at least 2 (coupling needs two halves)");
  require(condition_dim >= 1, "FlowConfig: condition_dim must be at least 1");
  require(num_blocks >= 1, "FlowConfig: num_blocks must be at least 1");
  require(num_bins >= 2, "FlowConfig: num_bins must be at least 2");
  require(tail_bound > 0, "FlowConfig: tail_bound must be positive");
  require(hidden_width >= 1, "FlowConfig: hidden_width must be positive");
  require(hidden_layers >= 1, "FlowConfig: hidden_layers must be at least 1");
  require(leaky_relu_slope >= 0 && leaky_relu_slope < 1,
          "FlowConfig: leaky_relu_slope must be in [0, 1)");
  const auto k = static_cast<double>(num_bins);
  require(min_bin_width > 0 && min_bin_width * k < 1, "FlowConfig: min_bin_width out of range");
  require(min_bin_height > 0 && min_bin_height * k < 1, "FlowConfig: min_bin_height out of range");
  require(min_derivative > 0, "FlowConfig: min_derivative must be positive");
  check_columns(log_columns, data_dim, "log_columns");
  check_columns(condition_log_columns, condition_dim, "condition_log_columns");
  require(column_names.empty() || static_cast<int64_t>(column_names.size()) == data_dim,
          "FlowConfig: column_names must be empty or have data_dim entries");
  require(condition_names.empty() || static_cast<int64_t>(condition_names.size()) == condition_dim,
          "FlowConfig: condition_names must be empty or have condition_dim entries");
}

std::string FlowConfig::to_json_text() const {
  nlohmann::json j;
  to_json(j, *this);
  return j.dump();
}

FlowConfig FlowConfig::from_json_text(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, std::string("FlowConfig: invalid JSON: ") + e.what());
  }
  FlowConfig c;
  from_json(j, c);
  return c;
}

void to_json(nlohmann::json& j, const FlowConfig& c) {
  j = nlohmann::json{{"data_dim", c.data_dim},
                     {"condition_dim", c.condition_dim},
                     {"num_blocks", c.num_blocks},
                     {"num_bins", c.num_bins},
                     {"tail_bound", c.tail_bound},
                     {"hidden_width", c.hidden_width},
                     {"hidden_layers", c.hidden_layers},
                     {"leaky_relu_slope", c.leaky_relu_slope},
                     {"min_bin_width", c.min_bin_width},
                     {"min_bin_height", c.min_bin_height},
                     {"min_derivative", c.min_derivative},
                     {"log_columns", c.log_columns},
                     {"condition_log_columns", c.condition_log_columns},
                     {"column_names", c.column_names},
                     {"condition_names", c.condition_names}};
}

void from_json(const nlohmann::json& j, FlowConfig& c) {
  if (!j.is_object()) fail(Status::Format, "FlowConfig: JSON must be an object");
  static const std::set<std::string> known = {"data_dim",
                                              "condition_dim",
                                              "num_blocks",
                                              "num_bins",
                                              "tail_bound",
                                              "hidden_width",
                                              "hidden_layers",
                                              "leaky_relu_slope",
                                              "min_bin_width",
                                              "min_bin_height",
                                              "min_derivative",
                                              "log_columns",
                                              "condition_log_columns",
                                              "column_names",
                                              "condition_names"};
  for (const auto& item : j.items()) {
    if (!known.count(item.key())) fail(Status::Format, "FlowConfig: unknown key " + item.key());
  }
  FlowConfig out;
  try {
    // Missing keys keep their defaults so older files with fewer fields load.
    auto get = [&j](const char* key, auto& field) { read_json_field(j, key, field, "FlowConfig"); };
    get("data_dim", out.data_dim);
    get("condition_dim", out.condition_dim);
    get("num_blocks", out.num_blocks);
    get("num_bins", out.num_bins);
    get("tail_bound", out.tail_bound);
    get("hidden_width", out.hidden_width);
    get("hidden_layers", out.hidden_layers);
    get("leaky_relu_slope", out.leaky_relu_slope);
    get("min_bin_width", out.min_bin_width);
    get("min_bin_height", out.min_bin_height);
    get("min_derivative", out.min_derivative);
    get("log_columns", out.log_columns);
    get("condition_log_columns", out.condition_log_columns);
    get("column_names", out.column_names);
    get("condition_names", out.condition_names);
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, std::string("FlowConfig: wrong type in JSON: ") + e.what());
  }
  out.validate();
  c = std::move(out);
}

}  // namespace gml::flow
