// Exact k-nearest-neighbour search in a latent space. DeepGalaxy finds
// images similar to a query by their distance in the VAE latent (16-32-D);
// at that dimension an exact, matmul-based search on the tensors' device beats
// any approximate index up to millions of rows, and it gives reproducible
// answers (ties go to the lower base index) that tests can check exactly.
//
// Squared L2 distances come from ||q||^2 - 2 q.b + ||b||^2 (one matmul per
// block), clamped at 0. The base is scanned in chunks of rows and the queries
// in blocks, with a running top-k merge, so memory stays at about
// query_block x chunk distances however large the base is.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace gml::merger {

enum class Metric {
  L2,      // Euclidean distance ||q - b||
  Cosine,  // 1 - cos(q, b), in [0, 2]
};

struct KnnResult {
  at::Tensor indices;    // (Q, k) int64, rows of base
  at::Tensor distances;  // (Q, k) dtype of the inputs (float32 or float64), ascending
};

// queries (Q, D), base (N, D): floating point (other dtypes are converted to
// float32; mixed float32/float64 computes in float64), on one device, where
// the search runs. Returns per query the k nearest base rows in ascending
// distance; equal distances are ordered by lower base index.
//
// exclude_self: the queries are the base itself (Q must equal N); query row i
// never returns base row i (other rows with the same coordinates still can),
// so k may be at most N - 1.
// chunk: base rows per distance block (memory/speed trade-off only; the
// result does not depend on it).
//
// Runs under c10::InferenceMode; the returned tensors are ordinary tensors.
// Throws Error(InvalidArgument) for an undefined, non-2-D or empty input,
// mismatched D or devices, k < 1 or k > N (N - 1 with exclude_self),
// chunk < 1, a NaN or infinite value (the message names the tensor and row)
// and, for Cosine, a zero row.
KnnResult knn_search(const at::Tensor& queries, const at::Tensor& base, int64_t k,
                     Metric metric = Metric::L2, int64_t chunk = 4096, bool exclude_self = false);

// Throws Error(InvalidArgument) naming `what` and the first row of x (N, D)
// holding a NaN or infinity. Shared with the other search functions.
void require_finite_rows(const at::Tensor& x, const char* what);

}  // namespace gml::merger
