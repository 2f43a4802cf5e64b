// The GalacticFlow model: a conditional neural spline flow p(x | c) over
// per-star data x given galaxy conditions c.
//
//   x (user units) --log10 + z-score--> u --block_0 .. block_{n-1}--> z ~ N(0, I)
//
// log p(x | c) = log N(z; 0, I) + log|det dz/dx|, where the Jacobian includes
// the log10 and z-score steps, so densities are in the user's units.
// Conditions are log10/z-scored too (no Jacobian: they are not modelled).
//
// Parameters and buffers follow the module tree (blocks.3.linear.lower,
// blocks.3.coupling.second.data_net.0.weight, ...). Normalisation statistics
// are not module state; normalization_tensors() exports them for the model
// file's /normalization group.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "core/flow/flow_config.h"
#include "core/flow/normalization.h"

namespace gml::flow {

constexpr int64_t kDefaultChunkRows = 65536;

class ConditionalFlowImpl : public torch::nn::Module {
 public:
  // Parameters are initialised from `seed` (or `generator`) only; the global
  // torch generator is never read for values. Validates the config.
  explicit ConditionalFlowImpl(const FlowConfig& config, uint64_t seed = 0);
  ConditionalFlowImpl(const FlowConfig& config, at::Generator generator);

  const FlowConfig& config() const { return config_; }
  int64_t num_parameters() const;

  // --- normalisation ---------------------------------------------------
  // Fits the data and condition statistics on a training set.
  void fit_normalization(const at::Tensor& data, const at::Tensor& conditions);
  const ColumnTransform& data_transform() const { return data_norm_; }
  const ColumnTransform& condition_transform() const { return cond_norm_; }
  // Keys: data_mean, data_std, data_log10, condition_mean, condition_std,
  // condition_log10 (float64 / bool CPU tensors).
  std::map<std::string, at::Tensor> normalization_tensors() const;
  void set_normalization_tensors(const std::map<std::string, at::Tensor>& tensors);

  // --- differentiable transforms (training, tests) -----------------------
  // condition: (C), (1, C) broadcast to all rows, or (N, C).
  // x (N, D) in user units -> (z, log|det dz/dx| (N)).
  std::pair<at::Tensor, at::Tensor> to_latent(const at::Tensor& x, const at::Tensor& condition);
  // z (N, D) -> (x in user units, log|det dx/dz| (N)).
  std::pair<at::Tensor, at::Tensor> from_latent(const at::Tensor& z, const at::Tensor& condition);
  // log p(x | c) (N); -inf for rows outside the support (a log10 column <= 0).
  at::Tensor log_prob(const at::Tensor& x, const at::Tensor& condition);

  // --- inference: c10::InferenceMode, chunked, no autograd ---------------
  // log p(x | c) for any N, evaluated chunk_rows rows at a time on the
  // model's device; the result is on x's device.
  at::Tensor evaluate_log_prob(const at::Tensor& x, const at::Tensor& condition,
                               int64_t chunk_rows = kDefaultChunkRows);
  // n stars of one galaxy (condition (C) or (1, C)), or one star per row of
  // an (n, C) condition. Latent noise is drawn from `generator` on its own
  // device, chunk by chunk, so a fixed seed gives the same stars on any model
  // device. Returns a CPU tensor (n, D) in the model's dtype.
  at::Tensor sample(const at::Tensor& condition, int64_t n, at::Generator generator,
                    int64_t chunk_rows = kDefaultChunkRows);
  // Streaming form for n beyond memory: `sink(first_row, chunk)` receives
  // each chunk (on the model's device) in order; memory stays O(chunk_rows).
  void sample_chunks(const at::Tensor& condition, int64_t n, at::Generator generator,
                     int64_t chunk_rows,
                     const std::function<void(int64_t, const at::Tensor&)>& sink);

 private:
  at::Tensor prepare_condition(const at::Tensor& condition, int64_t rows) const;
  at::Tensor normalized_condition(const at::Tensor& condition, int64_t rows);
  at::TensorOptions model_options() const;

  FlowConfig config_;
  ColumnTransform data_norm_;
  ColumnTransform cond_norm_;
  torch::nn::ModuleList blocks_{nullptr};
};
TORCH_MODULE(ConditionalFlow);

}  // namespace gml::flow
