#include "core/posterior/truncated_sampling.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/posterior/posterior_sampling.h"

namespace gml::posterior {
namespace {

// Stream chunks of the replacement rounds: far above any chunk of the
// first n proposals (n / 2^20 of them).
constexpr int64_t kRoundChunk = int64_t{1} << 40;

// Latents of one observation still to go through the network.
struct Job {
  int64_t g;
  int64_t chunk;
  int64_t k;
};

}  // namespace

int64_t TruncatedCounts::short_observations() const {
  int64_t s = 0;
  for (int64_t a : accepted) s += a < n;
  return s;
}

TruncatedCounts draw_truncated(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                               const std::vector<int64_t>& row_ids,
                               const TruncationOptions& options, double* theta_out,
                               Progress* progress, int64_t max_rows) {
  const PosteriorConfig& cfg = flow->config();
  require(x.dim() == 2 && x.size(1) == cfg.x_dim,
          "posterior draws: x must be (G, " + std::to_string(cfg.x_dim) + ")");
  require(n >= 1, "posterior draws: need at least one draw per observation");
  require(static_cast<int64_t>(row_ids.size()) == x.size(0),
          "posterior draws: one stream id per observation");
  require(options.min_acceptance > 0 && options.min_acceptance <= 1,
          "posterior draws: min_acceptance must be in (0, 1]");
  require(max_rows >= 1, "posterior draws: max_rows must be >= 1");
  require(at::isfinite(x).all().item<bool>(), "posterior draws: x has NaN or Inf");
  c10::InferenceMode guard;
  const int64_t g_total = x.size(0), d = cfg.theta_dim;
  const at::Tensor xd = x.to(at::kDouble);
  const Prior prior = cfg.prior_distribution();
  const auto accept = options.accept
                          ? options.accept
                          : std::function<at::Tensor(const at::Tensor&)>(
                                [&prior](const at::Tensor& t) { return prior.in_support(t); });
  const double cap_d = std::ceil(static_cast<double>(n) / options.min_acceptance);
  const int64_t cap = cap_d > 1e18 ? int64_t{1000000000000000000} : static_cast<int64_t>(cap_d);

  std::fill(theta_out, theta_out + g_total * n * d, std::numeric_limits<double>::quiet_NaN());
  TruncatedCounts counts;
  counts.n = n;
  counts.accepted.assign(static_cast<size_t>(g_total), 0);
  counts.proposed.assign(static_cast<size_t>(g_total), 0);

  // Pieces of jobs share network batches of about max_rows rows; the
  // pieces of one observation stay in stream order.
  std::vector<at::Tensor> zs;
  std::vector<int64_t> owners, sizes;
  int64_t pending = 0;
  auto flush = [&] {
    if (zs.empty()) return;
    if (progress) progress->check_cancel();
    const at::Tensor z = at::cat(zs);
    const at::Tensor who = at::tensor(owners, at::kLong);
    // Pieces of one size (the first round's, typically) let the context
    // layer run once per piece instead of once per draw.
    const bool even =
        std::all_of(sizes.begin(), sizes.end(), [&](int64_t m) { return m == sizes[0]; });
    const at::Tensor theta =
        (even ? flow->from_latent(z, xd.index_select(0, who), false, sizes[0])
              : flow->from_latent(
                    z, xd.index_select(0, at::repeat_interleave(who, at::tensor(sizes, at::kLong))),
                    false, 1))
            .to(at::kCPU)
            .contiguous();
    const at::Tensor ok = accept(theta).to(at::kCPU, at::kBool).contiguous();
    int64_t offset = 0;
    for (size_t i = 0; i < owners.size(); ++i) {
      const auto g = static_cast<size_t>(owners[i]);
      const int64_t m = sizes[i];
      counts.proposed[g] += m;
      const int64_t need = n - counts.accepted[g];
      if (need > 0) {
        const at::Tensor kept =
            theta.narrow(0, offset, m).index({ok.narrow(0, offset, m)}).contiguous();
        const int64_t take = std::min(need, kept.size(0));
        // An empty tensor's data pointer may be null, which memcpy must not see.
        if (take > 0)
          std::memcpy(theta_out + (owners[i] * n + counts.accepted[g]) * d, kept.data_ptr<double>(),
                      static_cast<size_t>(take * d) * sizeof(double));
        counts.accepted[g] += take;
      }
      offset += m;
    }
    zs.clear();
    owners.clear();
    sizes.clear();
    pending = 0;
  };
  auto run = [&](const std::vector<Job>& jobs) {
    for (const Job& job : jobs) {
      const at::Tensor z =
          latent_chunk(seed, row_ids[static_cast<size_t>(job.g)], job.chunk, job.k, d);
      for (int64_t b0 = 0; b0 < job.k; b0 += max_rows) {
        const int64_t m = std::min(max_rows, job.k - b0);
        zs.push_back(z.narrow(0, b0, m));
        owners.push_back(job.g);
        sizes.push_back(m);
        pending += m;
        if (pending >= max_rows) flush();
      }
    }
    flush();
  };

  std::vector<Job> jobs;
  for (int64_t g = 0; g < g_total; ++g) {
    for (int64_t c = 0; c * kStreamChunk < n; ++c) {
      jobs.push_back({g, c, std::min(kStreamChunk, n - c * kStreamChunk)});
    }
  }
  run(jobs);
  for (int64_t round = 1;; ++round) {
    jobs.clear();
    for (int64_t g = 0; g < g_total; ++g) {
      const auto u = static_cast<size_t>(g);
      const int64_t acc = counts.accepted[u], prop = counts.proposed[u];
      if (acc >= n || prop >= cap) continue;
      // Enough for the deficit at the acceptance seen so far (a pessimistic
      // (acc + 1) / (prop + 1) when none was accepted), with 20% margin.
      const double rate = std::max(static_cast<double>(acc + 1) / static_cast<double>(prop + 1),
                                   options.min_acceptance);
      const double want = std::ceil(1.2 * static_cast<double>(n - acc) / rate);
      const int64_t m =
          std::min({cap - prop, kStreamChunk,
                    std::max<int64_t>(n - acc, static_cast<int64_t>(std::min(want, 1e15)))});
      jobs.push_back({g, kRoundChunk + round, m});
    }
    if (jobs.empty()) break;
    run(jobs);
  }
  return counts;
}

PosteriorDraws draw_posterior_truncated(PosteriorFlow& flow, const at::Tensor& x, int64_t n,
                                        uint64_t seed, const std::vector<int64_t>& row_ids,
                                        const TruncationOptions& options, Progress* progress,
                                        int64_t max_rows, TruncatedCounts* counts) {
  const int64_t g_total = x.dim() == 2 ? x.size(0) : 0, d = flow->config().theta_dim;
  PosteriorDraws out;
  out.theta = at::empty({g_total, n, d}, at::kDouble);
  const TruncatedCounts tc = draw_truncated(flow, x, n, seed, row_ids, options,
                                            out.theta.data_ptr<double>(), progress, max_rows);
  const at::Tensor acc = at::tensor(tc.accepted, at::kLong);
  out.inside = at::arange(n, at::kLong).unsqueeze(0) < acc.unsqueeze(1);
  out.outside = at::tensor(tc.proposed, at::kLong) - acc;
  if (counts) *counts = tc;
  return out;
}

}  // namespace gml::posterior
