#include "core/flow/inference_plan.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "core/common/error.h"
#include "core/common/threads.h"
#include "core/flow/conditional_flow.h"
#include "core/flow/lu_linear.h"

namespace gml::flow {
namespace {

// Rows per tile: the widest activation (tile x 145 floats) stays in L2.
constexpr int64_t kTileRows = 512;

const at::Tensor& parameter(const torch::OrderedDict<std::string, at::Tensor>& params,
                            const std::string& name) {
  const at::Tensor* t = params.find(name);
  if (t == nullptr) fail(Status::Internal, "inference plan: missing parameter " + name);
  return *t;
}

}  // namespace

struct InferencePlan::Scratch {
  explicit Scratch(const InferencePlan& plan)
      : hidden_a(static_cast<size_t>(kTileRows * plan.max_width_)),
        hidden_b(hidden_a.size()),
        fractions(static_cast<size_t>(kTileRows * plan.dim_ * 2 * plan.bins_)),
        linear(static_cast<size_t>(kTileRows * plan.dim_)) {}
  std::vector<float> hidden_a, hidden_b, fractions, linear;
};

bool InferencePlan::applies_to(const ConditionalFlowImpl& flow) {
  for (const auto& p : flow.parameters()) {
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat) return false;
  }
  return true;
}

InferencePlan::InferencePlan(const ConditionalFlowImpl& flow,
                             const at::Tensor& normalized_condition) {
  const FlowConfig& cfg = flow.config();
  require(applies_to(flow), "inference plan: needs a float32 CPU model");
  require(normalized_condition.dim() == 2 && normalized_condition.size(0) == 1 &&
              normalized_condition.size(1) == cfg.condition_dim,
          "inference plan: condition must be (1, C)");
  dim_ = cfg.data_dim;
  bins_ = cfg.num_bins;
  slope_ = cfg.leaky_relu_slope;
  output_activation_ = cfg.conditioner_output_activation;
  spline_.tail_bound = cfg.tail_bound;
  spline_.min_bin_width = cfg.min_bin_width;
  spline_.min_bin_height = cfg.min_bin_height;
  spline_.min_derivative = cfg.min_derivative;
  const int64_t per_dim = rq_spline_param_count(bins_);
  max_width_ = std::max(cfg.hidden_width, (dim_ - dim_ / 2) * per_dim);

  c10::InferenceMode guard;
  const auto params = flow.named_parameters();
  const auto modules = flow.named_modules("", /*include_self=*/false);
  const at::Tensor cond = normalized_condition.to(at::kFloat);

  auto mlp_layers = [&](const std::string& prefix) {
    std::vector<Layer> layers;
    for (int64_t i = 0; i <= cfg.hidden_layers; ++i) {
      const std::string p = prefix + "." + std::to_string(2 * i) + ".";
      layers.push_back({parameter(params, p + "weight").t().contiguous(),
                        parameter(params, p + "bias").contiguous()});
    }
    return layers;
  };
  auto make_half = [&](const std::string& prefix, int64_t offset, int64_t dim, int64_t given_offset,
                       int64_t given_dim) {
    Half h;
    h.offset = offset;
    h.dim = dim;
    h.given_offset = given_offset;
    h.given_dim = given_dim;
    h.layers = mlp_layers(prefix + ".data_net");
    // The condition MLP is constant for the galaxy: fold its output g into
    // the last layer, (W h + b) * g = (W diag(g)^T) h + b * g, unless an
    // activation follows that layer.
    at::Tensor g = cond;
    const std::vector<Layer> gate = mlp_layers(prefix + ".condition_net");
    for (size_t i = 0; i < gate.size(); ++i) {
      g = at::addmm(gate[i].bias, g, gate[i].weight_t);
      if (i + 1 < gate.size() || output_activation_) at::leaky_relu_(g, slope_);
    }
    g = g.reshape({-1});
    if (output_activation_) {
      h.gate = g.contiguous();
      return h;
    }
    Layer& last = h.layers.back();
    last.weight_t = (last.weight_t * g.unsqueeze(0)).contiguous();
    last.bias = (last.bias * g).contiguous();
    return h;
  };

  const int64_t d1 = dim_ / 2, d2 = dim_ - d1;
  for (int64_t b = 0; b < cfg.num_blocks; ++b) {
    const std::string prefix = "blocks." + std::to_string(b);
    const auto* entry = modules.find(prefix + ".linear");
    require(entry != nullptr, "inference plan: missing " + prefix + ".linear");
    const auto lu = std::dynamic_pointer_cast<LULinearImpl>(*entry);
    require(lu != nullptr, "inference plan: " + prefix + ".linear is not an LU layer");
    Block block;
    const at::Tensor w = lu->weight();
    block.weight_t = w.t().contiguous();
    block.inv_weight_t = at::linalg_inv(w.to(at::kDouble)).to(at::kFloat).t().contiguous();
    block.logabsdet = lu->logabsdet().item<float>();
    block.first = make_half(prefix + ".coupling.first", 0, d1, d1, d2);
    block.second = make_half(prefix + ".coupling.second", d1, d2, 0, d1);
    blocks_.push_back(std::move(block));
  }
}

