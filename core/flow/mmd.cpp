#include "core/flow/mmd.h"

#include <ATen/ATen.h>

#include "core/common/error.h"

namespace gml::flow {

namespace {
at::Tensor kernel(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor d2 = (a - b).pow(2).sum(1);
  at::Tensor k = at::zeros_like(d2);
  for (double s : {0.5, 1.0, 2.0, 4.0}) k += at::exp(-d2 / (2 * s * s));
  return k;
}
}  // namespace

double linear_mmd2(const at::Tensor& x, const at::Tensor& y) {
  require(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1),
          "linear_mmd2: x and y must be (n, d) and (m, d) with the same d");
  const int64_t pairs = std::min(x.size(0), y.size(0)) / 2;
  require(pairs >= 1, "linear_mmd2: need at least 2 rows in each sample");
  const at::Tensor xd = x.to(at::kDouble), yd = y.to(at::kDouble);
  const at::Tensor x1 = xd.slice(0, 0, 2 * pairs, 2), x2 = xd.slice(0, 1, 2 * pairs, 2);
  const at::Tensor y1 = yd.slice(0, 0, 2 * pairs, 2), y2 = yd.slice(0, 1, 2 * pairs, 2);
  const at::Tensor h = kernel(x1, x2) + kernel(y1, y2) - kernel(x1, y2) - kernel(x2, y1);
  return h.mean().item<double>();
}

}  // namespace gml::flow
