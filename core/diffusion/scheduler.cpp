#include "core/diffusion/scheduler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/common/config_fields.h"
#include "core/common/error.h"

namespace gml::diffusion {
namespace {

const EnumNames<SamplerKind> kSamplers{
    {"euler", SamplerKind::Euler}, {"euler_a", SamplerKind::EulerAncestral},
    {"ddim", SamplerKind::Ddim},   {"dpmpp_2m", SamplerKind::DpmSolverPP2M},
    {"ddpm", SamplerKind::Ddpm},   {"pndm", SamplerKind::Pndm}};

// sigma_t = sqrt((1 - abar_t) / abar_t) at each timestep, as diffusers
// computes it: float32 sigmas, numpy.interp in float64, back to float32.
std::vector<float> interpolated_sigmas(const at::Tensor& alphas_cumprod,
                                       const std::vector<double>& timesteps) {
  const at::Tensor full = ((1 - alphas_cumprod) / alphas_cumprod).sqrt().contiguous();
  const float* f = full.data_ptr<float>();
  const int64_t last = full.numel() - 1;
  std::vector<float> out;
  for (const double t : timesteps) {
    const auto j = std::min<int64_t>(static_cast<int64_t>(std::floor(t)), last);
    double v = f[j];
    if (j < last && t > static_cast<double>(j)) {
      v += (static_cast<double>(f[j + 1]) - f[j]) * (t - static_cast<double>(j));
    }
    out.push_back(static_cast<float>(v));
  }
  return out;
}

// x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, at integer timestep t.
at::Tensor noised_at(const at::Tensor& alphas_cumprod, const at::Tensor& x0,
                     const at::Tensor& noise, double timestep) {
  const float a = alphas_cumprod.data_ptr<float>()[static_cast<int64_t>(timestep)];
  return std::sqrt(a) * x0 + std::sqrt(1 - a) * noise;
}

// Samplers in sigma space (Karras et al. 2022): x_sigma = x0 + sigma eps,
// sigma_t = sqrt((1 - abar_t) / abar_t), interpolated at the timesteps.
class SigmaScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;

  double init_noise_sigma() const override {
    require(!sigmas_.empty(), "scheduler: set_timesteps() must come first");
    const float top = *std::max_element(sigmas_.begin(), sigmas_.end());
    if (config_.timestep_spacing != TimestepSpacing::Leading) return top;
    return std::sqrt(top * top + 1.0f);
  }

  at::Tensor scale_model_input(const at::Tensor& sample, int64_t i) const override {
    const float s = sigmas_[checked_index(i)];
    return sample / std::sqrt(s * s + 1.0f);
  }

  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, int64_t i) const override {
    return x0 + noise * sigmas_[checked_index(i)];
  }

 protected:
  void on_timesteps(int64_t steps) override {
    timesteps_ = spaced_timesteps(config_, steps, false);
    sigmas_ = interpolated_sigmas(alphas_cumprod_, timesteps_);
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
                  const at::Tensor& noise) override {
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
                  const at::Tensor& noise) override {
    check_step(model_output, i, sample, noise);
    const float from = sigmas_[static_cast<size_t>(i)];
    const float to = sigmas_[static_cast<size_t>(i) + 1];
    const float up = std::sqrt(to * to * (from * from - to * to) / (from * from));
    const float down = std::sqrt(to * to - up * up);
    const at::Tensor derivative = (sample - predicted_x0(model_output, sample, from)) / from;
    return sample + derivative * (down - from) + noise * up;
  }
};

// Samplers whose network input is the sample itself, starting from unit
// noise.
class UnitScaleScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;
  double init_noise_sigma() const override { return 1.0; }
  at::Tensor scale_model_input(const at::Tensor& sample, int64_t) const override { return sample; }
};

// Samplers in alpha space at integer timesteps (DDIM, DDPM, PNDM).
class AlphaScheduler : public UnitScaleScheduler {
 public:
  using UnitScaleScheduler::UnitScaleScheduler;
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, int64_t i) const override {
    return noised_at(alphas_cumprod_, x0, noise, timesteps_[checked_index(i)]);
  }

 protected:
  void on_timesteps(int64_t steps) override { timesteps_ = spaced_timesteps(config_, steps, true); }
};

