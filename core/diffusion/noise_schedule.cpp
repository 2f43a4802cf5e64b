#include "core/diffusion/noise_schedule.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "core/common/error.h"

namespace gml::diffusion {

void NoiseScheduleConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail(Status::InvalidArgument, "noise schedule: " + what);
  };
  need(num_train_timesteps >= 2 && num_train_timesteps <= 100000,
       "num_train_timesteps must be in [2, 100000]");
  need(std::isfinite(beta_start) && std::isfinite(beta_end) && beta_start > 0 &&
           beta_end >= beta_start && beta_end < 1,
       "betas must satisfy 0 < beta_start <= beta_end < 1");
  need(steps_offset >= 0 && steps_offset < num_train_timesteps, "steps_offset out of range");
  need(std::isfinite(clip_sample_range) && clip_sample_range > 0,
       "clip_sample_range must be positive");
}

at::Tensor alphas_cumprod(const NoiseScheduleConfig& config) {
  config.validate();
  const int64_t n = config.num_train_timesteps;
  at::Tensor betas;
  switch (config.beta_schedule) {
    case BetaSchedule::Linear:
      betas = at::linspace(config.beta_start, config.beta_end, n, at::kFloat);
      break;
    case BetaSchedule::ScaledLinear:
      betas = at::linspace(std::sqrt(config.beta_start), std::sqrt(config.beta_end), n, at::kFloat)
                  .pow(2);
      break;
    case BetaSchedule::SquaredCosCapV2: {
      // Nichol & Dhariwal 2021: alpha_bar(t) = cos^2((t + 0.008) / 1.008 pi/2),
      // beta_i = 1 - alpha_bar((i+1)/n) / alpha_bar(i/n), capped at 0.999.
      auto alpha_bar = [](double t) {
        const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
        return c * c;
      };
      std::vector<float> b(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const double t1 = static_cast<double>(i) / static_cast<double>(n);
        const double t2 = static_cast<double>(i + 1) / static_cast<double>(n);
        b[static_cast<size_t>(i)] =
            static_cast<float>(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
      }
      betas = at::tensor(b, at::kFloat);
      break;
    }
  }
  return at::cumprod(1.0 - betas, 0);
}

std::vector<double> spaced_timesteps(const NoiseScheduleConfig& config, int64_t steps,
                                     bool integral) {
  config.validate();
  const int64_t n_train = config.num_train_timesteps;
  if (steps < 1 || steps > n_train) {
    fail(Status::InvalidArgument,
         "steps must be in [1, " + std::to_string(n_train) + "], got " + std::to_string(steps));
  }
  std::vector<double> t;
  switch (config.timestep_spacing) {
    case TimestepSpacing::Linspace: {
      // numpy.linspace(0, T - 1, steps): start + k * step, the last exactly T - 1.
      const double last = static_cast<double>(n_train - 1);
      const double delta = steps > 1 ? last / static_cast<double>(steps - 1) : 0.0;
      for (int64_t k = steps - 1; k >= 0; --k) {
        double v = k == steps - 1 && steps > 1 ? last : static_cast<double>(k) * delta;
        v = integral ? std::nearbyint(v) : static_cast<double>(static_cast<float>(v));
        t.push_back(v);
      }
      break;
    }
    case TimestepSpacing::Leading: {
      const int64_t ratio = n_train / steps;
      for (int64_t k = steps - 1; k >= 0; --k) {
        t.push_back(static_cast<double>(k * ratio + config.steps_offset));
      }
      break;
    }
    case TimestepSpacing::Trailing: {
      // numpy.arange(T, 0, -T / steps), rounded half to even, minus one.
      const double ratio = static_cast<double>(n_train) / static_cast<double>(steps);
      const auto count = static_cast<int64_t>(std::ceil(-static_cast<double>(n_train) / -ratio));
      for (int64_t k = 0; k < count; ++k) {
        t.push_back(std::nearbyint(static_cast<double>(n_train) - static_cast<double>(k) * ratio) -
                    1);
      }
      break;
    }
  }
  // steps_offset can push leading timesteps past the schedule.
  for (const double v : t) {
    if (v < 0 || v > static_cast<double>(n_train - 1))
      fail(Status::InvalidArgument, "timestep " + std::to_string(static_cast<int64_t>(v)) +
                                        " (steps_offset " + std::to_string(config.steps_offset) +
                                        ") lies outside [0, " + std::to_string(n_train - 1) + "]");
  }
  return t;
}

}  // namespace gml::diffusion
