// Per-column preprocessing of the flow: log10 on the configured columns, then
// a z-score. The transform is part of the density: its Jacobian enters
// log_prob so densities are in the user's original units.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace gml::flow {

class ColumnTransform {
 public:
  ColumnTransform() = default;
  // Identity statistics (mean 0, std 1) until fit() or set_statistics().
  ColumnTransform(int64_t dim, const std::vector<int64_t>& log_columns);

  // Fits mean/std of the (log-transformed) columns of `values` (N, dim).
  // Throws Error(InvalidArgument) on non-positive values in log columns,
  // non-finite values, or constant columns.
  void fit(const at::Tensor& values);

  struct Forward {
    at::Tensor values;      // (N, dim) normalised
    at::Tensor logabsdet;   // (N) log|det d values / d input|
    at::Tensor in_support;  // (N) bool: false where a log column is <= 0
  };
  // User units -> normalised. Rows outside the support get finite
  // placeholder values; callers mask them with in_support.
  Forward forward(const at::Tensor& x) const;
  // Normalised -> user units; returns (x, log|det dx/du| (N)).
  std::pair<at::Tensor, at::Tensor> inverse(const at::Tensor& u) const;

  int64_t dim() const { return dim_; }
  // Float64 CPU tensors of shape (dim); log10_flags is bool.
  const at::Tensor& mean() const { return mean_; }
  const at::Tensor& std() const { return std_; }
  const at::Tensor& log10_flags() const { return log_mask_; }
  // Throws Error(InvalidArgument) on a shape mismatch, non-positive std, or
  // flags that disagree with the configured log columns.
  void set_statistics(const at::Tensor& mean, const at::Tensor& std, const at::Tensor& log10_flags);

 private:
  int64_t dim_ = 0;
  at::Tensor mean_;
  at::Tensor std_;
  at::Tensor log_mask_;
};

}  // namespace gml::flow
