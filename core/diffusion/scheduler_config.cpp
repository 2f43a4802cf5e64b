#include "core/diffusion/scheduler_config.h"

#include <nlohmann/json.hpp>

#include <set>

#include "core/common/config_fields.h"
#include "core/common/error.h"

namespace gml::diffusion {
namespace {

const EnumNames<SamplerKind> kClasses{
    {"EulerDiscreteScheduler", SamplerKind::Euler},
    {"EulerAncestralDiscreteScheduler", SamplerKind::EulerAncestral},
    {"DDIMScheduler", SamplerKind::Ddim},
    {"DPMSolverMultistepScheduler", SamplerKind::DpmSolverPP2M},
    {"DDPMScheduler", SamplerKind::Ddpm},
    {"PNDMScheduler", SamplerKind::Pndm}};
const EnumNames<BetaSchedule> kBetas{{"linear", BetaSchedule::Linear},
                                     {"scaled_linear", BetaSchedule::ScaledLinear},
                                     {"squaredcos_cap_v2", BetaSchedule::SquaredCosCapV2}};
const EnumNames<TimestepSpacing> kSpacings{{"linspace", TimestepSpacing::Linspace},
                                           {"leading", TimestepSpacing::Leading},
                                           {"trailing", TimestepSpacing::Trailing}};
const EnumNames<Prediction> kPredictions{{"epsilon", Prediction::Epsilon},
                                         {"v_prediction", Prediction::VPrediction}};

nlohmann::json parse(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    fail(Status::Format, source + ": scheduler config is not a JSON object");
  return j;
}

// The keys each sampler's constructor takes (what from_config reads).
std::set<std::string> keys_of(SamplerKind s) {
  std::set<std::string> k{"num_train_timesteps", "beta_start",    "beta_end",
                          "beta_schedule",       "trained_betas", "prediction_type",
                          "timestep_spacing",    "steps_offset",  "rescale_betas_zero_snr"};
  switch (s) {
    case SamplerKind::Euler:
      k.insert({"use_karras_sigmas", "interpolation_type", "timestep_type", "final_sigmas_type",
                "use_exponential_sigmas", "use_beta_sigmas"});
      break;
    case SamplerKind::EulerAncestral: break;
    case SamplerKind::Ddim:
      k.insert({"clip_sample", "clip_sample_range", "set_alpha_to_one", "thresholding"});
      break;
    case SamplerKind::Ddpm:
      k.insert({"clip_sample", "clip_sample_range", "thresholding", "variance_type"});
      break;
    case SamplerKind::Pndm:
      k.insert({"skip_prk_steps", "set_alpha_to_one"});
      k.erase("rescale_betas_zero_snr");
      break;
    case SamplerKind::DpmSolverPP2M:
      k.insert({"use_karras_sigmas", "thresholding", "algorithm_type", "solver_order",
                "solver_type", "lower_order_final", "euler_at_final", "final_sigmas_type",
                "variance_type", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
                "use_flow_sigmas", "lambda_min_clipped"});
      break;
  }
  return k;
}

// diffusers' constructor defaults of each sampler.
NoiseScheduleConfig class_defaults(SamplerKind s) {
  NoiseScheduleConfig c;
  c.num_train_timesteps = 1000;
  c.beta_start = 0.0001;
  c.beta_end = 0.02;
  c.beta_schedule = BetaSchedule::Linear;
  c.steps_offset = 0;
  c.prediction = Prediction::Epsilon;
  c.clip_sample = s == SamplerKind::Ddim || s == SamplerKind::Ddpm;
  c.clip_sample_range = 1.0;
  c.set_alpha_to_one = s == SamplerKind::Ddim;
  c.use_karras_sigmas = false;
  const bool leading = s == SamplerKind::Ddim || s == SamplerKind::Ddpm || s == SamplerKind::Pndm;
  c.timestep_spacing = leading ? TimestepSpacing::Leading : TimestepSpacing::Linspace;
  return c;
}

}  // namespace

SamplerKind sampler_of_config(const std::string& json_text, const std::string& source) {
  const nlohmann::json j = parse(json_text, source);
  if (!j.contains("_class_name") || !j.at("_class_name").is_string())
    fail(Status::Format, source + ": scheduler config has no _class_name");
  const std::string name = j.at("_class_name");
  const auto kind = find_named(kClasses, name);
  if (!kind)
    fail(Status::Format,
         source + ": scheduler " + name + " is not implemented (" + enum_options(kClasses) + ")");
  return *kind;
}

NoiseScheduleConfig noise_schedule_for(SamplerKind sampler, const std::string& json_text,
                                       const std::string& source) {
  const nlohmann::json j = parse(json_text, source);
  const std::set<std::string> known = keys_of(sampler);
  NoiseScheduleConfig c = class_defaults(sampler);
  auto has = [&](const char* key) {
    return known.count(key) != 0 && j.contains(key) && !j.at(key).is_null();
  };
  auto where = [&](const char* key) { return source + ": scheduler config key " + key; };
  auto get = [&](const char* key, auto& out) {
    if (!has(key)) return false;
    try {
      out = j.at(key).get<std::remove_reference_t<decltype(out)>>();
    } catch (const nlohmann::json::exception&) {
      fail(Status::Format, where(key) + " has the wrong type");
    }
    return true;
  };
  auto choose = [&](const char* key, const auto& names, auto& out) {
    std::string text;
    if (!get(key, text)) return;
    const auto v = find_named(names, text);
    if (!v)
      fail(Status::Format,
           where(key) + " = \"" + text + "\" is not implemented (" + enum_options(names) + ")");
    out = *v;
  };
  // Values this engine does not implement: refused rather than ignored,
  // since ignoring them would sample a different model.
  auto require_value = [&](const char* key, const nlohmann::json& allowed) {
    if (has(key) && j.at(key) != allowed)
      fail(Status::Format, where(key) + " = " + j.at(key).dump() + " is not implemented (only " +
                               allowed.dump() + ")");
  };

  get("num_train_timesteps", c.num_train_timesteps);
  get("beta_start", c.beta_start);
  get("beta_end", c.beta_end);
  choose("beta_schedule", kBetas, c.beta_schedule);
  choose("timestep_spacing", kSpacings, c.timestep_spacing);
  choose("prediction_type", kPredictions, c.prediction);
  get("steps_offset", c.steps_offset);
  get("clip_sample", c.clip_sample);
  get("clip_sample_range", c.clip_sample_range);
  get("set_alpha_to_one", c.set_alpha_to_one);
  get("use_karras_sigmas", c.use_karras_sigmas);
  if (has("trained_betas")) fail(Status::Format, where("trained_betas") + " is not implemented");
  require_value("rescale_betas_zero_snr", false);
  require_value("thresholding", false);
  require_value("use_exponential_sigmas", false);
  require_value("use_beta_sigmas", false);
  require_value("use_lu_lambdas", false);
  require_value("use_flow_sigmas", false);
  require_value("interpolation_type", "linear");
  require_value("timestep_type", "discrete");
  require_value("final_sigmas_type", "zero");
  require_value("algorithm_type", "dpmsolver++");
  require_value("solver_order", 2);
  require_value("solver_type", "midpoint");
  require_value("lower_order_final", true);
  require_value("euler_at_final", false);
  if (sampler == SamplerKind::Ddpm) require_value("variance_type", "fixed_small");
  if (sampler == SamplerKind::DpmSolverPP2M && has("variance_type"))
    fail(Status::Format, where("variance_type") + " (learned variance) is not implemented");
  // PNDM's Runge-Kutta warm-up is not implemented; Stable Diffusion skips it.
  if (sampler == SamplerKind::Pndm && !(has("skip_prk_steps") && j.at("skip_prk_steps") == true))
    fail(Status::Format,
         source + ": PNDM needs skip_prk_steps = true (the PRK warm-up is not implemented)");
  if (sampler == SamplerKind::Euler && c.use_karras_sigmas)
    fail(Status::Format, where("use_karras_sigmas") + " is implemented for dpmpp_2m only");
  try {
    c.validate();
  } catch (const Error& e) {
    fail(Status::Format, source + ": " + e.what());
  }
  return c;
}

}  // namespace gml::diffusion
