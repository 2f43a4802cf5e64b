#include "core/posterior/posterior_sampling.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/common/error.h"
#include "core/common/progress.h"

namespace gml::posterior {

namespace {

// splitmix64 of (seed, row, chunk): neighbouring rows and chunks get
// unrelated streams. Chunk 0 is the stream of the whole row as it was before
// rows were chunked, so draws of up to kStreamChunk per row are unchanged.
uint64_t stream_seed(uint64_t seed, int64_t row, int64_t chunk) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(row) + 1);
  if (chunk > 0) z ^= 0xD1B54A32D192ED03ULL * static_cast<uint64_t>(chunk);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return z;
}

}  // namespace

at::Tensor latent_chunk(uint64_t seed, int64_t row, int64_t chunk, int64_t k, int64_t d) {
  auto gen = at::detail::createCPUGenerator(stream_seed(seed, row, chunk));
  return at::randn({k, d}, gen, at::TensorOptions().dtype(at::kFloat));
}

at::Tensor latent_stream(uint64_t seed, int64_t row, int64_t n, int64_t d) {
  if (n <= kStreamChunk) return latent_chunk(seed, row, 0, n, d);
  std::vector<at::Tensor> parts;
  for (int64_t c = 0; c * kStreamChunk < n; ++c) {
    parts.push_back(latent_chunk(seed, row, c, std::min(kStreamChunk, n - c * kStreamChunk), d));
  }
  return at::cat(parts);
}

int64_t draw_observation_into(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                              int64_t row, double* theta_out, Progress* progress,
                              int64_t max_rows) {
  const PosteriorConfig& cfg = flow->config();
  require(x.dim() == 2 && x.size(0) == 1 && x.size(1) == cfg.x_dim,
          "posterior draws: x must be (1, " + std::to_string(cfg.x_dim) + ")");
  require(n >= 1, "posterior draws: need at least one draw per observation");
  require(max_rows >= 1, "posterior draws: max_rows must be >= 1");
  c10::InferenceMode guard;
  const int64_t d = cfg.theta_dim;
  const at::Tensor xd = x.to(at::kDouble);
  const Prior prior = cfg.prior_distribution();
  const bool bounded = !prior.is_none();
  int64_t outside = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kStreamChunk) {
    const int64_t k = std::min(kStreamChunk, n - c0);
    if (progress) progress->check_cancel();
    const at::Tensor z = latent_chunk(seed, row, c0 / kStreamChunk, k, d);
    for (int64_t b0 = 0; b0 < k; b0 += max_rows) {
      if (progress) progress->check_cancel();
      const int64_t m = std::min(max_rows, k - b0);
      const at::Tensor theta =
          flow->from_latent(z.narrow(0, b0, m), xd, false, m).to(at::kCPU).contiguous();
      std::memcpy(theta_out + (c0 + b0) * d, theta.data_ptr<double>(),
                  static_cast<size_t>(m * d) * sizeof(double));
      if (bounded) outside += m - prior.in_support(theta).sum().item<int64_t>();
    }
  }
  return outside;
}

PosteriorDraws draw_posterior(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                              int64_t first_row, Progress* progress, int64_t max_rows) {
  std::vector<int64_t> ids(static_cast<size_t>(x.dim() == 2 ? x.size(0) : 0));
  for (size_t g = 0; g < ids.size(); ++g) ids[g] = first_row + static_cast<int64_t>(g);
  return draw_posterior(flow, x, n, seed, ids, progress, max_rows);
}

PosteriorDraws draw_posterior(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                              const std::vector<int64_t>& row_ids, Progress* progress,
                              int64_t max_rows) {
  const PosteriorConfig& cfg = flow->config();
  require(x.dim() == 2 && x.size(1) == cfg.x_dim,
          "posterior draws: x must be (G, " + std::to_string(cfg.x_dim) + ")");
  require(n >= 1, "posterior draws: need at least one draw per observation");
  require(static_cast<int64_t>(row_ids.size()) == x.size(0),
          "posterior draws: one stream id per observation");
  require(at::isfinite(x).all().item<bool>(), "posterior draws: x has NaN or Inf");
  c10::InferenceMode guard;
  const int64_t g_total = x.size(0), d = cfg.theta_dim;
  PosteriorDraws out;
  out.theta = at::empty({g_total, n, d}, at::TensorOptions().dtype(at::kDouble));
  const int64_t per_batch = std::max<int64_t>(1, max_rows / n);
  const at::Tensor xd = x.to(at::kDouble);
  for (int64_t g0 = 0; g0 < g_total; g0 += per_batch) {
    if (progress) progress->check_cancel();
    const int64_t gb = std::min(per_batch, g_total - g0);
    std::vector<at::Tensor> z;
    z.reserve(static_cast<size_t>(gb));
    for (int64_t g = 0; g < gb; ++g) {
      z.push_back(latent_stream(seed, row_ids[static_cast<size_t>(g0 + g)], n, d));
    }
    const at::Tensor xs = xd.narrow(0, g0, gb);
    const at::Tensor theta = flow->from_latent(at::cat(z), xs, false, n);
    out.theta.narrow(0, g0, gb).copy_(theta.to(at::kCPU).view({gb, n, d}));
    if (progress) progress->update(g0 + gb);
  }
  const Prior prior = cfg.prior_distribution();
  if (!prior.is_none()) {
    out.inside = prior.in_support(out.theta.view({g_total * n, d})).view({g_total, n});
  } else {
    out.inside = at::ones({g_total, n}, at::TensorOptions().dtype(at::kBool));
  }
  out.outside = n - out.inside.sum(1);
  return out;
}

at::Tensor summarize_draws(const PosteriorDraws& draws) {
  c10::InferenceMode guard;
  const at::Tensor nan = at::full({}, std::nan(""), at::kDouble);
  const at::Tensor t = at::where(draws.inside.unsqueeze(2), draws.theta, nan);  // (G, n, D)
  const at::Tensor q = at::nanquantile(t, at::tensor({0.5, 0.16, 0.84}, at::kDouble), 1,
                                       /*keepdim=*/false, "linear");  // (3, G, D)
  const at::Tensor mean = at::nanmean(t, 1);
  const at::Tensor count = draws.inside.sum(1, true).to(at::kDouble);  // (G, 1)
  const at::Tensor dev = at::where(at::isnan(t), at::zeros({}, at::kDouble), t - mean.unsqueeze(1));
  const at::Tensor var = dev.pow(2).sum(1) / (count - 1).clamp_min(1);
  at::Tensor std = var.sqrt();
  std = at::where(count > 1, std, nan);
  return at::stack({q[0], q[1], q[2], mean, std}, 2);
}

}  // namespace gml::posterior
