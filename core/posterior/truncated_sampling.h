// Posterior draws truncated to the prior's support, as sbi's rejection
// sampling: a flow trained on simulations spreads some mass outside a
// bounded prior, and those draws are not parameters the simulator could
// have produced. Each observation's first n proposals are its untruncated
// draws (posterior_sampling.h), so the accepted ones are a subset of them
// in order; rejected ones are replaced from further streams (seed, row,
// round), sized by the acceptance seen so far. Everything depends on
// (seed, row) only, never on batching.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/posterior/posterior_flow.h"
#include "core/posterior/posterior_sampling.h"

namespace gml {
class Progress;
}

namespace gml::posterior {

struct TruncationOptions {
  // Proposals per observation stop at ceil(n / min_acceptance): below that
  // acceptance an observation gets fewer than n draws and is reported.
  double min_acceptance = 1e-3;
  // Which rows of theta (m, D) float64 to keep, (m) bool. Empty: the
  // model's prior support.
  std::function<at::Tensor(const at::Tensor&)> accept;
};

struct TruncatedCounts {
  int64_t n = 0;                  // draws wanted per observation
  std::vector<int64_t> accepted;  // per observation, <= n
  std::vector<int64_t> proposed;  // per observation, >= n
  // Observations that got fewer than n draws.
  int64_t short_observations() const;
};

// n draws for each observation x (G, C), row g from the stream
// (seed, row_ids[g]), written to theta_out [G, n, D] (float64, user units):
// the accepted draws first, NaN in the slots of an observation that stayed
// short. Memory beyond theta_out is bounded by max_rows and the stream
// chunk, whatever G and n; `progress` is checked for cancellation between
// network batches.
TruncatedCounts draw_truncated(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                               const std::vector<int64_t>& row_ids,
                               const TruncationOptions& options, double* theta_out,
                               Progress* progress = nullptr, int64_t max_rows = 16384);

// The same as PosteriorDraws for summaries: theta (G, n, D), inside marks
// the accepted slots, outside counts the rejected proposals. `counts`
// receives the counts when given.
PosteriorDraws draw_posterior_truncated(PosteriorFlow& flow, const at::Tensor& x, int64_t n,
                                        uint64_t seed, const std::vector<int64_t>& row_ids,
                                        const TruncationOptions& options,
                                        Progress* progress = nullptr, int64_t max_rows = 16384,
                                        TruncatedCounts* counts = nullptr);

}  // namespace gml::posterior
