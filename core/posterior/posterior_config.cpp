#include "core/posterior/posterior_config.h"

#include <cmath>

#include "core/common/config_fields.h"
#include "core/common/error.h"
#include "core/common/rq_spline.h"

namespace gml::posterior {
namespace {

const EnumNames<Estimator> kEstimators{{"maf", Estimator::Maf}, {"nsf", Estimator::Nsf}};

// Upper bounds far above any useful estimator: a damaged or hand-edited
// config must fail before the network it describes is allocated.
const ConfigFields<PosteriorConfig>& fields() {
  using C = PosteriorConfig;
  static const ConfigFields<C> table = [] {
    ConfigFields<C> f("PosteriorConfig");
    f.choice("estimator", &C::estimator, kEstimators);
    f.integer("theta_dim", &C::theta_dim, 1, 1024);
    f.integer("x_dim", &C::x_dim, 1, 16384);
    f.integer("num_blocks", &C::num_blocks, 1, 256);
    f.integer("hidden_width", &C::hidden_width, 1, 8192);
    f.integer("made_blocks", &C::made_blocks, 0, 64);
    f.choice("activation", &C::activation,
             {{"tanh", Activation::Tanh}, {"relu", Activation::Relu}});
    f.integer("num_bins", &C::num_bins, 2, 64);
    f.real("tail_bound", &C::tail_bound, Interval::above(0));
    f.plain("prior_lower", &C::prior_lower);
    f.plain("prior_upper", &C::prior_upper);
    f.optional(
        "prior", &C::prior, +[](const Prior& p) { return !p.is_none(); });
    f.plain("theta_names", &C::theta_names);
    f.plain("x_names", &C::x_names);
    f.plain("observation", &C::observation);
    f.flag("bounded_theta", &C::bounded_theta);
    f.flag("coupling", &C::coupling);
    return f;
  }();
  return table;
}

}  // namespace

const char* estimator_name(Estimator e) {
  return name_of(kEstimators, e);
}

Estimator estimator_from_name(const std::string& name) {
  return value_named(kEstimators, name, "posterior estimator");
}

int64_t PosteriorConfig::made_multiplier() const {
  return estimator == Estimator::Maf ? 2 : rq_spline_param_count(num_bins);
}

void PosteriorConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail(Status::InvalidArgument, "PosteriorConfig: " + what);
  };
  fields().validate(*this);
  need(prior_lower.size() == prior_upper.size(), "prior_lower and prior_upper differ in length");
  need(prior_lower.empty() || static_cast<int64_t>(prior_lower.size()) == theta_dim,
       "prior bounds need one value per theta dimension");
  for (size_t i = 0; i < prior_lower.size(); ++i) {
    need(!std::isnan(prior_lower[i]) && !std::isnan(prior_upper[i]) &&
             prior_lower[i] < prior_upper[i],
         "prior bound " + std::to_string(i) + " must satisfy lower < upper");
  }
  need(prior.is_none() || prior.dim() == theta_dim, "the prior has " + std::to_string(prior.dim()) +
                                                        " parameters, theta_dim is " +
                                                        std::to_string(theta_dim));
  need(prior.is_none() || prior_lower.empty(), "both a prior box and a prior object are set");
  need(theta_names.empty() || static_cast<int64_t>(theta_names.size()) == theta_dim,
       "theta_names needs one name per theta dimension");
  need(x_names.empty() || static_cast<int64_t>(x_names.size()) == x_dim,
       "x_names needs one name per x dimension");
  need(observation.empty() || (observation == "sed_ugriz" && x_dim == 11),
       "observation must be empty or \"sed_ugriz\" (with x_dim 11)");
  need(!coupling || estimator == Estimator::Nsf, "coupling is an NSF layout");
  need(!bounded_theta || prior_distribution().bounded(),
       "bounded_theta needs a prior that bounds at least one parameter");
}

std::string PosteriorConfig::to_json_text() const {
  return fields().write(*this).dump();
}

PosteriorConfig PosteriorConfig::from_json_text(const std::string& text) {
  return fields().parse(text);
}

}  // namespace gml::posterior
