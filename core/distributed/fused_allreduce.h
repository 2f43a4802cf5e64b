// Averaging of many small tensors across ranks in a few large messages.
//
// One allreduce per parameter tensor would cost a ResNet-50 161 latency-bound
// calls per step. Like Horovod's tensor fusion and PyTorch DDP's buckets, the
// tensors are packed into flat buckets of about `bucket_bytes` and each bucket
// is reduced with one call, so a step costs a handful of calls whose size is
// bandwidth-, not latency-bound.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/distributed/backend.h"

namespace gml::dist {

class FusedAllreduce {
 public:
  // bucket_bytes must be at least 4.
  explicit FusedAllreduce(Backend& backend, size_t bucket_bytes = size_t{25} << 20);

  // Replaces every tensor of `tensors` (float32, one device, CPU or CUDA) by
  // scale * (sum over ranks), in place. Every rank passes tensors of the same
  // sizes in the same order on every call; the bucket plan is made on the
  // first call and a different list later is an Error(InvalidArgument).
  // (The list is passed per call, not kept, because autograd may replace a
  // .grad tensor rather than accumulate into it.)
  // `extra` (may be null) rides in the last bucket and is summed too,
  // unscaled: callers use it for loss sums, counts and failure flags, so
  // these cost no call of their own. Throws what the backend throws.
  void reduce(const std::vector<at::Tensor>& tensors, double scale,
              std::vector<double>* extra = nullptr);

  int64_t calls() const { return calls_; }     // allreduce calls so far
  double seconds() const { return seconds_; }  // wall time inside them
  // Wall time in the barrier that opens every reduce() with more than one
  // rank: waiting for the slowest rank (load imbalance), kept apart from the
  // transfer so that seconds() measures the reduction itself.
  double wait_seconds() const { return wait_seconds_; }
  int64_t elements() const { return elements_; }     // floats per reduce()
  size_t buckets() const { return bounds_.size(); }  // calls per reduce()

 private:
  void plan(const std::vector<at::Tensor>& tensors);

  Backend& backend_;
  size_t bucket_bytes_;
  std::vector<int64_t> numels_;
  std::vector<std::pair<size_t, size_t>> bounds_;  // [first, last) tensor per bucket
  std::vector<float> flat_;
  int64_t elements_ = 0;
  int64_t calls_ = 0;
  double seconds_ = 0;
  double wait_seconds_ = 0;
};

// Copies root's values of `tensors` (any dtypes, one device) to every rank
// in one broadcast of their packed bytes: how training starts every rank
// from rank 0's initial weights.
void broadcast_tensors(Backend& backend, const std::vector<at::Tensor>& tensors, int root = 0);

}  // namespace gml::dist
