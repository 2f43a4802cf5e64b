// Samplers that turn a network's predictions into a denoising trajectory:
// Euler, Euler-ancestral (GalaxySD's, 40 steps), DDIM, DPM-Solver++(2M),
// DDPM and PNDM (Stable Diffusion 1.5's default), step for step as
// diffusers' EulerDiscreteScheduler, EulerAncestralDiscreteScheduler,
// DDIMScheduler, DPMSolverMultistepScheduler, DDPMScheduler and
// PNDMScheduler (skip_prk_steps) compute them
// (tests/golden/make_scheduler_golden.py).
//
// A loop:
//   s->set_timesteps(40);
//   x = noise * s->init_noise_sigma();
//   for (i = 0; i < s->steps(); ++i) {
//     eps = unet(s->scale_model_input(x, i), s->timesteps()[i]);
//     x = s->step(eps, i, x, s->stochastic() ? randn_like(x) : at::Tensor());
//   }
// The caller draws the noise, so a seed means the same images whatever the
// sampler, and tests can supply it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/diffusion/noise_schedule.h"

namespace gml::diffusion {

enum class SamplerKind { Euler, EulerAncestral, Ddim, DpmSolverPP2M, Ddpm, Pndm };

// "euler", "euler_a", "ddim", "dpmpp_2m", "ddpm", "pndm";
// Error(InvalidArgument) listing the names.
SamplerKind sampler_from_name(const std::string& name);
const char* sampler_name(SamplerKind kind);

class Scheduler {
 public:
  // eta: DDIM's share of fresh noise per step (0: deterministic DDIM,
  // 1: DDPM-like); ignored by the others. Throws Error(InvalidArgument) for
  // a bad config or eta outside [0, 1].
  static std::unique_ptr<Scheduler> create(SamplerKind kind, const NoiseScheduleConfig& config,
                                           double eta = 0.0);
  virtual ~Scheduler() = default;

  // Chooses the timesteps of a run of `steps` steps and forgets the last
  // run's history; must come before the rest. Error(InvalidArgument) for steps outside [1,
  // num_train_timesteps].
  void set_timesteps(int64_t steps);
  // Network evaluations of a run: the steps asked for, one more for PNDM.
  int64_t steps() const { return static_cast<int64_t>(timesteps_.size()); }
  // The steps asked for in set_timesteps().
  int64_t inference_steps() const { return inference_steps_; }
  // High to low; what the network is told at step i.
  const std::vector<double>& timesteps() const { return timesteps_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  // The noise level of each step and a final 0 (steps + 1 values) for the
  // samplers in sigma space; empty for DDIM.
  const std::vector<float>& sigmas() const { return sigmas_; }
  const NoiseScheduleConfig& config() const { return config_; }

  // img2img as diffusers defines `strength`: the run starts at step
  // steps - int(steps * strength) from the reference noised to that level.
  // Error(InvalidArgument) for strength outside [0, 1] or one that leaves
  // no step (int(steps * strength) = 0).
  int64_t first_step_for_strength(double strength) const;
  // x0 noised to the level the sampler expects at the start of step i.
  virtual at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, int64_t i) const = 0;

  // The standard deviation of the starting noise.
  virtual double init_noise_sigma() const = 0;
  // The network's input at step i for the current sample.
  virtual at::Tensor scale_model_input(const at::Tensor& sample, int64_t i) const = 0;
  // Whether step() adds fresh noise (then `noise` must be given, shaped as
  // the sample, standard normal).
  virtual bool stochastic() const = 0;
  // The sample after step i, from the network's prediction at step i.
  // Steps go in order from the first one run (0, or the img2img start):
  // multistep samplers keep earlier predictions.
  virtual at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                          const at::Tensor& noise) = 0;

 protected:
  explicit Scheduler(const NoiseScheduleConfig& config);
  // Sets timesteps_ (and sigmas_) for a run of `steps` steps and resets any
  // history.
  virtual void on_timesteps(int64_t steps) = 0;
  // i as an index of timesteps_; Error(InvalidArgument) before
  // set_timesteps() or outside [0, steps()).
  size_t checked_index(int64_t i) const;
  void check_step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) const;

  NoiseScheduleConfig config_;
  at::Tensor alphas_cumprod_;  // (T) float32
  std::vector<double> timesteps_;
  std::vector<float> sigmas_;
  int64_t inference_steps_ = 0;
};

}  // namespace gml::diffusion