// Song et al. 2021, Eq. 12: x_prev = sqrt(abar_prev) x0 +
// sqrt(1 - abar_prev - s^2) eps + s z, s = eta sqrt(var_t).
class DdimScheduler final : public AlphaScheduler {
 public:
  DdimScheduler(const NoiseScheduleConfig& config, double eta) : AlphaScheduler(config), eta_(eta) {
    if (!(eta >= 0 && eta <= 1)) fail(Status::InvalidArgument, "DDIM eta must be in [0, 1]");
  }
  bool stochastic() const override { return eta_ > 0; }

  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) override {
    check_step(model_output, i, sample, noise);
    const auto t = static_cast<int64_t>(timesteps_[static_cast<size_t>(i)]);
    // diffusers steps back by T / steps whatever the spacing.
    const int64_t prev = t - config_.num_train_timesteps / inference_steps();
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

// DPM-Solver++(2M), Lu et al. 2022, Algorithm 2 with the midpoint rule: a
// second-order multistep solver in lambda = log(alpha / sigma) on the x0
// predictions, first order for the first step and the last (final sigma 0).
class DpmSolverScheduler final : public UnitScaleScheduler {
 public:
  using UnitScaleScheduler::UnitScaleScheduler;
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, int64_t i) const override {
    const Levels l = levels(sigmas_[checked_index(i)]);
    return l.alpha * x0 + l.sigma * noise;
  }
  bool stochastic() const override { return false; }

  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) override {
    check_step(model_output, i, sample, noise);
    require(next_step_ < 0 || i == next_step_, "DPM-Solver++: steps must run in order");
    next_step_ = i + 1;
    const auto k = static_cast<size_t>(i);
    const Levels s0 = levels(sigmas_[k]);
    const Levels t = levels(sigmas_[k + 1]);
    // The network's prediction as x0.
    const at::Tensor x0 = config_.prediction == Prediction::Epsilon
                              ? (sample - s0.sigma * model_output) / s0.alpha
                              : s0.alpha * sample - s0.sigma * model_output;
    const double h = t.lambda - s0.lambda;
    const double decay = std::expm1(-h);
    // diffusers: first order at the start and always at the final step
    // (its sigma is 0); second order needs one earlier prediction.
    const bool first_order = !previous_.defined() || i == steps() - 1;
    at::Tensor out;
    if (first_order) {
      out = (t.sigma / s0.sigma) * sample - (t.alpha * decay) * x0;
    } else {
      const Levels s1 = levels(sigmas_[k - 1]);
      const double r0 = (s0.lambda - s1.lambda) / h;
      const at::Tensor d1 = (1.0 / r0) * (x0 - previous_);
      out = (t.sigma / s0.sigma) * sample - (t.alpha * decay) * x0 - 0.5 * (t.alpha * decay) * d1;
    }
    previous_ = x0;
    return out;
  }

 protected:
  void on_timesteps(int64_t n) override {
    const int64_t n_train = config_.num_train_timesteps;
    // Its own spacing: n + 1 points with the last (t = 0) dropped, except
    // trailing.
    if (config_.timestep_spacing == TimestepSpacing::Trailing) {
      timesteps_ = spaced_timesteps(config_, n, true);
    } else {
      require(n + 1 <= n_train, "steps must be below num_train_timesteps");
      timesteps_ = spaced_timesteps(config_, n + 1, true);
      timesteps_.pop_back();
    }
    if (!config_.use_karras_sigmas) {
      sigmas_ = interpolated_sigmas(alphas_cumprod_, timesteps_);
    } else {
      karras_levels(n);
    }
    sigmas_.push_back(0.0f);
    previous_ = at::Tensor();
    next_step_ = -1;
  }

 private:
  // In double: float32 coefficients, rounded op by op as diffusers rounds
  // them, still carried a 25-step Karras loop 1.08e-6 away from diffusers'
  // samples on one CPU; exact ones leave only the rounding of the tensor
  // arithmetic (7.2e-7 there).
  struct Levels {
    double alpha, sigma, lambda;
  };
  static Levels levels(float s) {
    const double alpha = 1.0 / std::sqrt(double{s} * s + 1.0);
    const double sigma = s * alpha;
    return {alpha, sigma, std::log(alpha) - std::log(sigma)};
  }

  // sigma_i = (smax^(1/rho) + i/(n-1) (smin^(1/rho) - smax^(1/rho)))^rho,
  // rho = 7, between the schedule's extreme sigmas; each timestep is where
  // the schedule's log sigma crosses it, rounded (except for the cosine
  // schedule, whose timesteps stay fractional).
  void karras_levels(int64_t n) {
    const at::Tensor full = ((1 - alphas_cumprod_) / alphas_cumprod_).sqrt().contiguous();
    const float* f = full.data_ptr<float>();
    const int64_t m = full.numel();
    std::vector<float> log_sigmas(static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j) log_sigmas[static_cast<size_t>(j)] = std::log(f[j]);
    const double smin = f[0], smax = f[m - 1], rho = 7.0;
    const double lo = std::pow(smin, 1 / rho), hi = std::pow(smax, 1 / rho);
    std::vector<double> sig;
    for (int64_t i = 0; i < n; ++i) {
      const double ramp = n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
      sig.push_back(std::pow(hi + ramp * (lo - hi), rho));
    }
    timesteps_.clear();
    sigmas_.clear();
    for (const double s : sig) {
      const double ls = std::log(std::max(s, 1e-10));
      int64_t low = 0;
      for (int64_t j = 0; j < m; ++j) {
        if (ls - static_cast<double>(log_sigmas[static_cast<size_t>(j)]) >= 0) low = j;
      }
      low = std::min(low, m - 2);
      const double a = log_sigmas[static_cast<size_t>(low)];
      const double b = log_sigmas[static_cast<size_t>(low + 1)];
      const double w = std::clamp((a - ls) / (a - b), 0.0, 1.0);
      const double t = (1 - w) * static_cast<double>(low) + w * static_cast<double>(low + 1);
      timesteps_.push_back(
          config_.beta_schedule == BetaSchedule::SquaredCosCapV2 ? t : std::nearbyint(t));
      sigmas_.push_back(static_cast<float>(s));
    }
  }

  int64_t next_step_ = -1;  // -1: the first step may be any (img2img)
  at::Tensor previous_;     // the last step's x0 prediction
};

