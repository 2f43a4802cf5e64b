#include "core/posterior/posterior_flow.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/common/error.h"
#include "core/common/rq_spline.h"
#include "core/posterior/spline_coupling.h"

namespace gml::posterior {
namespace {

const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);

// nflows' affine MAF (0.14): scale = softplus(s) + 1e-3, bounded below so
// the inverse stays finite.
at::Tensor affine_scale(const at::Tensor& unconstrained) {
  return at::softplus(unconstrained) + 1e-3;
}

}  // namespace

PosteriorFlowImpl::PosteriorFlowImpl(const PosteriorConfig& config, uint64_t seed)
    : config_(config) {
  config_.validate();
  at::Generator gen = at::detail::createCPUGenerator(seed);
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  if (config_.coupling) {
    SplineCouplingShape shape;
    shape.features = config_.theta_dim;
    shape.context = config_.x_dim;
    shape.hidden = config_.hidden_width;
    shape.residual_blocks = config_.made_blocks;
    shape.bins = config_.num_bins;
    shape.tail_bound = config_.tail_bound;
    shape.activation = config_.activation;
    for (int64_t b = 0; b < config_.num_blocks; ++b) {
      shape.even = b % 2 == 0;
      blocks_->push_back(SplineCoupling(shape, gen));
    }
  } else {
    MadeShape shape;
    shape.features = config_.theta_dim;
    shape.context = config_.x_dim;
    shape.hidden = config_.hidden_width;
    shape.blocks = config_.made_blocks;
    shape.multiplier = config_.made_multiplier();
    shape.activation = config_.activation;
    for (int64_t b = 0; b < config_.num_blocks; ++b) {
      blocks_->push_back(Made(shape, gen));
      // A MADE's first output sees no hidden unit, so the parameter that comes
      // first in a block is transformed there without x. A permutation that
      // keeps it first leaves it so in the next block too: with theta_dim = 2
      // and identity permutations throughout (one seed in 2^num_blocks), the
      // posterior of theta_0 ignored x. Redrawn until another parameter leads.
      const auto as_long = at::TensorOptions().dtype(at::kLong);
      at::Tensor perm = at::randperm(config_.theta_dim, gen, as_long);
      while (config_.theta_dim > 1 && perm[0].item<int64_t>() == 0) {
        perm = at::randperm(config_.theta_dim, gen, as_long);
      }
      // Module::to(dtype) would cast integer buffers, so indices are stored as
      // exact small floats.
      permutations_.push_back(
          register_buffer("permutation" + std::to_string(b), perm.to(at::kFloat)));
    }
  }
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  // Plain members, not buffers: the model file keeps them in its
  // normalization group, and Module::to(dtype) must not round them.
  theta_mean_ = at::zeros({config_.theta_dim}, f64);
  theta_std_ = at::ones({config_.theta_dim}, f64);
  x_mean_ = at::zeros({config_.x_dim}, f64);
  x_std_ = at::ones({config_.x_dim}, f64);
  if (config_.bounded_theta) {
    const Prior prior = config_.prior_distribution();
    lower_ = at::tensor(prior.support_lower(), f64);
    upper_ = at::tensor(prior.support_upper(), f64);
    const at::Tensor has_lower = at::isfinite(lower_), has_upper = at::isfinite(upper_);
    both_ = has_lower & has_upper;
    below_ = has_lower & ~has_upper;
    above_ = ~has_lower & has_upper;
  }
}

int64_t PosteriorFlowImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

void PosteriorFlowImpl::fit_normalization(const at::Tensor& theta, const at::Tensor& x) {
  require(theta.dim() == 2 && theta.size(1) == config_.theta_dim && x.dim() == 2 &&
              x.size(1) == config_.x_dim && theta.size(0) == x.size(0) && theta.size(0) >= 2,
          "fit_normalization: theta (N, D) and x (N, C) with the same N >= 2");
  torch::NoGradGuard no_grad;
  auto fit = [](const at::Tensor& v, at::Tensor& mean, at::Tensor& std) {
    const at::Tensor d = v.to(at::kCPU, at::kDouble);
    require(at::isfinite(d).all().item<bool>(), "fit_normalization: non-finite values");
    at::Tensor s = d.std(0);
    s = at::where(s > 0, s, at::ones_like(s));
    mean.copy_(d.mean(0));
    std.copy_(s);
  };
  fit(to_unbounded(theta.to(at::kCPU), nullptr), theta_mean_, theta_std_);
  fit(x, x_mean_, x_std_);
}

