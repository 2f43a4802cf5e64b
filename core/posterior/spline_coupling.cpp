#include "core/posterior/spline_coupling.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/common/error.h"

namespace gml::posterior {
namespace {

// nflows' LULinear keeps the diagonal of U above this.
constexpr double kLuEps = 1e-3;

at::Tensor uniform_init(std::vector<int64_t> shape, double bound, at::Generator& gen) {
  return at::empty(shape).uniform_(-bound, bound, gen);
}

// h (N, H) plus (or times) the per-observation rows c (N / r, H) or (1, H).
at::Tensor add_per_observation(const at::Tensor& h, const at::Tensor& c, int64_t r) {
  if (r == 1 || c.size(0) == 1) return h + c;
  return (h.view({c.size(0), r, h.size(1)}) + c.unsqueeze(1)).view(h.sizes());
}
at::Tensor mul_per_observation(const at::Tensor& h, const at::Tensor& c, int64_t r) {
  if (r == 1 || c.size(0) == 1) return h * c;
  return (h.view({c.size(0), r, h.size(1)}) * c.unsqueeze(1)).view(h.sizes());
}

at::Tensor as_index(const std::vector<int64_t>& cols) {
  return at::tensor(cols, at::TensorOptions().dtype(at::kLong));
}

}  // namespace

SplineCouplingImpl::SplineCouplingImpl(const SplineCouplingShape& shape, at::Generator generator)
    : shape_(shape) {
  const int64_t d = shape.features, c = shape.context, h = shape.hidden;
  require(d >= 1 && c >= 1 && h >= 1 && shape.residual_blocks >= 0 && shape.bins >= 2,
          "spline coupling: features, context, hidden and bins must be positive");
  spline_.tail_bound = shape.tail_bound;
  for (int64_t i = 0; i < d; ++i) {
    // One dimension: it is transformed, by x alone.
    const bool transformed = d == 1 || (i % 2 == 0) == shape.even;
    (transformed ? transform_cols_ : identity_cols_).push_back(i);
  }
  const auto n_id = static_cast<int64_t>(identity_cols_.size());
  const auto n_out =
      static_cast<int64_t>(transform_cols_.size()) * rq_spline_param_count(shape.bins);
  auto linear = [&](const std::string& name, int64_t out, int64_t in, at::Tensor& w,
                    at::Tensor& b) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    w = register_parameter(name + "_weight", uniform_init({out, in}, bound, generator));
    b = register_parameter(name + "_bias", uniform_init({out}, bound, generator));
  };
  if (n_id == 0) {
    linear("initial", h, c, initial_w_, initial_b_);
    linear("hidden", h, h, hidden_w_, hidden_b_);
    linear("final", n_out, h, final_w_, final_b_);
    return;
  }
  linear("initial", h, n_id + c, initial_w_, initial_b_);
  for (int64_t k = 0; k < shape.residual_blocks; ++k) {
    const std::string p = "residual" + std::to_string(k) + "_";
    at::Tensor w, b;
    linear(p + "context", h, c, w, b);
    gate_w_.push_back(w);
    gate_b_.push_back(b);
    linear(p + "first", h, h, w, b);
    first_w_.push_back(w);
    first_b_.push_back(b);
    // Near zero, so each block starts close to the identity (nflows).
    second_w_.push_back(
        register_parameter(p + "second_weight", uniform_init({h, h}, 1e-3, generator)));
    second_b_.push_back(register_parameter(p + "second_bias", uniform_init({h}, 1e-3, generator)));
  }
  linear("final", n_out, h, final_w_, final_b_);
  const int64_t tri = d * (d - 1) / 2;
  lu_lower_ = register_parameter("lu_lower", at::zeros({tri}));
  lu_upper_ = register_parameter("lu_upper", at::zeros({tri}));
  lu_diag_ = register_parameter("lu_diag", at::full({d}, std::log(std::expm1(1.0 - kLuEps))));
  lu_bias_ = register_parameter("lu_bias", at::zeros({d}));
}

at::Tensor SplineCouplingImpl::act(const at::Tensor& t) const {
  return shape_.activation == Activation::Relu ? at::relu(t) : at::tanh(t);
}

