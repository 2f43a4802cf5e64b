#include "core/flow/normalization.h"

#include <torch/torch.h>

#include <cmath>

#include "core/common/error.h"

namespace gml::flow {
namespace {

const double kLn10 = std::log(10.0);

at::Tensor like(const at::Tensor& stat, const at::Tensor& x) {
  return stat.to(x.device(), x.scalar_type());
}

}  // namespace

ColumnTransform::ColumnTransform(int64_t dim, const std::vector<int64_t>& log_columns) : dim_(dim) {
  require(dim >= 1, "ColumnTransform: dim must be positive");
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  mean_ = at::zeros({dim}, f64);
  std_ = at::ones({dim}, f64);
  log_mask_ = at::zeros({dim}, at::TensorOptions().dtype(at::kBool));
  for (int64_t c : log_columns) {
    require(c >= 0 && c < dim, "ColumnTransform: log column out of range");
    log_mask_[c] = true;
  }
}

void ColumnTransform::fit(const at::Tensor& values) {
  require(values.dim() == 2 && values.size(1) == dim_ && values.size(0) >= 2,
          "ColumnTransform::fit: values must be (N >= 2, dim)");
  at::Tensor v = values.detach().to(at::kCPU, at::kDouble);
  require(at::isfinite(v).all().item<bool>(), "ColumnTransform::fit: non-finite values");
  const at::Tensor nonpositive = (v <= 0) & log_mask_.unsqueeze(0);
  require(!nonpositive.any().item<bool>(),
          "ColumnTransform::fit: non-positive value in a log10 column");
  v = at::where(log_mask_.unsqueeze(0), at::log10(v.clamp_min(1e-300)), v);
  const at::Tensor m = v.mean(0);
  const at::Tensor s = v.std(0);
  require((s > 0).all().item<bool>(), "ColumnTransform::fit: a column is constant");
  mean_ = m;
  std_ = s;
}

ColumnTransform::Forward ColumnTransform::forward(const at::Tensor& x) const {
  require(x.dim() == 2 && x.size(1) == dim_, "ColumnTransform: input must be (N, dim)");
  const at::Tensor mask = log_mask_.to(x.device()).unsqueeze(0);
  const at::Tensor bad = (x <= 0) & mask;
  // Only positive entries of log columns reach log10; everything else sees 1,
  // so no NaN or inf leaks into values or gradients of unselected branches.
  const at::Tensor safe = at::where(mask & (x > 0), x, at::ones_like(x));
  const at::Tensor logged = at::where(mask, at::log10(safe), x);
  // d log10(x)/dx = 1 / (x ln 10)
  const at::Tensor log_jac =
      at::where(mask, -at::log(safe) - std::log(kLn10), at::zeros_like(x)).sum(-1);
  const at::Tensor s = like(std_, x);
  Forward out;
  out.values = (logged - like(mean_, x)) / s;
  out.logabsdet = log_jac - s.log().sum();
  out.in_support = ~bad.any(-1);
  return out;
}

std::pair<at::Tensor, at::Tensor> ColumnTransform::inverse(const at::Tensor& u) const {
  require(u.dim() == 2 && u.size(1) == dim_, "ColumnTransform: input must be (N, dim)");
  const at::Tensor mask = log_mask_.to(u.device()).unsqueeze(0);
  const at::Tensor s = like(std_, u);
  const at::Tensor v = u * s + like(mean_, u);
  const at::Tensor x = at::where(mask, at::pow(10.0, at::where(mask, v, at::zeros_like(v))), v);
  // d 10^v / dv = 10^v ln 10, so log|.| = v ln 10 + log ln 10.
  const at::Tensor log_jac =
      at::where(mask, v * kLn10 + std::log(kLn10), at::zeros_like(v)).sum(-1);
  return {x, log_jac + s.log().sum()};
}

void ColumnTransform::set_statistics(const at::Tensor& mean, const at::Tensor& std,
                                     const at::Tensor& log10_flags) {
  require(mean.defined() && std.defined() && log10_flags.defined(),
          "ColumnTransform: undefined statistics");
  require(mean.numel() == dim_ && std.numel() == dim_ && log10_flags.numel() == dim_,
          "ColumnTransform: statistics must have one entry per column");
  at::Tensor m = mean.detach().to(at::kCPU, at::kDouble).reshape({dim_});
  at::Tensor s = std.detach().to(at::kCPU, at::kDouble).reshape({dim_});
  at::Tensor f = log10_flags.detach().to(at::kCPU, at::kBool).reshape({dim_});
  require(at::isfinite(m).all().item<bool>() && (s > 0).all().item<bool>() &&
              at::isfinite(s).all().item<bool>(),
          "ColumnTransform: means must be finite and stds positive");
  require(at::equal(f, log_mask_), "ColumnTransform: log10 flags disagree with the config");
  mean_ = m.clone();
  std_ = s.clone();
}

}  // namespace gml::flow