std::map<std::string, at::Tensor> PosteriorFlowImpl::normalization_tensors() const {
  return {{"theta_mean", theta_mean_.clone()},
          {"theta_std", theta_std_.clone()},
          {"x_mean", x_mean_.clone()},
          {"x_std", x_std_.clone()}};
}

void PosteriorFlowImpl::set_normalization_tensors(
    const std::map<std::string, at::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  auto set = [&tensors](const char* key, at::Tensor& dst) {
    auto it = tensors.find(key);
    if (it == tensors.end()) fail(Status::Format, std::string("posterior: missing ") + key);
    require(it->second.numel() == dst.numel(), std::string("posterior: wrong size of ") + key);
    dst.copy_(it->second.reshape(dst.sizes()));
  };
  set("theta_mean", theta_mean_);
  set("theta_std", theta_std_);
  set("x_mean", x_mean_);
  set("x_std", x_std_);
}

at::Tensor PosteriorFlowImpl::in_domain(const at::Tensor& theta) const {
  if (!config_.bounded_theta) return at::ones({theta.size(0)}, at::kBool);
  const at::Tensor t = theta.to(at::kCPU, at::kDouble);
  return ((t > lower_) & (t < upper_)).all(1);
}

at::Tensor PosteriorFlowImpl::to_unbounded(const at::Tensor& theta,
                                           at::Tensor* log_jacobian) const {
  const at::Tensor t = theta.to(at::kDouble);
  if (!config_.bounded_theta) return t;  // log_jacobian left undefined: zero
  const at::Tensor lo = lower_.to(t.device()), hi = upper_.to(t.device());
  const at::Tensor both = both_.to(t.device()), below = below_.to(t.device()),
                   above = above_.to(t.device());
  // Every branch is evaluated on every column; where() keeps the right one,
  // and the others' NaN from an infinite bound never reach the result.
  // Just inside a bound the differences can round to 0 (or u to 1): they
  // are kept off it, so a draw there has a finite density; points on or
  // beyond a bound get -inf from in_domain() in log_prob.
  const double tiny = std::numeric_limits<double>::min();
  const double below_one = 1.0 - std::numeric_limits<double>::epsilon() / 2;
  const at::Tensor width = hi - lo;
  const at::Tensor u = ((t - lo) / width).clamp(tiny, below_one);
  const at::Tensor log_u = at::log(u), log_1mu = at::log1p(-u);
  const at::Tensor from_lo = at::log((t - lo).clamp_min(tiny)),
                   to_hi = at::log((hi - t).clamp_min(tiny));
  const at::Tensor v =
      at::where(both, log_u - log_1mu, at::where(below, from_lo, at::where(above, to_hi, t)));
  if (log_jacobian) {
    const at::Tensor zero = at::zeros_like(t);
    *log_jacobian = at::where(both, -at::log(width) - log_u - log_1mu,
                              at::where(below, -from_lo, at::where(above, -to_hi, zero)))
                        .sum(1);
  }
  return v;
}

at::Tensor PosteriorFlowImpl::from_unbounded(const at::Tensor& v) const {
  if (!config_.bounded_theta) return v;
  const at::Tensor lo = lower_.to(v.device()), hi = upper_.to(v.device());
  const at::Tensor theta =
      at::where(both_.to(v.device()), lo + (hi - lo) * at::sigmoid(v),
                at::where(below_.to(v.device()), lo + at::exp(v),
                          at::where(above_.to(v.device()), hi - at::exp(v), v)));
  // sigmoid(v) rounds to 1 from v ~ 37 and exp(v) vanishes next to a bound,
  // which would put a draw on the bound, where the density is not defined:
  // such draws move to the nearest double inside.
  return at::maximum(at::minimum(theta, at::nextafter(hi, lo)), at::nextafter(lo, hi));
}

at::Tensor PosteriorFlowImpl::permutation(size_t block) const {
  return permutations_[block].to(at::kLong);
}

at::Tensor PosteriorFlowImpl::normalized_x(const at::Tensor& x) const {
  require(x.defined() && x.dim() == 2 && x.size(1) == config_.x_dim,
          "posterior: x must be (N, " + std::to_string(config_.x_dim) + ")");
  const at::Tensor w = blocks_->parameters().front();
  return ((x.to(at::kDouble) - x_mean_.to(x.device())) / x_std_.to(x.device()))
      .to(w.options().requires_grad(false));
}

