#include "core/flow/lu_linear.h"

#include <torch/torch.h>

#include "core/common/error.h"

namespace gml::flow {

LULinearImpl::LULinearImpl(int64_t dim, at::Generator generator) : dim_(dim) {
  require(dim >= 1, "LULinear: dim must be positive");
  // QR of a Gaussian matrix with the signs of R's diagonal folded into Q gives
  // a Haar-distributed orthogonal matrix.
  at::Tensor gaussian = at::randn({dim, dim}, generator, at::TensorOptions().dtype(at::kDouble));
  auto [q, r] = at::linalg_qr(gaussian);
  q = q * at::sign(r.diagonal()).unsqueeze(0);
  auto [p, l, u] = at::linalg_lu(q);
  const at::Tensor s = u.diagonal();
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  permutation_ = register_buffer("permutation", p.to(opts));
  sign_s_ = register_buffer("sign_s", at::sign(s).to(opts));
  const at::Tensor li = at::tril_indices(dim, dim, -1, at::TensorOptions().dtype(at::kLong));
  const at::Tensor ui = at::triu_indices(dim, dim, 1, at::TensorOptions().dtype(at::kLong));
  lower_ = register_parameter("lower", l.index({li[0], li[1]}).to(opts));
  upper_ = register_parameter("upper", u.index({ui[0], ui[1]}).to(opts));
  log_s_ = register_parameter("log_s", s.abs().log().to(opts));
}

// The triangular index sets are rebuilt per call rather than stored as
// buffers: Module::to(dtype) would cast integer buffers to floating point.
at::Tensor LULinearImpl::lower_factor() const {
  const at::Tensor idx =
      at::tril_indices(dim_, dim_, -1, lower_.options().dtype(at::kLong).requires_grad(false));
  return at::eye(dim_, lower_.options()).index_put({idx[0], idx[1]}, lower_);
}

at::Tensor LULinearImpl::upper_factor() const {
  const at::Tensor idx =
      at::triu_indices(dim_, dim_, 1, upper_.options().dtype(at::kLong).requires_grad(false));
  return at::diag(sign_s_ * log_s_.exp()).index_put({idx[0], idx[1]}, upper_);
}

at::Tensor LULinearImpl::weight() const {
  return permutation_.matmul(lower_factor()).matmul(upper_factor());
}

at::Tensor LULinearImpl::logabsdet() const {
  return log_s_.sum();
}

std::pair<at::Tensor, at::Tensor> LULinearImpl::forward(const at::Tensor& x) {
  require(x.dim() == 2 && x.size(1) == dim_, "LULinear: input must be (N, dim)");
  at::Tensor y = x.matmul(weight().t());
  return {y, logabsdet().expand({x.size(0)})};
}

std::pair<at::Tensor, at::Tensor> LULinearImpl::inverse(const at::Tensor& y) {
  require(y.dim() == 2 && y.size(1) == dim_, "LULinear: input must be (N, dim)");
  if (!at::GradMode::is_enabled()) {
    // Inference: invert the small (dim, dim) matrix once and apply it with
    // one matrix product, instead of two triangular solves over all rows.
    const at::Tensor inv = at::linalg_inv(weight().to(at::kDouble)).to(y.scalar_type());
    return {y.matmul(inv.t()), (-logabsdet()).expand({y.size(0)})};
  }
  // Row form of x = U^-1 L^-1 P^T y: X = Y P L^-T U^-T, solved from the right.
  at::Tensor a = y.matmul(permutation_);
  at::Tensor b = at::linalg_solve_triangular(lower_factor().t(), a, /*upper=*/true,
                                             /*left=*/false, /*unitriangular=*/true);
  at::Tensor x = at::linalg_solve_triangular(upper_factor().t(), b, /*upper=*/false,
                                             /*left=*/false);
  return {x, (-logabsdet()).expand({y.size(0)})};
}

}  // namespace gml::flow
