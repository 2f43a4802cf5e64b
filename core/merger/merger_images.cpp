#include "core/merger/merger_images.h"

#include <ATen/ATen.h>

#include "core/common/error.h"

namespace gml::merger {

at::Tensor prepare_images(const at::Tensor& raw, const MergerConfig& config, bool resize,
                          std::vector<int32_t>* flags) {
  require(raw.defined() && raw.dim() == 4,
          "merger images: expected a (N, C, H, W) array, got " +
              (raw.defined() ? c10::str(raw.sizes()) : std::string("nothing")));
  require(raw.size(0) >= 1, "merger images: no images given");
  require(raw.size(1) == config.in_channels,
          "merger images: the model takes " + std::to_string(config.in_channels) +
              " band(s) per image, got " + std::to_string(raw.size(1)));
  const int64_t n = raw.size(0), c = raw.size(1), s = config.image_size;
  const bool wrong_size = raw.size(2) != s || raw.size(3) != s;
  require(!wrong_size || resize,
          "merger images: the model takes " + std::to_string(s) + "x" + std::to_string(s) +
              " pixels, got " + std::to_string(raw.size(3)) + "x" + std::to_string(raw.size(2)) +
              " (ask for resizing explicitly to resample)");
  require(raw.size(2) >= 2 && raw.size(3) >= 2, "merger images: images must be at least 2x2");
  at::Tensor x = raw.to(at::kFloat).contiguous();

  std::vector<int32_t> f(static_cast<size_t>(n), 0);
  at::Tensor nan = x.isnan().flatten(1).any(1);
  if (nan.any().item<bool>()) {
    if (config.nan_policy == NanPolicy::Reject) {
      const int64_t first = nan.nonzero().min().item<int64_t>();
      fail(Status::InvalidArgument, "merger images: image " + std::to_string(first) +
                                        " has NaN pixels (NaN policy 'reject'; use 'mask' to "
                                        "set them to 0 and flag the image)");
    }
    auto nan_cpu = nan.cpu();
    const bool* p = nan_cpu.data_ptr<bool>();
    for (int64_t i = 0; i < n; ++i)
      if (p[i]) f[static_cast<size_t>(i)] |= kImageNanMasked;
  }
  require(!x.isinf().any().item<bool>(), "merger images: infinite pixel values");

  // Normalise before resampling so NaN masking and quantiles see the
  // original pixels.
  at::Tensor rows = x.reshape({n * c, -1});
  at::Tensor q = at::nanquantile(rows, at::tensor({0.5, 0.995}, rows.options()), 1);  // (2, N*C)
  at::Tensor med = q[0].unsqueeze(1), scale = (q[1] - q[0]).unsqueeze(1);
  at::Tensor blank = (scale <= 0) | scale.isnan();
  scale = at::where(blank, at::ones_like(scale), scale);
  med = at::where(med.isnan(), at::zeros_like(med), med);
  x = ((rows - med) / scale).nan_to_num(0.0).reshape({n, c, x.size(2), x.size(3)});
  {
    at::Tensor blank_img = blank.reshape({n, c}).any(1).cpu();
    const bool* p = blank_img.data_ptr<bool>();
    for (int64_t i = 0; i < n; ++i)
      if (p[i]) f[static_cast<size_t>(i)] |= kImageBlank;
  }
  if (wrong_size) {
    if (x.size(2) >= s && x.size(3) >= s)
      x = at::adaptive_avg_pool2d(x, {s, s});
    else
      x = at::upsample_bilinear2d(x, {s, s}, /*align_corners=*/false);
    for (auto& v : f) v |= kImageResized;
  }
  if (flags) *flags = std::move(f);
  return x.contiguous();
}

}  // namespace gml::merger
