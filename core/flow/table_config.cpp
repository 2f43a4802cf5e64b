#include "core/flow/table_config.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/common/error.h"

namespace gml::flow {

FlowConfig config_for_table(const StarTable& t, const std::string& overrides) {
  FlowConfig c = FlowConfig::galactic_flow();
  const auto data_dim = static_cast<int64_t>(t.columns.size());
  const auto cond_dim = static_cast<int64_t>(t.condition_names.size());
  if (t.columns != c.column_names || t.condition_names != c.condition_names) {
    c.data_dim = data_dim;
    c.condition_dim = cond_dim;
    c.column_names = t.columns;
    c.condition_names = t.condition_names;
    c.log_columns.clear();
    c.condition_log_columns.clear();
    auto positive_log = [](const std::string& name) {
      std::string n = name;
      std::transform(n.begin(), n.end(), n.begin(), ::tolower);
      return n == "z" || n == "mass" || n == "metallicity" || n == "mean_z" || n == "z_metal";
    };
    for (int64_t j = 0; j < data_dim; ++j) {
      if (positive_log(t.columns[j]) && (t.data.select(1, j) > 0).all().item<bool>()) {
        c.log_columns.push_back(j);
      }
    }
    for (int64_t j = 0; j < cond_dim; ++j) {
      if (positive_log(t.condition_names[j]) &&
          (t.galaxy_conditions.select(1, j) > 0).all().item<bool>()) {
        c.condition_log_columns.push_back(j);
      }
    }
  }
  if (!overrides.empty()) {
    nlohmann::json j = nlohmann::json::parse(c.to_json_text());
    nlohmann::json patch;
    try {
      patch = nlohmann::json::parse(overrides);
    } catch (const std::exception& e) {
      fail(Status::InvalidArgument, std::string("config_json is not JSON: ") + e.what());
    }
    require(patch.is_object(), "config_json must be a JSON object");
    j.merge_patch(patch);
    // The text came from the caller: a bad field is an invalid argument, not
    // a damaged file.
    try {
      c = FlowConfig::from_json_text(j.dump());
    } catch (const gml::Error& e) {
      fail(Status::InvalidArgument, std::string("config_json: ") + e.what());
    }
  }
  return c;
}

}  // namespace gml::flow
