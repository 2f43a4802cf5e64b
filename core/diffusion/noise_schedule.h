// The forward noising process of a diffusion model and the timesteps a
// sampler visits, as diffusers defines them (its scheduler_config.json
// fields), so that checkpoints trained with diffusers sample the same here.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace gml::diffusion {

enum class BetaSchedule { Linear, ScaledLinear, SquaredCosCapV2 };
// Table 2 of Lin et al. 2024, "Common diffusion noise schedules and sample
// steps are flawed".
enum class TimestepSpacing { Linspace, Leading, Trailing };
// What the network predicts: the noise, or v = alpha_t eps - sigma_t x0.
enum class Prediction { Epsilon, VPrediction };

// Defaults: Stable Diffusion 1.5's scheduler config.
struct NoiseScheduleConfig {
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.00085;
  double beta_end = 0.012;
  BetaSchedule beta_schedule = BetaSchedule::ScaledLinear;
  TimestepSpacing timestep_spacing = TimestepSpacing::Leading;
  int64_t steps_offset = 1;
  Prediction prediction = Prediction::Epsilon;
  bool clip_sample = false;        // DDIM: clamp the predicted x0 ...
  double clip_sample_range = 1.0;  // ... to [-range, range]
  bool set_alpha_to_one = false;   // DDIM: alpha_cumprod before t = 0 is 1 (else alphas_cumprod[0])
  bool use_karras_sigmas = false;  // DPM-Solver++: Karras et al. 2022 noise levels (rho 7)

  // Throws Error(InvalidArgument) naming the field at fault.
  void validate() const;
};

// Cumulative products of (1 - beta_t), (num_train_timesteps) float32,
// computed in float32 as diffusers does.
at::Tensor alphas_cumprod(const NoiseScheduleConfig& config);

// The `steps` timesteps a sampler visits, high to low, as the spacing puts
// them: integers for Leading and Trailing, fractional for Linspace unless
// `integral` (DDIM rounds them). Throws Error(InvalidArgument) for steps
// outside [1, num_train_timesteps].
std::vector<double> spaced_timesteps(const NoiseScheduleConfig& config, int64_t steps,
                                     bool integral);

}  // namespace gml::diffusion