// Ho et al. 2020 ancestral sampling on the visited timesteps, with the
// posterior variance beta~_t ("fixed_small"): x_prev ~ N(mu~(x_t, x0), beta~).
class DdpmScheduler final : public AlphaScheduler {
 public:
  using AlphaScheduler::AlphaScheduler;
  bool stochastic() const override { return true; }

  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) override {
    check_step(model_output, i, sample, noise);
    const auto k = static_cast<size_t>(i);
    const auto t = static_cast<int64_t>(timesteps_[k]);
    const int64_t prev = k + 1 < timesteps_.size() ? static_cast<int64_t>(timesteps_[k + 1]) : -1;
    const float* ac = alphas_cumprod_.data_ptr<float>();
    const float a_t = ac[t];
    const float a_prev = prev >= 0 ? ac[prev] : 1.0f;
    const float b_t = 1 - a_t;
    const float b_prev = 1 - a_prev;
    const float alpha = a_t / a_prev;
    const float beta = 1 - alpha;
    at::Tensor x0 = config_.prediction == Prediction::Epsilon
                        ? (sample - std::sqrt(b_t) * model_output) / std::sqrt(a_t)
                        : std::sqrt(a_t) * sample - std::sqrt(b_t) * model_output;
    if (config_.clip_sample) {
      const auto r = static_cast<float>(config_.clip_sample_range);
      x0 = x0.clamp(-r, r);
    }
    at::Tensor out =
        (std::sqrt(a_prev) * beta / b_t) * x0 + (std::sqrt(alpha) * b_prev / b_t) * sample;
    if (t > 0) out = out + std::sqrt(std::max(b_prev / b_t * beta, 1e-20f)) * noise;
    return out;
  }
};

// PNDM's pseudo linear multistep (Liu et al. 2022) as Stable Diffusion runs
// it (skip_prk_steps): the second timestep is visited twice, the first
// step's update corrected by the second prediction (Heun); after it, Adams-
// Bashforth combinations of up to four earlier noise predictions.
class PndmScheduler final : public AlphaScheduler {
 public:
  using AlphaScheduler::AlphaScheduler;
  bool stochastic() const override { return false; }

