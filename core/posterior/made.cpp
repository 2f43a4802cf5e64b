#include "core/posterior/made.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/common/error.h"

namespace gml::posterior {
namespace {

at::Tensor uniform(int64_t rows, int64_t cols, double bound, at::Generator& gen) {
  return at::empty(cols > 0 ? std::vector<int64_t>{rows, cols} : std::vector<int64_t>{rows})
      .uniform_(-bound, bound, gen);
}

}  // namespace

std::vector<int64_t> made_hidden_degrees(int64_t hidden, int64_t features) {
  const int64_t hi = std::max<int64_t>(1, features - 1);
  const int64_t lo = std::min<int64_t>(1, features - 1);
  std::vector<int64_t> d(static_cast<size_t>(hidden));
  for (int64_t j = 0; j < hidden; ++j) d[static_cast<size_t>(j)] = j % hi + lo;
  return d;
}

MadeImpl::MadeImpl(const MadeShape& shape, at::Generator generator) : shape_(shape) {
  const int64_t d = shape.features, h = shape.hidden;
  require(d >= 1 && shape.context >= 1 && h >= 1 && shape.blocks >= 0 && shape.multiplier >= 1,
          "MADE: features, context, hidden and multiplier must be positive");
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  std::vector<int64_t> in_degrees(static_cast<size_t>(d));
  std::iota(in_degrees.begin(), in_degrees.end(), 1);
  const std::vector<int64_t> hidden = made_hidden_degrees(h, d);

  auto mask = [&](const std::vector<int64_t>& out, const std::vector<int64_t>& in, bool output) {
    at::Tensor m =
        at::zeros({static_cast<int64_t>(out.size()), static_cast<int64_t>(in.size())}, opts);
    auto a = m.accessor<float, 2>();
    for (size_t o = 0; o < out.size(); ++o) {
      for (size_t i = 0; i < in.size(); ++i) {
        a[static_cast<int64_t>(o)][static_cast<int64_t>(i)] =
            (output ? out[o] > in[i] : out[o] >= in[i]) ? 1.0f : 0.0f;
      }
    }
    return m;
  };
  // Linear layers initialised as torch.nn.Linear: U(+-1/sqrt(fan_in)).
  auto add_layer = [&](const std::string& name, const std::vector<int64_t>& out,
                       const std::vector<int64_t>& in, bool output) {
    const int64_t rows = static_cast<int64_t>(out.size()), cols = static_cast<int64_t>(in.size());
    const double bound = 1.0 / std::sqrt(static_cast<double>(cols));
    weights_.push_back(register_parameter(name + "_weight", uniform(rows, cols, bound, generator)));
    biases_.push_back(register_parameter(name + "_bias", uniform(rows, 0, bound, generator)));
    masks_.push_back(register_buffer(name + "_mask", mask(out, in, output)));
  };
  add_layer("input", hidden, in_degrees, false);
  hidden_degrees_.push_back(hidden);
  {
    const double bound = 1.0 / std::sqrt(static_cast<double>(shape.context));
    context_weight_ =
        register_parameter("context_weight", uniform(h, shape.context, bound, generator));
    context_bias_ = register_parameter("context_bias", uniform(h, 0, bound, generator));
  }
  for (int64_t b = 0; b < shape.blocks; ++b) {
    add_layer("block" + std::to_string(b), hidden, hidden, false);
    hidden_degrees_.push_back(hidden);
  }
  std::vector<int64_t> out_degrees;
  for (int64_t i = 1; i <= d; ++i) {
    for (int64_t k = 0; k < shape.multiplier; ++k) out_degrees.push_back(i);
  }
  add_layer("output", out_degrees, hidden, true);
}

at::Tensor MadeImpl::hidden_activation(const at::Tensor& t) const {
  return shape_.activation == Activation::Tanh ? at::tanh(t) : at::relu(t);
}

at::Tensor MadeImpl::forward(const at::Tensor& inputs, const at::Tensor& context) {
  require(inputs.dim() == 2 && inputs.size(1) == shape_.features, "MADE: inputs must be (N, D)");
  require(context.dim() == 2 && context.size(1) == shape_.context &&
              (context.size(0) == 1 || context.size(0) == inputs.size(0)),
          "MADE: context must be (1, C) or (N, C)");
  at::Tensor h =
      hidden_activation(at::addmm(biases_[0], inputs, (weights_[0] * masks_[0]).t()) +
                        hidden_activation(at::addmm(context_bias_, context, context_weight_.t())));
  const size_t last = weights_.size() - 1;
  for (size_t l = 1; l < last; ++l) {
    h = hidden_activation(at::addmm(biases_[l], h, (weights_[l] * masks_[l]).t()));
  }
  return at::addmm(biases_[last], h, (weights_[last] * masks_[last]).t());
}

at::Tensor MadeImpl::invert_naive(const at::Tensor& z, const at::Tensor& context,
                                  const Solver& solve) {
  const int64_t m = shape_.multiplier;
  at::Tensor x = at::zeros_like(z);
  for (int64_t i = 0; i < shape_.features; ++i) {
    const at::Tensor params = forward(x, context).narrow(1, i * m, m);
    const at::Tensor col = solve(i, params, z.select(1, i));
    x = x.clone();
    x.select(1, i).copy_(col);
  }
  return x;
}

at::Tensor MadeImpl::invert(const at::Tensor& z, const at::Tensor& context, const Solver& solve,
                            int64_t context_repeat) {
  require(z.dim() == 2 && z.size(1) == shape_.features, "MADE: z must be (N, D)");
  const int64_t n = z.size(0), d = shape_.features, m = shape_.multiplier;
  const size_t layers = weights_.size();  // input, blocks, output
  const size_t hidden_layers = layers - 1;

  // Hidden units sorted by degree: a unit of degree k only reads earlier
  // units (or inputs) of degree <= k, i.e. a prefix of the sorted order.
  std::vector<at::Tensor> order(hidden_layers);
  std::vector<std::vector<int64_t>> upto(hidden_layers);  // upto[l][k]: units with degree <= k
  for (size_t l = 0; l < hidden_layers; ++l) {
    const auto& deg = hidden_degrees_[l];
    std::vector<int64_t> idx(deg.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return deg[a] < deg[b]; });
    order[l] = at::tensor(idx, at::TensorOptions().dtype(at::kLong)).to(z.device());
    upto[l].assign(static_cast<size_t>(d + 1), 0);
    for (int64_t v : deg) {
      for (int64_t k = v; k <= d; ++k) ++upto[l][static_cast<size_t>(k)];
    }
  }
  // Weights permuted to the sorted order (rows: this layer, columns: the
  // previous one). Masked entries inside the prefixes are all ones.
  std::vector<at::Tensor> w(layers), b(layers);
  for (size_t l = 0; l < layers; ++l) {
    at::Tensor wl = weights_[l] * masks_[l];
    at::Tensor bl = biases_[l];
    if (l < hidden_layers) {
      wl = wl.index_select(0, order[l]);
      bl = bl.index_select(0, order[l]);
    }
    if (l > 0) wl = wl.index_select(1, order[l - 1]);
    w[l] = wl.contiguous();
    b[l] = bl.contiguous();
  }
  require(context_repeat >= 1 && (context.size(0) == 1 || context.size(0) * context_repeat == n),
          "MADE: context rows times context_repeat must equal the rows of z");
  at::Tensor ctx = hidden_activation(at::addmm(context_bias_, context, context_weight_.t()))
                       .index_select(1, order[0]);
  if (context_repeat > 1 && ctx.size(0) > 1) ctx = ctx.repeat_interleave(context_repeat, 0);

