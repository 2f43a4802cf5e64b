#include "core/flow/conditional_flow.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common/error.h"
#include "core/flow/flow_block.h"
#include "core/flow/inference_plan.h"

namespace gml::flow {
namespace {

const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);

}  // namespace

ConditionalFlowImpl::ConditionalFlowImpl(const FlowConfig& config, uint64_t seed)
    : ConditionalFlowImpl(config, at::detail::createCPUGenerator(seed)) {}

ConditionalFlowImpl::ConditionalFlowImpl(const FlowConfig& config, at::Generator generator)
    : config_(config) {
  config_.validate();
  require(generator.defined(), "ConditionalFlow: undefined generator");
  data_norm_ = ColumnTransform(config_.data_dim, config_.log_columns);
  cond_norm_ = ColumnTransform(config_.condition_dim, config_.condition_log_columns);
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_blocks; ++i) {
    blocks_->push_back(FlowBlock(config_, generator));
  }
}

int64_t ConditionalFlowImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

at::TensorOptions ConditionalFlowImpl::model_options() const {
  return blocks_->ptr<FlowBlockImpl>(0)->parameters().front().options().requires_grad(false);
}

void ConditionalFlowImpl::fit_normalization(const at::Tensor& data, const at::Tensor& conditions) {
  require(data.dim() == 2 && conditions.dim() == 2 && data.size(0) == conditions.size(0),
          "fit_normalization: data (N, D) and conditions (N, C) must have the same rows");
  data_norm_.fit(data);
  cond_norm_.fit(conditions);
}

std::map<std::string, at::Tensor> ConditionalFlowImpl::normalization_tensors() const {
  return {{"data_mean", data_norm_.mean()},         {"data_std", data_norm_.std()},
          {"data_log10", data_norm_.log10_flags()}, {"condition_mean", cond_norm_.mean()},
          {"condition_std", cond_norm_.std()},      {"condition_log10", cond_norm_.log10_flags()}};
}

void ConditionalFlowImpl::set_normalization_tensors(
    const std::map<std::string, at::Tensor>& tensors) {
  auto get = [&tensors](const std::string& key) {
    auto it = tensors.find(key);
    if (it == tensors.end()) fail(Status::Format, "flow normalization: missing " + key);
    return it->second;
  };
  ColumnTransform data = data_norm_;
  ColumnTransform cond = cond_norm_;
  data.set_statistics(get("data_mean"), get("data_std"), get("data_log10"));
  cond.set_statistics(get("condition_mean"), get("condition_std"), get("condition_log10"));
  data_norm_ = data;
  cond_norm_ = cond;
}

at::Tensor ConditionalFlowImpl::prepare_condition(const at::Tensor& condition, int64_t rows) const {
  require(condition.defined(), "flow: undefined condition");
  const int64_t c = config_.condition_dim;
  at::Tensor out = condition;
  if (out.dim() == 1) out = out.unsqueeze(0);
  require(out.dim() == 2 && out.size(1) == c,
          "flow: condition must be (C), (1, C) or (N, C) with C = " + std::to_string(c));
  require(out.size(0) == 1 || out.size(0) == rows, "flow: condition has " +
                                                       std::to_string(out.size(0)) + " rows for " +
                                                       std::to_string(rows) + " data rows");
  return out;
}

at::Tensor ConditionalFlowImpl::normalized_condition(const at::Tensor& condition, int64_t rows) {
  at::Tensor c = prepare_condition(condition, rows).to(model_options());
  ColumnTransform::Forward f = cond_norm_.forward(c);
  require(f.in_support.all().item<bool>(), "flow: condition has a non-positive log10 column");
  return f.values;
}

std::pair<at::Tensor, at::Tensor> ConditionalFlowImpl::to_latent(const at::Tensor& x,
                                                                 const at::Tensor& condition) {
  require(x.defined() && x.dim() == 2 && x.size(1) == config_.data_dim,
          "flow: data must be (N, " + std::to_string(config_.data_dim) + ")");
  const at::Tensor c = normalized_condition(condition, x.size(0));
  ColumnTransform::Forward f =
      data_norm_.forward(x.to(model_options().device()).to(c.scalar_type()));
  at::Tensor u = f.values;
  at::Tensor logdet = f.logabsdet;
  for (size_t i = 0; i < blocks_->size(); ++i) {
    auto [next, ld] = blocks_->ptr<FlowBlockImpl>(i)->forward(u, c);
    u = next;
    logdet = logdet + ld;
  }
  return {u, logdet};
}

std::pair<at::Tensor, at::Tensor> ConditionalFlowImpl::from_latent(const at::Tensor& z,
                                                                   const at::Tensor& condition) {
  require(z.defined() && z.dim() == 2 && z.size(1) == config_.data_dim,
          "flow: latent must be (N, " + std::to_string(config_.data_dim) + ")");
  const at::Tensor c = normalized_condition(condition, z.size(0));
  at::Tensor u = z.to(model_options().device()).to(c.scalar_type());
  at::Tensor logdet = at::zeros({z.size(0)}, u.options());
  for (size_t i = blocks_->size(); i-- > 0;) {
    auto [prev, ld] = blocks_->ptr<FlowBlockImpl>(i)->inverse(u, c);
    u = prev;
    logdet = logdet + ld;
  }
  auto [x, ld_norm] = data_norm_.inverse(u);
  return {x, logdet + ld_norm};
}

