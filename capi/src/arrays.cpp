#include "capi/src/arrays.h"

#include <ATen/ATen.h>

#include <string>

#include "capi/src/firewall.h"
#include "core/common/error.h"

namespace gml::capi {

void require_finite_rows(const at::Tensor& rows, const char* what, const char* unit) {
  at::Tensor bad = at::isfinite(rows).logical_not();
  if (bad.dim() > 1) bad = bad.flatten(1).any(1);
  if (bad.any().item<bool>()) {
    fail(Status::InvalidArgument, std::string(what) + " has NaN or Inf (first at " + unit + " " +
                                      std::to_string(at::nonzero(bad)[0][0].item<int64_t>()) + ")");
  }
}

at::Tensor caller_rows(const double* data, int64_t rows, int64_t cols, const char* what) {
  require(data != nullptr, std::string(what) + " must not be NULL");
  checked_elements({rows, cols}, sizeof(double), what);
  at::Tensor t = at::from_blob(const_cast<double*>(data), {rows, cols}, at::kDouble).clone();
  require_finite_rows(t, what);
  return t;
}

at::Tensor caller_images(const float* images, int64_t n, int64_t channels, int64_t height,
                         int64_t width) {
  require(images != nullptr, "images must not be NULL");
  require(n >= 1 && channels >= 1 && height >= 1 && width >= 1,
          "n, channels, height and width must all be >= 1");
  checked_elements({n, channels, height, width}, sizeof(float), "images");
  return at::from_blob(const_cast<float*>(images), {n, channels, height, width}, at::kFloat);
}

}  // namespace gml::capi