  at::Tensor x = at::zeros_like(z);
  std::vector<at::Tensor> h(hidden_layers);
  for (size_t l = 0; l < hidden_layers; ++l) h[l] = at::zeros({n, shape_.hidden}, z.options());
  for (int64_t i = 0; i < d; ++i) {
    // Units of degree exactly i become computable once x_<i is known
    // (degree 0 exists only when D = 1).
    for (size_t l = 0; l < hidden_layers; ++l) {
      const int64_t first = i == 0 ? 0 : upto[l][static_cast<size_t>(i - 1)];
      const int64_t last = upto[l][static_cast<size_t>(i)];
      if (last == first) continue;
      at::Tensor pre;
      if (l == 0) {
        pre = ctx.narrow(1, first, last - first) + b[0].narrow(0, first, last - first);
        if (i > 0) {
          pre = pre +
                at::mm(x.narrow(1, 0, i), w[0].narrow(0, first, last - first).narrow(1, 0, i).t());
        }
      } else {
        const int64_t k = upto[l - 1][static_cast<size_t>(i)];
        pre = at::addmm(b[l].narrow(0, first, last - first), h[l - 1].narrow(1, 0, k),
                        w[l].narrow(0, first, last - first).narrow(1, 0, k).t());
      }
      h[l].narrow(1, first, last - first).copy_(hidden_activation(pre));
    }
    // Feature i's outputs read hidden units of degree < i + 1.
    const size_t top = hidden_layers - 1;
    const int64_t k = upto[top][static_cast<size_t>(i)];
    const at::Tensor rows_w = w[layers - 1].narrow(0, i * m, m);
    const at::Tensor rows_b = b[layers - 1].narrow(0, i * m, m);
    const at::Tensor params =
        k == 0 ? rows_b.unsqueeze(0).expand({n, m})
               : at::addmm(rows_b, h[top].narrow(1, 0, k), rows_w.narrow(1, 0, k).t());
    x.select(1, i).copy_(solve(i, params, z.select(1, i)));
  }
  return x;
}

}  // namespace gml::posterior
