// Posterior draws for whole catalogs: batched over observations, with a
// random stream per observation so the draws of row i depend only on
// (seed, i), never on batch size, chunking or how rows are split across MPI
// ranks; prior-support accounting; summary statistics.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/posterior/posterior_flow.h"

namespace gml {
class Progress;
}

namespace gml::posterior {

struct PosteriorDraws {
  at::Tensor theta;    // (G, n, D) float64, user units
  at::Tensor inside;   // (G, n) bool: inside the prior's support (all true without a prior)
  at::Tensor outside;  // (G) int64: draws outside it
};

// n draws for each observation x (G, C); row g uses the stream
// (seed, first_row + g). Runs under InferenceMode in batches of about
// `max_rows` flow rows; reports progress in observations when given.
PosteriorDraws draw_posterior(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                              int64_t first_row, Progress* progress = nullptr,
                              int64_t max_rows = 16384);

// The same with an explicit stream id per observation: row g uses
// (seed, row_ids[g]).
PosteriorDraws draw_posterior(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                              const std::vector<int64_t>& row_ids, Progress* progress = nullptr,
                              int64_t max_rows = 16384);

// Summary columns, in this order.
enum SummaryColumn { kMedian = 0, kP16 = 1, kP84 = 2, kMean = 3, kStd = 4, kSummaryColumns = 5 };

// (G, D, 5) float64 summaries over the draws inside the prior (NaN where an
// observation has none).
at::Tensor summarize_draws(const PosteriorDraws& draws);

// Draws of one observation come in chunks of this many, each from its own
// stream (seed, row, chunk), so that any number of draws can be produced
// with bounded memory.
constexpr int64_t kStreamChunk = int64_t{1} << 20;

// The standard-normal latent stream of one observation: (n, D) float32,
// the concatenation of its chunks.
at::Tensor latent_stream(uint64_t seed, int64_t row, int64_t n, int64_t d);

// Chunk `chunk` of that stream, k <= kStreamChunk rows.
at::Tensor latent_chunk(uint64_t seed, int64_t row, int64_t chunk, int64_t k, int64_t d);

// The n draws of one observation x (1, C) with stream id `row`, written to
// theta_out [n, D] (float64, user units) batch by batch: memory beyond the
// caller's buffer is bounded by max_rows and kStreamChunk, whatever n, and
// `progress` (when given) is checked for cancellation between batches.
// Equal to draw_posterior()'s draws of that observation. Returns the number
// of draws outside the prior's support.
int64_t draw_observation_into(PosteriorFlow& flow, const at::Tensor& x, int64_t n, uint64_t seed,
                              int64_t row, double* theta_out, Progress* progress = nullptr,
                              int64_t max_rows = 16384);

}  // namespace gml::posterior