at::Tensor SplineCouplingImpl::spline_parameters(const at::Tensor& identity,
                                                 const at::Tensor& context, int64_t r) {
  at::Tensor h;
  if (identity_cols_.empty()) {
    h = act(at::linear(context, initial_w_, initial_b_));
    h = act(at::linear(h, hidden_w_, hidden_b_));
    h = at::linear(h, final_w_, final_b_);
    if (r > 1) h = h.repeat_interleave(r, 0);
  } else {
    const int64_t n_id = identity.size(1);
    // W_in [theta_id, x] = W_id theta_id + W_x x: the x share once per observation.
    const at::Tensor from_x =
        at::linear(context, initial_w_.narrow(1, n_id, shape_.context), initial_b_);
    h = add_per_observation(at::matmul(identity, initial_w_.narrow(1, 0, n_id).t()), from_x, r);
    for (size_t k = 0; k < first_w_.size(); ++k) {
      at::Tensor t = at::linear(act(h), first_w_[k], first_b_[k]);
      t = at::linear(act(t), second_w_[k], second_b_[k]);
      h = h + mul_per_observation(t, at::sigmoid(at::linear(context, gate_w_[k], gate_b_[k])), r);
    }
    h = at::linear(h, final_w_, final_b_);
  }
  const int64_t k = shape_.bins;
  at::Tensor p = h.view({h.size(0), static_cast<int64_t>(transform_cols_.size()), 3 * k - 1});
  // nflows scales widths and heights by 1/sqrt(hidden) before the softmax.
  const double s = 1.0 / std::sqrt(static_cast<double>(shape_.hidden));
  return at::cat({p.narrow(2, 0, 2 * k) * s, p.narrow(2, 2 * k, k - 1)}, 2);
}

at::Tensor SplineCouplingImpl::lower() const {
  const int64_t d = shape_.features;
  const at::Tensor idx = at::tril_indices(d, d, -1, lu_lower_.options().dtype(at::kLong));
  return at::eye(d, lu_lower_.options()).index_put({idx[0], idx[1]}, lu_lower_);
}

at::Tensor SplineCouplingImpl::upper() const {
  const int64_t d = shape_.features;
  const at::Tensor idx = at::triu_indices(d, d, 1, lu_upper_.options().dtype(at::kLong));
  return at::diag(at::softplus(lu_diag_) + kLuEps).index_put({idx[0], idx[1]}, lu_upper_);
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::couple(const at::Tensor& v,
                                                             const at::Tensor& context, int64_t r,
                                                             bool inverse) {
  const at::Tensor ti = as_index(transform_cols_).to(v.device());
  const at::Tensor identity = identity_cols_.empty()
                                  ? at::Tensor()
                                  : v.index_select(1, as_index(identity_cols_).to(v.device()));
  at::Tensor params = spline_parameters(identity, context, r);
  // With one theta dimension the parameters come from x alone: one row of
  // x gives one row of parameters for every theta.
  if (params.size(0) != v.size(0)) params = params.expand({v.size(0), -1, -1});
  SplineResult s = rq_spline_packed(v.index_select(1, ti), params, inverse, spline_);
  return {v.index_copy(1, ti, s.outputs), s.logabsdet.sum(1)};
}

std::pair<at::Tensor, at::Tensor> SplineCouplingImpl::forward(const at::Tensor& v,
                                                              const at::Tensor& context,
                                                              int64_t r) {
  auto [y, logdet] = couple(v, context, r, false);
  if (identity_cols_.empty()) return {y, logdet};
  y = at::linear(at::linear(y, upper()), lower(), lu_bias_);
  logdet = logdet + at::log(at::softplus(lu_diag_) + kLuEps).sum();
  return {y, logdet};
}

at::Tensor SplineCouplingImpl::inverse(const at::Tensor& y, const at::Tensor& context, int64_t r) {
  at::Tensor v = y;
  if (!identity_cols_.empty()) {
    // v U^T L^T = y - bias: two triangular solves from the right.
    v = at::linalg_solve_triangular(lower().t(), y - lu_bias_, /*upper=*/true, /*left=*/false,
                                    /*unitriangular=*/true);
    v = at::linalg_solve_triangular(upper().t(), v, /*upper=*/false, /*left=*/false);
  }
  return couple(v, context, r, true).first;
}

}  // namespace gml::posterior
