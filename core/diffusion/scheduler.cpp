#include "core/diffusion/scheduler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/common/config_fields.h"
#include "core/common/error.h"

namespace gml::diffusion {
namespace {

const EnumNames<SamplerKind> kSamplers{{"euler", SamplerKind::Euler},
                                       {"euler_a", SamplerKind::EulerAncestral},
                                       {"ddim", SamplerKind::Ddim}};

// Samplers in sigma space (Karras et al. 2022): x_sigma = x0 + sigma eps,
// sigma_t = sqrt((1 - abar_t) / abar_t), interpolated at the timesteps.
class SigmaScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;

  double init_noise_sigma() const override {
    const float top = *std::max_element(sigmas_.begin(), sigmas_.end());
    if (config_.timestep_spacing != TimestepSpacing::Leading) return top;
    return std::sqrt(top * top + 1.0f);
  }

  at::Tensor scale_model_input(const at::Tensor& sample, int64_t i) const override {
    const float s = sigmas_.at(static_cast<size_t>(i));
    return sample / std::sqrt(s * s + 1.0f);
  }

 protected:
  void on_timesteps() override {
    // diffusers: float32 sigmas, numpy.interp in float64, back to float32.
    const at::Tensor full = ((1 - alphas_cumprod_) / alphas_cumprod_).sqrt().contiguous();
    const float* f = full.data_ptr<float>();
    const int64_t last = full.numel() - 1;
    sigmas_.clear();
    for (const double t : timesteps_) {
      const auto j = std::min<int64_t>(static_cast<int64_t>(std::floor(t)), last);
      double v = f[j];
      if (j < last && t > static_cast<double>(j)) {
        v += (static_cast<double>(f[j + 1]) - f[j]) * (t - static_cast<double>(j));
      }
      sigmas_.push_back(static_cast<float>(v));
    }
    sigmas_.push_back(0.0f);
  }

  // x0 from the prediction at sigma.
  at::Tensor predicted_x0(const at::Tensor& model_output, const at::Tensor& sample,
                          float sigma) const {
    if (config_.prediction == Prediction::Epsilon) return sample - sigma * model_output;
    const float s2 = sigma * sigma + 1.0f;
    return model_output * (-sigma / std::sqrt(s2)) + sample / s2;
  }
};

class EulerScheduler final : public SigmaScheduler {
 public:
  using SigmaScheduler::SigmaScheduler;
  bool stochastic() const override { return false; }
  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) const override {
    check_step(model_output, i, sample, noise);
    const float sigma = sigmas_[static_cast<size_t>(i)];
    const at::Tensor derivative = (sample - predicted_x0(model_output, sample, sigma)) / sigma;
    return sample + derivative * (sigmas_[static_cast<size_t>(i) + 1] - sigma);
  }
};

// Euler to sigma_down, then fresh noise of sigma_up, sigma_down^2 +
// sigma_up^2 = sigma_next^2 (k-diffusion's ancestral step).
class EulerAncestralScheduler final : public SigmaScheduler {
 public:
  using SigmaScheduler::SigmaScheduler;
  bool stochastic() const override { return true; }
  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) const override {
    check_step(model_output, i, sample, noise);
    const float from = sigmas_[static_cast<size_t>(i)];
    const float to = sigmas_[static_cast<size_t>(i) + 1];
    const float up = std::sqrt(to * to * (from * from - to * to) / (from * from));
    const float down = std::sqrt(to * to - up * up);
    const at::Tensor derivative = (sample - predicted_x0(model_output, sample, from)) / from;
    return sample + derivative * (down - from) + noise * up;
  }
};

// Song et al. 2021, Eq. 12: x_prev = sqrt(abar_prev) x0 +
// sqrt(1 - abar_prev - s^2) eps + s z, s = eta sqrt(var_t).
class DdimScheduler final : public Scheduler {
 public:
  DdimScheduler(const NoiseScheduleConfig& config, double eta) : Scheduler(config), eta_(eta) {
    if (!(eta >= 0 && eta <= 1)) fail(Status::InvalidArgument, "DDIM eta must be in [0, 1]");
  }
  double init_noise_sigma() const override { return 1.0; }
  at::Tensor scale_model_input(const at::Tensor& sample, int64_t) const override { return sample; }
  bool stochastic() const override { return eta_ > 0; }

  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) const override {
    check_step(model_output, i, sample, noise);
    const auto t = static_cast<int64_t>(timesteps_[static_cast<size_t>(i)]);
    // diffusers steps back by T / steps whatever the spacing.
    const int64_t prev = t - config_.num_train_timesteps / steps();
    const float* ac = alphas_cumprod_.data_ptr<float>();
    const float a_t = ac[t];
    const float a_prev = prev >= 0 ? ac[prev] : (config_.set_alpha_to_one ? 1.0f : ac[0]);
    const float b_t = 1 - a_t;
    const float b_prev = 1 - a_prev;
    at::Tensor x0, eps;
    if (config_.prediction == Prediction::Epsilon) {
      x0 = (sample - std::sqrt(b_t) * model_output) / std::sqrt(a_t);
      eps = model_output;
    } else {
      x0 = std::sqrt(a_t) * sample - std::sqrt(b_t) * model_output;
      eps = std::sqrt(a_t) * model_output + std::sqrt(b_t) * sample;
    }
    if (config_.clip_sample) {
      const auto r = static_cast<float>(config_.clip_sample_range);
      // The noise prediction stays the network's (diffusers'
      // use_clipped_model_output = False).
      x0 = x0.clamp(-r, r);
    }
    const float variance = (b_prev / b_t) * (1 - a_t / a_prev);
    const float sd = static_cast<float>(eta_) * std::sqrt(variance);
    at::Tensor out = std::sqrt(a_prev) * x0 + std::sqrt(1 - a_prev - sd * sd) * eps;
    if (eta_ > 0) out = out + sd * noise;
    return out;
  }

 private:
  double eta_;
};

}  // namespace

SamplerKind sampler_from_name(const std::string& name) {
  return value_named(kSamplers, name, "sampler");
}

const char* sampler_name(SamplerKind kind) {
  return name_of(kSamplers, kind);
}

std::unique_ptr<Scheduler> Scheduler::create(SamplerKind kind, const NoiseScheduleConfig& config,
                                             double eta) {
  switch (kind) {
    case SamplerKind::Euler: return std::unique_ptr<Scheduler>(new EulerScheduler(config));
    case SamplerKind::EulerAncestral:
      return std::unique_ptr<Scheduler>(new EulerAncestralScheduler(config));
    case SamplerKind::Ddim: return std::unique_ptr<Scheduler>(new DdimScheduler(config, eta));
  }
  fail(Status::Internal, "unknown sampler");
}

Scheduler::Scheduler(const NoiseScheduleConfig& config)
    : config_(config), alphas_cumprod_(gml::diffusion::alphas_cumprod(config)) {}

void Scheduler::set_timesteps(int64_t steps) {
  timesteps_ = spaced_timesteps(config_, steps, dynamic_cast<DdimScheduler*>(this) != nullptr);
  on_timesteps();
}

void Scheduler::check_step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                           const at::Tensor& noise) const {
  require(!timesteps_.empty(), "scheduler: set_timesteps() must come first");
  require(i >= 0 && i < steps(), "scheduler: step index out of range");
  require(model_output.defined() && sample.defined() && model_output.sizes() == sample.sizes(),
          "scheduler: model output and sample must have the same shape");
  require(!stochastic() || (noise.defined() && noise.sizes() == sample.sizes()),
          "scheduler: this sampler needs noise shaped as the sample");
}

}  // namespace gml::diffusion
