#include "core/diffusion/band_stretch.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <string>

#include "core/common/error.h"

namespace gml::diffusion {
namespace {

// Per-band columns shaped to broadcast over [..., B, H, W].
at::Tensor per_band(const std::vector<double>& v) {
  return at::tensor(v, at::kDouble).view({-1, 1, 1});
}

std::vector<double> range_of(const BandStretch& s) {
  std::vector<double> r;
  for (size_t b = 0; b < s.scale.size(); ++b) r.push_back(std::asinh(s.scale[b] / s.softening[b]));
  return r;
}

void check_images(const at::Tensor& t, const BandStretch& s, const char* what) {
  require(t.defined() && t.dim() >= 3,
          std::string("band stretch: ") + what + " must be [..., bands, height, width]");
  check_band_stretch(s, t.size(-3));
}

}  // namespace

void check_band_stretch(const BandStretch& s, int64_t bands) {
  require(
      static_cast<int64_t>(s.softening.size()) == bands &&
          static_cast<int64_t>(s.scale.size()) == bands,
      "band stretch: softening and scale need one value per band (" + std::to_string(bands) + ")");
  for (int64_t b = 0; b < bands; ++b) {
    const double soft = s.softening[static_cast<size_t>(b)],
                 scale = s.scale[static_cast<size_t>(b)];
    require(std::isfinite(soft) && soft > 0.0 && std::isfinite(scale) && scale > 0.0,
            "band stretch: band " + std::to_string(b) + ": softening and scale must be positive");
    require(scale > soft * 1e-6,
            "band stretch: band " + std::to_string(b) + ": scale is too small for its softening");
  }
}

at::Tensor stretch_to_network(const at::Tensor& images, const BandStretch& s) {
  check_images(images, s, "images");
  // No inference mode: a training loop feeds the result to a network that
  // saves its input for the backward pass.
  at::NoGradGuard no_grad;
  const at::Tensor x = images.to(at::kDouble);
  return (2.0 * at::asinh(x / per_band(s.softening)) / per_band(range_of(s)) - 1.0).to(at::kFloat);
}

at::Tensor stretch_to_flux(const at::Tensor& values, const BandStretch& s) {
  check_images(values, s, "values");
  at::NoGradGuard no_grad;
  const at::Tensor y = values.to(at::kDouble);
  return (per_band(s.softening) * at::sinh(0.5 * (y + 1.0) * per_band(range_of(s)))).to(at::kFloat);
}

BandStretch fit_band_stretch(const at::Tensor& images, double quantile) {
  require(images.defined() && images.dim() == 4 && images.numel() > 0,
          "band stretch: a training set must be [N, bands, height, width]");
  require(quantile > 0.5 && quantile < 1.0, "band stretch: quantile must lie in (0.5, 1)");
  c10::InferenceMode guard;
  const at::Tensor x = images.to(at::kDouble);
  require(at::isfinite(x).all().item<bool>(),
          "band stretch: the training set holds NaN or infinite pixels");
  const int64_t h = x.size(2), w = x.size(3), edge = std::max<int64_t>(1, std::min(h, w) / 8);
  BandStretch s;
  for (int64_t b = 0; b < x.size(1); ++b) {
    const at::Tensor band = x.select(1, b);
    const at::Tensor border =
        at::cat({band.slice(1, 0, edge).flatten(), band.slice(1, h - edge, h).flatten(),
                 band.slice(2, 0, edge).flatten(), band.slice(2, w - edge, w).flatten()});
    const double median = border.median().item<double>();
    const double noise = 1.4826 * (border - median).abs().median().item<double>();
    require(noise > 0.0, "band stretch: band " + std::to_string(b) +
                             " has no sky noise at the stamps' borders; give the softening");
    at::Tensor flat = band.flatten();
    const int64_t step = (flat.numel() + (int64_t{1} << 24) - 1) >> 24;  // quantile's limit
    if (step > 1) flat = flat.slice(0, 0, flat.numel(), step);
    const double top = at::quantile(flat, quantile).item<double>();
    s.softening.push_back(noise);
    s.scale.push_back(std::max(top, 10.0 * noise));
  }
  return s;
}

}  // namespace gml::diffusion
