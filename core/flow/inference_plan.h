// A conditional flow specialised to one galaxy condition for fast CPU
// inference (sampling and log_prob of many stars of the same galaxy).
//
// Why: with one condition for all rows, each coupling's condition MLP is a
// constant vector that folds into the data MLP's last layer, the LU layers
// are plain (D, D) matrices with precomputed inverses, and rows can travel
// through all blocks in cache-sized tiles with buffers allocated once per
// thread. That leaves the matrix products and one short spline pass per
// element: no autograd, no (N, D, K) intermediates, no per-op allocation.
//
// Works in the flow's normalised data space; ConditionalFlowImpl applies the
// column transform and the base density around it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/common/rq_spline.h"

namespace gml::flow {

class ConditionalFlowImpl;

class InferencePlan {
 public:
  // Whether the flow's parameters are float32 on the CPU (the only case the
  // plan handles; others take the module path).
  static bool applies_to(const ConditionalFlowImpl& flow);

  // condition: (1, C) normalised condition. The plan copies what it needs and
  // does not keep a reference to `flow`.
  InferencePlan(const ConditionalFlowImpl& flow, const at::Tensor& normalized_condition);

  // u: (n, D) contiguous float32, normalised data, Given; latent z Returned
  // in place. logdet (n), Given and Returned: log|det dz/du| is added.
  void to_latent(float* u, int64_t n, float* logdet) const;
  // z: (n, D) contiguous float32 latent, Given; normalised data Returned in
  // place.
  void from_latent(float* z, int64_t n) const;

 private:
  struct Layer {
    at::Tensor weight_t;  // (in, out), contiguous
    at::Tensor bias;      // (out)
  };
  struct Half {
    std::vector<Layer> layers;  // data MLP; the condition gate is folded into the last
    at::Tensor gate;            // (out): the condition MLP's output, when it cannot be
                                // folded (output activation); else undefined
    int64_t offset = 0;         // first column of the transformed half
    int64_t dim = 0;            // its width
    int64_t given_offset = 0;   // first column of the conditioning half
    int64_t given_dim = 0;
  };
  struct Block {
    at::Tensor weight_t;      // (D, D): row form of the 1x1 layer, x W^T
    at::Tensor inv_weight_t;  // (D, D): its inverse
    float logabsdet = 0;
    Half first;   // transforms columns [0, D/2) given the second half
    Half second;  // transforms columns [D/2, D) given the first half
  };
  struct Scratch;

  void run_tiles(float* rows, int64_t n, float* logdet, bool to_latent) const;
  void run_tile(float* x, int64_t m, float* logdet, bool to_latent, Scratch& s) const;
  void apply_half(const Half& half, float* rows, int64_t m, float* logdet, bool inverse,
                  Scratch& s) const;
  void apply_linear(const at::Tensor& weight_t, float* rows, int64_t m, Scratch& s) const;

  int64_t dim_ = 0;
  int64_t bins_ = 0;
  int64_t max_width_ = 0;  // widest hidden layer or parameter block
  double slope_ = 0.2;
  bool output_activation_ = false;
  RQSplineOptions spline_;
  std::vector<Block> blocks_;
};

}  // namespace gml::flow
