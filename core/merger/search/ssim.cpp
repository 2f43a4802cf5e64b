#include "core/merger/search/ssim.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/common/error.h"

namespace gml::merger {

namespace {

std::string shape_text(const at::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

// scipy.ndimage's Gaussian: exp(-x^2 / (2 sigma^2)) on x = -r..r, summed to 1.
at::Tensor gaussian_window(double sigma, int64_t size, const at::TensorOptions& options) {
  const int64_t r = (size - 1) / 2;
  std::vector<double> w(static_cast<size_t>(size));
  double sum = 0;
  for (int64_t i = 0; i < size; ++i) {
    const double x = static_cast<double>(i - r);
    w[static_cast<size_t>(i)] = std::exp(-0.5 * x * x / (sigma * sigma));
    sum += w[static_cast<size_t>(i)];
  }
  for (double& v : w) v /= sum;
  return at::tensor(w, at::TensorOptions().dtype(at::kDouble)).to(options);
}

// Mean SSIM of each image of x against y (same shape), both in the compute
// dtype; window is the 1-D Gaussian.
at::Tensor ssim_block(const at::Tensor& x, const at::Tensor& y, const at::Tensor& window, double c1,
                      double c2) {
  const int64_t c = x.size(1), win = window.size(0);
  // Shifting a channel by a constant changes no variance or covariance; the
  // means are added back for the luminance term.
  const at::Tensor mx = x.mean({2, 3}, true), my = y.mean({2, 3}, true);
  const at::Tensor xc = x - mx, yc = y - my;
  const at::Tensor stack = at::cat({xc, yc, xc * xc, yc * yc, xc * yc}, 1);
  const int64_t groups = 5 * c;
  const at::Tensor kh = window.view({1, 1, win, 1}).expand({groups, 1, win, 1}).contiguous();
  const at::Tensor kw = window.view({1, 1, 1, win}).expand({groups, 1, 1, win}).contiguous();
  const std::vector<int64_t> one{1, 1}, zero{0, 0};
  const at::Tensor f = at::conv2d(at::conv2d(stack, kh, std::nullopt, one, zero, one, groups), kw,
                                  std::nullopt, one, zero, one, groups);
  const std::vector<at::Tensor> m = f.split(c, 1);
  const at::Tensor ux = m[0] + mx, uy = m[1] + my;
  const at::Tensor vx = m[2] - m[0] * m[0];
  const at::Tensor vy = m[3] - m[1] * m[1];
  const at::Tensor vxy = m[4] - m[0] * m[1];
  const at::Tensor s =
      ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  return s.to(at::kDouble).mean({1, 2, 3});
}

}  // namespace

int64_t ssim_window_size(double sigma) {
  return 2 * static_cast<int64_t>(3.5 * sigma + 0.5) + 1;
}

at::Tensor ssim(const at::Tensor& a, const at::Tensor& b, double data_range,
                const SsimOptions& options) {
  require(a.defined() && a.dim() == 4,
          "ssim: a must be (N, C, H, W), got " + (a.defined() ? shape_text(a) : "none"));
  require(b.defined() && b.dim() == 4, "ssim: b must be (N, C, H, W) or (1, C, H, W), got " +
                                           (b.defined() ? shape_text(b) : "none"));
  require((b.size(0) == a.size(0) || b.size(0) == 1) && b.size(1) == a.size(1) &&
              b.size(2) == a.size(2) && b.size(3) == a.size(3),
          "ssim: b " + shape_text(b) + " does not match a " + shape_text(a) +
              " (b may have 1 image, broadcast to all)");
  require(a.device() == b.device(),
          "ssim: a is on " + a.device().str() + " but b is on " + b.device().str());
  require(std::isfinite(data_range) && data_range > 0,
          "ssim: data_range = " + std::to_string(data_range) + " must be positive and finite");
  require(std::isfinite(options.sigma) && options.sigma > 0,
          "ssim: sigma = " + std::to_string(options.sigma) + " must be positive");
  require(options.batch >= 1,
          "ssim: batch = " + std::to_string(options.batch) + " must be positive");
  const int64_t win = ssim_window_size(options.sigma);
  require(a.size(2) >= win && a.size(3) >= win,
          "ssim: images of " + std::to_string(a.size(2)) + " x " + std::to_string(a.size(3)) +
              " pixels are smaller than the " + std::to_string(win) + " x " + std::to_string(win) +
              " window");
  require(a.size(1) >= 1, "ssim: images have 0 channels");

  const int64_t n = a.size(0);
  // Allocated outside InferenceMode so callers get an ordinary tensor.
  at::Tensor out = at::empty({n}, a.options().dtype(at::kDouble));
  if (n == 0) return out;
  c10::InferenceMode guard;
  const at::ScalarType type =
      (a.scalar_type() == at::kDouble || b.scalar_type() == at::kDouble) ? at::kDouble : at::kFloat;
  const at::Tensor window = gaussian_window(options.sigma, win, a.options().dtype(type));
  const double c1 = std::pow(options.k1 * data_range, 2);
  const double c2 = std::pow(options.k2 * data_range, 2);
  for (int64_t first = 0; first < n; first += options.batch) {
    const int64_t m = std::min(options.batch, n - first);
    const at::Tensor x = a.narrow(0, first, m).to(type);
    const at::Tensor y = (b.size(0) == 1 ? b : b.narrow(0, first, m)).to(type).expand_as(x);
    out.narrow(0, first, m).copy_(ssim_block(x, y, window, c1, c2));
  }
  return out;
}

}  // namespace gml::merger
