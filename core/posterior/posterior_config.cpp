#include "core/posterior/posterior_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/common/error.h"
#include "core/common/json_field.h"
#include "core/common/rq_spline.h"

namespace gml::posterior {

const char* estimator_name(Estimator e) {
  return e == Estimator::Maf ? "maf" : "nsf";
}

Estimator estimator_from_name(const std::string& name) {
  if (name == "maf") return Estimator::Maf;
  if (name == "nsf") return Estimator::Nsf;
  fail(Status::InvalidArgument, "unknown posterior estimator '" + name + "' (maf or nsf)");
}

int64_t PosteriorConfig::made_multiplier() const {
  return estimator == Estimator::Maf ? 2 : rq_spline_param_count(num_bins);
}

void PosteriorConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail(Status::InvalidArgument, "PosteriorConfig: " + what);
  };
  // Upper bounds far above any useful estimator: a damaged or hand-edited
  // config must fail here, before the network it describes is allocated.
  need(theta_dim >= 1 && theta_dim <= 1024, "theta_dim must be in [1, 1024]");
  need(x_dim >= 1 && x_dim <= 16384, "x_dim must be in [1, 16384]");
  need(num_blocks >= 1 && num_blocks <= 256, "num_blocks must be in [1, 256]");
  need(hidden_width >= 1 && hidden_width <= 8192, "hidden_width must be in [1, 8192]");
  need(made_blocks >= 0 && made_blocks <= 64, "made_blocks must be in [0, 64]");
  need(num_bins >= 2 && num_bins <= 64, "num_bins must be in [2, 64]");
  need(tail_bound > 0, "tail_bound must be positive");
  need(prior_lower.size() == prior_upper.size(), "prior_lower and prior_upper differ in length");
  need(prior_lower.empty() || static_cast<int64_t>(prior_lower.size()) == theta_dim,
       "prior bounds need one value per theta dimension");
  for (size_t i = 0; i < prior_lower.size(); ++i) {
    need(!std::isnan(prior_lower[i]) && !std::isnan(prior_upper[i]) &&
             prior_lower[i] < prior_upper[i],
         "prior bound " + std::to_string(i) + " must satisfy lower < upper");
  }
  need(theta_names.empty() || static_cast<int64_t>(theta_names.size()) == theta_dim,
       "theta_names needs one name per theta dimension");
  need(x_names.empty() || static_cast<int64_t>(x_names.size()) == x_dim,
       "x_names needs one name per x dimension");
  need(observation.empty() || (observation == "sed_ugriz" && x_dim == 11),
       "observation must be empty or \"sed_ugriz\" (with x_dim 11)");
}

std::string PosteriorConfig::to_json_text() const {
  nlohmann::json j{{"estimator", estimator_name(estimator)},
                   {"theta_dim", theta_dim},
                   {"x_dim", x_dim},
                   {"num_blocks", num_blocks},
                   {"hidden_width", hidden_width},
                   {"made_blocks", made_blocks},
                   {"activation", activation == Activation::Tanh ? "tanh" : "relu"},
                   {"num_bins", num_bins},
                   {"tail_bound", tail_bound},
                   {"prior_lower", prior_lower},
                   {"prior_upper", prior_upper},
                   {"theta_names", theta_names},
                   {"x_names", x_names},
                   {"observation", observation}};
  return j.dump();
}

PosteriorConfig PosteriorConfig::from_json_text(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, std::string("PosteriorConfig: invalid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(Status::Format, "PosteriorConfig: JSON must be an object");
  static const std::set<std::string> known = {
      "estimator",   "theta_dim",   "x_dim",    "num_blocks", "hidden_width",
      "made_blocks", "activation",  "num_bins", "tail_bound", "prior_lower",
      "prior_upper", "theta_names", "x_names",  "observation"};
  for (const auto& item : j.items()) {
    if (!known.count(item.key())) {
      fail(Status::Format, "PosteriorConfig: unknown key " + item.key());
    }
  }
  PosteriorConfig c;
  try {
    auto get = [&j](const char* key, auto& field) {
      read_json_field(j, key, field, "PosteriorConfig");
    };
    std::string estimator = "maf", activation = "tanh";
    get("estimator", estimator);
    get("activation", activation);
    c.estimator = estimator_from_name(estimator);
    if (activation != "tanh" && activation != "relu") {
      fail(Status::Format, "PosteriorConfig: activation must be tanh or relu");
    }
    c.activation = activation == "tanh" ? Activation::Tanh : Activation::Relu;
    get("theta_dim", c.theta_dim);
    get("x_dim", c.x_dim);
    get("num_blocks", c.num_blocks);
    get("hidden_width", c.hidden_width);
    get("made_blocks", c.made_blocks);
    get("num_bins", c.num_bins);
    get("tail_bound", c.tail_bound);
    get("prior_lower", c.prior_lower);
    get("prior_upper", c.prior_upper);
    get("theta_names", c.theta_names);
    get("x_names", c.x_names);
    get("observation", c.observation);
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, std::string("PosteriorConfig: wrong type in JSON: ") + e.what());
  }
  c.validate();
  return c;
}

}  // namespace gml::posterior
