// Noise schedules and samplers against diffusers 0.42.1
// (tests/golden/make_scheduler_golden.py): alphas_cumprod, timesteps,
// sigmas, and every step of full loops for stored model outputs and noise.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/diffusion/noise_schedule.h"
#include "core/diffusion/scheduler.h"
#include "core/diffusion/scheduler_config.h"
#include "tests/diffusion/golden_compare.h"

namespace gml::diffusion {
namespace {

const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(GML_GOLDEN_DIR) + "/diffusion/schedulers.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

NoiseScheduleConfig config_of(const nlohmann::json& c) {
  NoiseScheduleConfig cfg;
  cfg.num_train_timesteps = c.at("num_train_timesteps");
  cfg.beta_start = c.at("beta_start");
  cfg.beta_end = c.at("beta_end");
  const std::string beta = c.at("beta_schedule");
  cfg.beta_schedule = beta == "linear"          ? BetaSchedule::Linear
                      : beta == "scaled_linear" ? BetaSchedule::ScaledLinear
                                                : BetaSchedule::SquaredCosCapV2;
  const std::string spacing = c.at("timestep_spacing");
  cfg.timestep_spacing = spacing == "linspace"  ? TimestepSpacing::Linspace
                         : spacing == "leading" ? TimestepSpacing::Leading
                                                : TimestepSpacing::Trailing;
  cfg.steps_offset = c.at("steps_offset");
  cfg.prediction =
      c.at("prediction_type") == "epsilon" ? Prediction::Epsilon : Prediction::VPrediction;
  cfg.clip_sample = c.value("clip_sample", false);
  cfg.set_alpha_to_one = c.value("set_alpha_to_one", false);
  cfg.use_karras_sigmas = c.value("use_karras_sigmas", false);
  return cfg;
}

at::Tensor tensor_of(const nlohmann::json& values, const std::vector<int64_t>& shape) {
  return at::tensor(values.get<std::vector<double>>(), at::kDouble).reshape(shape).to(at::kFloat);
}

TEST(Scheduler, EveryStepOfDiffusersLoopsForStoredOutputsAndNoise) {
  const std::vector<int64_t> shape = golden().at("shape").get<std::vector<int64_t>>();
  int cases = 0;
  for (const auto& c : golden().at("cases")) {
    const std::string name = c.at("scheduler");
    SCOPED_TRACE(name + " " + c.at("config").dump());
    // Keys the case leaves out take the sampler's diffusers defaults, as
    // the constructor there gave them.
    const SamplerKind kind = sampler_from_name(name);
    const NoiseScheduleConfig cfg = noise_schedule_for(kind, c.at("config").dump(), "case");
    auto s = Scheduler::create(kind, cfg, c.value("eta", 0.0));
    s->set_timesteps(c.at("steps"));

    EXPECT_LE(golden::relative_error(s->alphas_cumprod(), tensor_of(c.at("alphas_cumprod"), {-1})),
              1e-6);
    // Nine digits in the file: equal once both are float32, as diffusers keeps them.
    const std::vector<double> want_t = c.at("timesteps").get<std::vector<double>>();
    ASSERT_EQ(s->timesteps().size(), want_t.size());
    for (size_t i = 0; i < want_t.size(); ++i)
      EXPECT_EQ(static_cast<float>(s->timesteps()[i]), static_cast<float>(want_t[i])) << i;
    if (c.contains("sigmas")) {
      const std::vector<double> want = c.at("sigmas").get<std::vector<double>>();
      ASSERT_EQ(s->sigmas().size(), want.size());
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(s->sigmas()[i], want[i], 1e-6 * std::max(1.0, want[i])) << "sigma " << i;
    }
    EXPECT_NEAR(s->init_noise_sigma(), c.at("init_noise_sigma").get<double>(),
                1e-6 * c.at("init_noise_sigma").get<double>());

    at::Tensor x = tensor_of(c.at("initial"), shape);
    int64_t begin = 0;
    if (c.contains("strength")) {
      // img2img: the start and the noised reference as diffusers makes them.
      begin = s->first_step_for_strength(c.at("strength"));
      EXPECT_EQ(begin, c.at("begin").get<int64_t>());
      const at::Tensor noised =
          s->add_noise(tensor_of(c.at("x0"), shape), tensor_of(c.at("noise0"), shape), begin);
      EXPECT_LE(golden::relative_error(noised, x), 1e-6);
    }
    double worst = 0;
    for (int64_t i = begin; i < s->steps(); ++i) {
      const auto k = static_cast<size_t>(i - begin);
      // The scaling on diffusers' own sample, so that it is measured alone:
      // the drift of ours is the sample check's below.
      const at::Tensor theirs = k == 0 ? x : tensor_of(c.at("samples")[k - 1], shape);
      EXPECT_LE(golden::relative_error(s->scale_model_input(theirs, i),
                                       tensor_of(c.at("scaled_inputs")[k], shape)),
                1e-6)
          << "step " << i;
      const at::Tensor noise = tensor_of(c.at("noises")[k], shape);
      x = s->step(tensor_of(c.at("model_outputs")[k], shape), i, x,
                  s->stochastic() ? noise : at::Tensor());
      // Compared with diffusers' own sample at every step, then carried on
      // from ours: errors would grow along the loop if a formula were off.
      worst = std::max(worst, golden::relative_error(x, tensor_of(c.at("samples")[k], shape)));
    }
    EXPECT_LE(worst, 1e-6);
    ++cases;
  }
  EXPECT_EQ(cases, 24);
}

TEST(Scheduler, BadSettingsAreClearErrors) {
  NoiseScheduleConfig cfg;
  auto s = Scheduler::create(SamplerKind::EulerAncestral, cfg);
  EXPECT_THROW(s->set_timesteps(0), Error);
  EXPECT_THROW(s->set_timesteps(1001), Error);
  const at::Tensor x = at::zeros({1, 4, 8, 8});
  EXPECT_THROW(s->step(x, 0, x, x), Error);  // before set_timesteps
  EXPECT_THROW(s->init_noise_sigma(), Error);
  EXPECT_THROW(s->scale_model_input(x, 0), Error);
  EXPECT_THROW(s->add_noise(x, x, 0), Error);
  s->set_timesteps(10);
  EXPECT_THROW(s->step(x, 10, x, x), Error);
  EXPECT_THROW(s->add_noise(x, x, -1), Error);
  EXPECT_THROW(s->scale_model_input(x, 10), Error);
  EXPECT_THROW(s->step(x, 0, x, at::Tensor()), Error);  // ancestral needs noise
  EXPECT_THROW(s->step(x, 0, at::zeros({1, 4, 8, 4}), x), Error);
  EXPECT_THROW(s->first_step_for_strength(1.5), Error);
  EXPECT_THROW(s->first_step_for_strength(-0.1), Error);
  EXPECT_THROW(s->first_step_for_strength(0.05), Error);  // int(10 * 0.05) = 0 steps
  EXPECT_EQ(s->first_step_for_strength(1.0), 0);
  EXPECT_EQ(s->first_step_for_strength(0.3), 7);
  EXPECT_THROW(Scheduler::create(SamplerKind::Ddim, cfg, 1.5), Error);
  EXPECT_THROW(sampler_from_name("heun"), Error);
  {
    NoiseScheduleConfig shifted;
    shifted.steps_offset = 600;  // leading, 2 steps: 500 + 600 is past 999
    EXPECT_THROW(spaced_timesteps(shifted, 2, true), Error);
    EXPECT_NO_THROW(spaced_timesteps(shifted, 1, true));
  }
  cfg.beta_end = 1.5;
  EXPECT_THROW(Scheduler::create(SamplerKind::Euler, cfg), Error);
  try {
    sampler_from_name("dpm");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("euler_a"), std::string::npos) << e.what();
  }
}

// Each sampler reads a checkpoint's scheduler_config.json as diffusers'
// from_config does: the stored keys it knows over its own defaults.
TEST(SchedulerConfig, EachSamplerReadsStoredConfigsAsFromConfigDoes) {
  int cases = 0;
  for (const auto& c : golden().at("from_config")) {
    const std::string name = c.at("scheduler");
    SCOPED_TRACE(name + " from " + c.at("stored").get<std::string>());
    const std::string stored = c.at("stored");
    const SamplerKind kind = sampler_from_name(name);
    const NoiseScheduleConfig got = noise_schedule_for(kind, stored, "scheduler_config.json");
    const NoiseScheduleConfig want = config_of(c.at("config"));
    EXPECT_EQ(got.num_train_timesteps, want.num_train_timesteps);
    EXPECT_EQ(got.beta_start, want.beta_start);
    EXPECT_EQ(got.beta_end, want.beta_end);
    EXPECT_EQ(got.beta_schedule, want.beta_schedule);
    EXPECT_EQ(got.timestep_spacing, want.timestep_spacing);
    EXPECT_EQ(got.steps_offset, want.steps_offset);
    EXPECT_EQ(got.prediction, want.prediction);
    if (kind == SamplerKind::Ddim || kind == SamplerKind::Ddpm) {
      EXPECT_EQ(got.clip_sample, want.clip_sample);
    }
    if (kind == SamplerKind::Ddim || kind == SamplerKind::Pndm) {
      EXPECT_EQ(got.set_alpha_to_one, want.set_alpha_to_one);
    }
    auto s = Scheduler::create(kind, got);
    s->set_timesteps(40);
    const std::vector<double> want_t = c.at("timesteps").get<std::vector<double>>();
    ASSERT_EQ(s->timesteps().size(), want_t.size());
    for (size_t i = 0; i < want_t.size(); ++i)
      EXPECT_EQ(static_cast<float>(s->timesteps()[i]), static_cast<float>(want_t[i])) << i;
    ++cases;
  }
  EXPECT_EQ(cases, 12);
  const std::string sd15 = golden().at("from_config")[0].at("stored");
  EXPECT_EQ(sampler_of_config(sd15, "sd15"), SamplerKind::Pndm);
}

TEST(SchedulerConfig, WhatTheEngineDoesNotImplementIsRefusedByKey) {
  auto refused = [](SamplerKind kind, const std::string& json, const std::string& part) {
    try {
      noise_schedule_for(kind, json, "model/scheduler/scheduler_config.json");
      ADD_FAILURE() << json << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::Format);
      const std::string what = e.what();
      EXPECT_NE(what.find("model/scheduler/scheduler_config.json"), std::string::npos) << what;
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  };
  using K = SamplerKind;
  refused(K::Euler, "[1, 2]", "not a JSON object");
  refused(K::Euler, R"({"trained_betas": [0.1, 0.2]})", "trained_betas");
  refused(K::Ddim, R"({"rescale_betas_zero_snr": true})", "rescale_betas_zero_snr");
  refused(K::Ddim, R"({"thresholding": true})", "thresholding");
  refused(K::Ddim, R"({"prediction_type": "sample"})", "prediction_type");
  refused(K::Euler, R"({"beta_schedule": "sigmoid"})", "beta_schedule");
  refused(K::Euler, R"({"timestep_spacing": "karras"})", "timestep_spacing");
  refused(K::Euler, R"({"use_karras_sigmas": true})", "use_karras_sigmas");
  refused(K::Pndm, R"({"skip_prk_steps": false})", "skip_prk_steps");
  refused(K::Pndm, R"({})", "skip_prk_steps");
  refused(K::DpmSolverPP2M, R"({"algorithm_type": "sde-dpmsolver++"})", "algorithm_type");
  refused(K::DpmSolverPP2M, R"({"solver_order": 3})", "solver_order");
  refused(K::Ddpm, R"({"variance_type": "learned_range"})", "variance_type");
  refused(K::Euler, R"({"beta_start": "small"})", "wrong type");
  refused(K::Euler, R"({"beta_end": 2.0})", "beta");
  // Keys another sampler would read do not matter to this one.
  EXPECT_NO_THROW(noise_schedule_for(K::EulerAncestral, R"({"skip_prk_steps": false})", "x"));
  try {
    sampler_of_config(R"({"_class_name": "LMSDiscreteScheduler"})", "x");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("LMSDiscreteScheduler is not implemented"),
              std::string::npos);
  }
  EXPECT_THROW(sampler_of_config("{}", "x"), Error);
}

}  // namespace
}  // namespace gml::diffusion