at::Tensor ConditionalFlowImpl::log_prob(const at::Tensor& x, const at::Tensor& condition) {
  auto [z, logdet] = to_latent(x, condition);
  at::Tensor lp = -0.5 * z.pow(2).sum(-1) - kHalfLog2Pi * static_cast<double>(z.size(1)) + logdet;
  const at::Tensor in_support =
      data_norm_.forward(x.to(lp.device()).to(lp.scalar_type())).in_support;
  return at::where(in_support, lp, at::full_like(lp, -std::numeric_limits<double>::infinity()));
}

at::Tensor ConditionalFlowImpl::evaluate_log_prob(const at::Tensor& x, const at::Tensor& condition,
                                                  int64_t chunk_rows) {
  require(chunk_rows >= 1, "evaluate_log_prob: chunk_rows must be positive");
  require(x.defined() && x.dim() == 2 && x.size(1) == config_.data_dim,
          "flow: data must be (N, " + std::to_string(config_.data_dim) + ")");
  const int64_t n = x.size(0);
  const at::Tensor cond = prepare_condition(condition, n);
  const bool per_row = cond.size(0) > 1;
  // Allocated outside InferenceMode so callers get an ordinary tensor.
  at::Tensor out = at::empty({n}, x.options().dtype(model_options().dtype()));
  c10::InferenceMode guard;
  if (!per_row && InferencePlan::applies_to(*this)) {
    const InferencePlan plan(*this, normalized_condition(cond, 1));
    const double base = -kHalfLog2Pi * static_cast<double>(config_.data_dim);
    for (int64_t first = 0; first < n; first += chunk_rows) {
      const int64_t m = std::min(chunk_rows, n - first);
      ColumnTransform::Forward f =
          data_norm_.forward(x.narrow(0, first, m).to(at::kCPU, at::kFloat));
      // The transform's arithmetic always allocates, so u never aliases x.
      at::Tensor u = f.values.contiguous();
      at::Tensor logdet = f.logabsdet.to(at::kFloat).contiguous().clone();
      plan.to_latent(u.data_ptr<float>(), m, logdet.data_ptr<float>());
      at::Tensor lp = -0.5 * u.pow(2).sum(-1) + base + logdet;
      lp = at::where(f.in_support, lp, at::full_like(lp, -std::numeric_limits<double>::infinity()));
      out.narrow(0, first, m).copy_(lp);
    }
    return out;
  }
  for (int64_t first = 0; first < n; first += chunk_rows) {
    const int64_t m = std::min(chunk_rows, n - first);
    const at::Tensor c = per_row ? cond.narrow(0, first, m) : cond;
    out.narrow(0, first, m).copy_(log_prob(x.narrow(0, first, m), c));
  }
  return out;
}

void ConditionalFlowImpl::sample_chunks(
    const at::Tensor& condition, int64_t n, at::Generator generator, int64_t chunk_rows,
    const std::function<void(int64_t, const at::Tensor&)>& sink) {
  require(n >= 0, "sample: n must be non-negative");
  require(chunk_rows >= 1, "sample: chunk_rows must be positive");
  require(generator.defined(), "sample: undefined generator");
  c10::InferenceMode guard;
  const at::Tensor cond = prepare_condition(condition, n);
  const bool per_row = cond.size(0) > 1;
  const at::TensorOptions opts = model_options();
  const at::TensorOptions noise_opts = opts.device(generator.device());
  if (!per_row && n > 0 && generator.device().is_cpu() && InferencePlan::applies_to(*this)) {
    const InferencePlan plan(*this, normalized_condition(cond, 1));
    for (int64_t first = 0; first < n; first += chunk_rows) {
      const int64_t m = std::min(chunk_rows, n - first);
      at::Tensor z = at::randn({m, config_.data_dim}, generator, noise_opts).contiguous();
      plan.from_latent(z.data_ptr<float>(), m);
      sink(first, data_norm_.inverse(z).first);
    }
    return;
  }
  for (int64_t first = 0; first < n; first += chunk_rows) {
    const int64_t m = std::min(chunk_rows, n - first);
    const at::Tensor c = per_row ? cond.narrow(0, first, m) : cond;
    at::Tensor z = at::randn({m, config_.data_dim}, generator, noise_opts).to(opts.device());
    sink(first, from_latent(z, c).first);
  }
}

at::Tensor ConditionalFlowImpl::sample(const at::Tensor& condition, int64_t n,
                                       at::Generator generator, int64_t chunk_rows) {
  require(n >= 0, "sample: n must be non-negative");
  // Allocated outside InferenceMode so callers get an ordinary tensor.
  at::Tensor out = at::empty({n, config_.data_dim}, model_options().device(at::kCPU));
  sample_chunks(condition, n, std::move(generator), chunk_rows,
                [&out](int64_t first, const at::Tensor& chunk) {
                  out.narrow(0, first, chunk.size(0)).copy_(chunk);
                });
  return out;
}

}  // namespace gml::flow
