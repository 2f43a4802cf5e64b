// Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004, IEEE TIP 13,
// 600) between images, the second opinion next to latent distance when
// DeepGalaxy shows a query's neighbours: two images close in the latent
// should also look alike pixel by pixel.
//
// The definition is scikit-image's structural_similarity with
// gaussian_weights=True, use_sample_covariance=False, channel_axis=0: local
// statistics under a Gaussian window (sigma 1.5, truncated at 3.5 sigma, so
// 11 x 11), K1 = 0.01, K2 = 0.03, and the mean of the SSIM map over the pixels
// at least (win_size - 1) / 2 from the border (skimage crops that border
// because its filter there sees reflected pixels) and over the channels.
// Computing only the valid part of a depthwise conv2d gives exactly that
// cropped map, on the images' device, for a whole batch at once.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace gml::merger {

struct SsimOptions {
  double sigma = 1.5;  // Gaussian window; win_size = 2 * int(3.5 sigma + 0.5) + 1
  double k1 = 0.01;
  double k2 = 0.03;
  int64_t batch = 256;  // images per conv2d call (memory only; results do not depend on it)
};

// Window side for a Gaussian of this sigma (11 for sigma 1.5).
int64_t ssim_window_size(double sigma);

// a (N, C, H, W) and b (N, C, H, W) or (1, C, H, W) (broadcast against every
// image of a), on one device. data_range: the dynamic range of the pixel
// values (max - min possible), > 0. Returns the mean SSIM of each image pair,
// (N) float64, on a's device. Arithmetic runs in float64 when either input is
// float64, else in float32 (each image channel is first shifted by its mean,
// which SSIM does not depend on, to keep float32 variances accurate).
// NaN pixels give NaN. Runs under c10::InferenceMode.
// Throws Error(InvalidArgument) for non-4-D inputs, mismatched shapes, batch
// or devices, data_range <= 0 or not finite, sigma <= 0, images smaller than
// the window.
at::Tensor ssim(const at::Tensor& a, const at::Tensor& b, double data_range,
                const SsimOptions& options = {});

}  // namespace gml::merger