at::Tensor PosteriorFlowImpl::log_prob(const at::Tensor& theta, const at::Tensor& x) {
  require(theta.defined() && theta.dim() == 2 && theta.size(1) == config_.theta_dim,
          "posterior: theta must be (N, " + std::to_string(config_.theta_dim) + ")");
  const at::Tensor c = normalized_x(x);
  require(c.size(0) == 1 || c.size(0) == theta.size(0), "posterior: x needs 1 or N rows");
  at::Tensor log_jacobian;
  const at::Tensor mapped = to_unbounded(theta, &log_jacobian);
  at::Tensor u = ((mapped - theta_mean_.to(theta.device())) / theta_std_.to(theta.device()))
                     .to(c.scalar_type());
  const int64_t n = u.size(0), d = config_.theta_dim;
  at::Tensor logdet = at::zeros({n}, u.options());
  for (size_t b = 0; b < blocks_->size(); ++b) {
    if (config_.coupling) {
      auto [v, ld] = blocks_->ptr<SplineCouplingImpl>(b)->forward(u, c);
      u = v;
      logdet = logdet + ld;
      continue;
    }
    const at::Tensor params = blocks_->ptr<MadeImpl>(b)->forward(u, c).view({n, d, -1});
    if (config_.estimator == Estimator::Maf) {
      const at::Tensor scale = affine_scale(params.select(2, 0));
      u = u * scale + params.select(2, 1);
      logdet = logdet + scale.log().sum(1);
    } else {
      RQSplineOptions opt;
      opt.tail_bound = config_.tail_bound;
      SplineResult r = rq_spline_packed(u, params, false, opt);
      u = r.outputs;
      logdet = logdet + r.logabsdet.sum(1);
    }
    u = u.index_select(1, permutation(b));
  }
  const double base = -kHalfLog2Pi * static_cast<double>(d);
  at::Tensor lp =
      -0.5 * u.pow(2).sum(1) + base + logdet - theta_std_.log().sum().to(u.scalar_type());
  if (!config_.bounded_theta) return lp;
  lp = lp + log_jacobian.to(lp.scalar_type());
  // Outside the bounds the density is zero (the mapping is NaN there).
  const at::Tensor inside = in_domain(theta).to(lp.device());
  return at::where(inside, lp, at::full_like(lp, -std::numeric_limits<double>::infinity()));
}

at::Tensor PosteriorFlowImpl::from_latent(const at::Tensor& z, const at::Tensor& x, bool naive,
                                          int64_t x_repeat) {
  require(z.dim() == 2 && z.size(1) == config_.theta_dim, "posterior: z must be (N, D)");
  const at::Tensor c = normalized_x(x);
  at::Tensor u = z.to(c.options());
  RQSplineOptions opt;
  opt.tail_bound = config_.tail_bound;
  const bool maf = config_.estimator == Estimator::Maf;
  auto solve = [&](int64_t, const at::Tensor& params, const at::Tensor& zi) -> at::Tensor {
    if (maf) return (zi - params.select(1, 1)) / affine_scale(params.select(1, 0));
    return rq_spline_packed(zi.unsqueeze(1), params.unsqueeze(1), true, opt).outputs.squeeze(1);
  };
  for (size_t b = blocks_->size(); b-- > 0;) {
    if (config_.coupling) {
      u = blocks_->ptr<SplineCouplingImpl>(b)->inverse(
          u, naive && x_repeat > 1 ? c.repeat_interleave(x_repeat, 0) : c, naive ? 1 : x_repeat);
      continue;
    }
    u = u.index_select(1, at::argsort(permutation(b)));
    auto* made = blocks_->ptr<MadeImpl>(b).get();
    if (naive) {
      u = made->invert_naive(u, x_repeat > 1 ? c.repeat_interleave(x_repeat, 0) : c, solve);
    } else {
      u = made->invert(u, c, solve, x_repeat);
    }
  }
  return from_unbounded(u.to(at::kDouble) * theta_std_.to(u.device()) + theta_mean_.to(u.device()));
}

at::Tensor PosteriorFlowImpl::sample(const at::Tensor& x, int64_t n, at::Generator generator,
                                     bool naive) {
  require(n >= 0, "posterior sample: n must be non-negative");
  require(x.dim() == 2 && x.size(1) == config_.x_dim, "posterior sample: x must be (G, C)");
  c10::InferenceMode guard;
  const int64_t g = x.size(0), d = config_.theta_dim;
  const at::Tensor z = at::randn({g * n, d}, generator, at::TensorOptions().dtype(at::kFloat));
  return from_latent(z, x, naive, n).view({g, n, d});
}

}  // namespace gml::posterior