  at::Tensor step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                  const at::Tensor& noise) override {
    check_step(model_output, i, sample, noise);
    if (counter_ == 0) begin_ = i;
    require(i == begin_ + counter_, "PNDM: steps must run in order");
    auto t = static_cast<int64_t>(timesteps_[static_cast<size_t>(i)]);
    int64_t prev = t - config_.num_train_timesteps / inference_steps_;
    if (counter_ == 1) {
      prev = t;
      t += config_.num_train_timesteps / inference_steps_;
    } else {
      if (ets_.size() == 4) ets_.erase(ets_.begin());
      ets_.push_back(model_output);
    }
    at::Tensor eps;
    at::Tensor x = sample;
    const size_t n = ets_.size();
    if (n == 1 && counter_ == 0) {
      eps = model_output;
      first_sample_ = sample;
    } else if (n == 1 && counter_ == 1) {
      eps = (model_output + ets_.back()) / 2;
      x = first_sample_;
      first_sample_ = at::Tensor();
    } else if (n == 2) {
      eps = (3 * ets_[1] - ets_[0]) / 2;
    } else if (n == 3) {
      eps = (23 * ets_[2] - 16 * ets_[1] + 5 * ets_[0]) / 12;
    } else {
      eps = (1.0 / 24) * (55 * ets_[3] - 59 * ets_[2] + 37 * ets_[1] - 9 * ets_[0]);
    }
    ++counter_;
    return previous_sample(x, t, prev, eps);
  }

 protected:
  void on_timesteps(int64_t steps) override {
    // Ascending as PNDM builds them, then [t_n-1, t_n-2, t_n-2, ..., t_0].
    std::vector<double> up = spaced_timesteps(config_, steps, true);
    std::reverse(up.begin(), up.end());
    timesteps_.clear();
    for (size_t j = up.size(); j-- > 0;) {
      timesteps_.push_back(up[j]);
      if (j + 2 == up.size()) timesteps_.push_back(up[j]);
    }
    ets_.clear();
    first_sample_ = at::Tensor();
    counter_ = 0;
  }

 private:
  // Eq. 9 of Liu et al. (their phi), from x_t to x_prev along eps.
  at::Tensor previous_sample(const at::Tensor& x, int64_t t, int64_t prev, at::Tensor eps) const {
    const float* ac = alphas_cumprod_.data_ptr<float>();
    const float a_t = ac[t];
    const float a_prev = prev >= 0 ? ac[prev] : (config_.set_alpha_to_one ? 1.0f : ac[0]);
    const float b_t = 1 - a_t;
    const float b_prev = 1 - a_prev;
    if (config_.prediction == Prediction::VPrediction) {
      eps = std::sqrt(a_t) * eps + std::sqrt(b_t) * x;
    }
    const float denom = a_t * std::sqrt(b_prev) + std::sqrt(a_t * b_t * a_prev);
    return std::sqrt(a_prev / a_t) * x - (a_prev - a_t) * eps / denom;
  }

  int64_t begin_ = 0;            // the first step run
  int64_t counter_ = 0;          // steps run since
  std::vector<at::Tensor> ets_;  // the last four noise predictions
  at::Tensor first_sample_;
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
    case SamplerKind::DpmSolverPP2M:
      return std::unique_ptr<Scheduler>(new DpmSolverScheduler(config));
    case SamplerKind::Ddpm: return std::unique_ptr<Scheduler>(new DdpmScheduler(config));
    case SamplerKind::Pndm: return std::unique_ptr<Scheduler>(new PndmScheduler(config));
  }
  fail(Status::Internal, "unknown sampler");
}

Scheduler::Scheduler(const NoiseScheduleConfig& config)
    : config_(config), alphas_cumprod_(gml::diffusion::alphas_cumprod(config)) {}

void Scheduler::set_timesteps(int64_t steps) {
  inference_steps_ = steps;
  timesteps_.clear();
  sigmas_.clear();
  on_timesteps(steps);
}

int64_t Scheduler::first_step_for_strength(double strength) const {
  require(!timesteps_.empty(), "scheduler: set_timesteps() must come first");
  require(strength >= 0 && strength <= 1, "strength must be in [0, 1]");
  // diffusers counts in inference steps, which PNDM's repeated timestep
  // does not change: the run keeps the last int(steps * strength) of them.
  const int64_t steps = inference_steps();
  const auto kept = std::min(static_cast<int64_t>(static_cast<double>(steps) * strength), steps);
  require(kept > 0, "strength " + std::to_string(strength) + " leaves no step of " +
                        std::to_string(steps) + " (int(steps * strength) = 0)");
  return steps - kept;
}

size_t Scheduler::checked_index(int64_t i) const {
  require(!timesteps_.empty(), "scheduler: set_timesteps() must come first");
  require(i >= 0 && i < steps(), "scheduler: step index " + std::to_string(i) + " outside [0, " +
                                     std::to_string(steps()) + ")");
  return static_cast<size_t>(i);
}

void Scheduler::check_step(const at::Tensor& model_output, int64_t i, const at::Tensor& sample,
                           const at::Tensor& noise) const {
  checked_index(i);
  require(model_output.defined() && sample.defined() && model_output.sizes() == sample.sizes(),
          "scheduler: model output and sample must have the same shape");
  require(!stochastic() || (noise.defined() && noise.sizes() == sample.sizes()),
          "scheduler: this sampler needs noise shaped as the sample");
}

}  // namespace gml::diffusion