void InferencePlan::apply_linear(const at::Tensor& weight_t, float* rows, int64_t m,
                                 Scratch& s) const {
  const at::Tensor in = at::from_blob(rows, {m, dim_});
  at::Tensor out = at::from_blob(s.linear.data(), {m, dim_});
  at::mm_out(out, in, weight_t);
  std::memcpy(rows, s.linear.data(), static_cast<size_t>(m * dim_) * sizeof(float));
}

void InferencePlan::apply_half(const Half& half, float* rows, int64_t m, float* logdet,
                               bool inverse, Scratch& s) const {
  at::Tensor h = at::from_blob(rows + half.given_offset, {m, half.given_dim}, {dim_, 1});
  float* buffers[2] = {s.hidden_a.data(), s.hidden_b.data()};
  const size_t n = half.layers.size();
  for (size_t i = 0; i < n; ++i) {
    const Layer& layer = half.layers[i];
    at::Tensor out = at::from_blob(buffers[i % 2], {m, layer.weight_t.size(1)});
    at::addmm_out(out, layer.bias, h, layer.weight_t);
    if (i + 1 < n || output_activation_) at::leaky_relu_(out, slope_);
    h = out;
  }
  if (half.gate.defined()) h.mul_(half.gate);
  rq_spline_rows(rows + half.offset, dim_, m, half.dim, h.data_ptr<float>(), s.fractions.data(),
                 bins_, inverse, spline_, logdet);
}

void InferencePlan::run_tile(float* x, int64_t m, float* ld, bool to_latent, Scratch& s) const {
  if (to_latent) {
    for (const Block& b : blocks_) {
      apply_linear(b.weight_t, x, m, s);
      if (ld) {
        for (int64_t i = 0; i < m; ++i) ld[i] += b.logabsdet;
      }
      apply_half(b.second, x, m, ld, false, s);
      apply_half(b.first, x, m, ld, false, s);
    }
  } else {
    for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
      apply_half(it->first, x, m, nullptr, true, s);
      apply_half(it->second, x, m, nullptr, true, s);
      apply_linear(it->inv_weight_t, x, m, s);
    }
  }
}

void InferencePlan::run_tiles(float* rows, int64_t n, float* logdet, bool to_latent) const {
  const int64_t tiles = (n + kTileRows - 1) / kTileRows;
  // Threads take whole tiles from a shared counter, each running its tile's
  // small matrix products on one thread. Splitting inside the products
  // instead (oneMKL's team) makes every product a barrier, and beside a busy
  // process those barriers wait on a descheduled thread: sampling with two
  // threads then ran 2.7 times slower than with one (bench/threads). Tiles
  // taken from a counter leave no barrier but the final join, and a thread
  // that gets less CPU simply takes fewer tiles.
  const int64_t workers = std::min<int64_t>(std::max(1, at::get_num_threads()), tiles);
  std::atomic<int64_t> next{0};
  std::mutex failure_lock;
  std::exception_ptr failure;
  auto work = [&] {
    try {
      c10::InferenceMode guard;
      CallThreads one(1);
      Scratch s(*this);
      for (int64_t t = next++; t < tiles; t = next++) {
        const int64_t r0 = t * kTileRows;
        run_tile(rows + r0 * dim_, std::min(kTileRows, n - r0), logdet ? logdet + r0 : nullptr,
                 to_latent, s);
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_lock);
      if (!failure) failure = std::current_exception();
      next = tiles;  // the others stop after their current tile
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(std::max<int64_t>(workers - 1, 0)));
  for (int64_t i = 1; i < workers; ++i) helpers.emplace_back(work);
  work();
  for (std::thread& h : helpers) h.join();
  if (failure) std::rethrow_exception(failure);
}

void InferencePlan::to_latent(float* u, int64_t n, float* logdet) const {
  require(n == 0 || (u != nullptr && logdet != nullptr), "inference plan: NULL rows");
  c10::InferenceMode guard;
  run_tiles(u, n, logdet, true);
}

void InferencePlan::from_latent(float* z, int64_t n) const {
  require(n == 0 || z != nullptr, "inference plan: NULL rows");
  c10::InferenceMode guard;
  run_tiles(z, n, nullptr, false);
}

}  // namespace gml::flow
