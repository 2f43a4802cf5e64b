// MADE (Germain et al. 2015), the masked autoencoder under every block of the
// posterior family's autoregressive flows, with a context (the observation)
// feeding the first hidden layer.
//
// Layout and degrees follow nflows' MADE (0.14) with sequential masks and no
// residual blocks, so weights trained there load here:
//   h0 = act(W0 x + b0 + act(Wc c + bc))       input layer, masked
//   h  = act(Wb h + bb)                        `blocks` masked blocks
//   out = Wo h + bo                            masked output layer
// giving `multiplier` values per feature, feature-major (feature i owns
// outputs [i * multiplier, (i + 1) * multiplier)). Feature i (0-based) has
// degree i + 1; hidden unit j has degree j mod max(1, D - 1) + min(1, D - 1).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace gml::posterior {

enum class Activation { Tanh, Relu };

struct MadeShape {
  int64_t features = 0;    // D
  int64_t context = 0;     // C, the observation's dimension
  int64_t hidden = 50;     // width of every hidden layer
  int64_t blocks = 2;      // masked feed-forward blocks after the input layer
  int64_t multiplier = 2;  // outputs per feature
  Activation activation = Activation::Tanh;
};

class MadeImpl : public torch::nn::Module {
 public:
  MadeImpl(const MadeShape& shape, at::Generator generator);

  const MadeShape& shape() const { return shape_; }

  // inputs (N, D), context (N, C) or (1, C) -> (N, D * multiplier).
  at::Tensor forward(const at::Tensor& inputs, const at::Tensor& context);

  // Solves the autoregressive system x_i = solve(i, params_i(x_<i), z_i)
  // for x, where params_i (N, multiplier) are feature i's outputs. Hidden
  // units only see inputs of lower degree, so each is computed once, in
  // degree order: the cost is about one forward pass instead of D.
  // `solve` returns column i of x (N).
  using Solver =
      std::function<at::Tensor(int64_t feature, const at::Tensor& params, const at::Tensor& z)>;
  // `context` (N / context_repeat, C): each row serves `context_repeat`
  // consecutive rows of z (many draws of one observation), so the context
  // layer runs once per observation.
  at::Tensor invert(const at::Tensor& z, const at::Tensor& context, const Solver& solve,
                    int64_t context_repeat = 1);
  // The same by D full forward passes (the textbook method), for tests.
  at::Tensor invert_naive(const at::Tensor& z, const at::Tensor& context, const Solver& solve);

 private:
  at::Tensor hidden_activation(const at::Tensor& t) const;

  MadeShape shape_;
  std::vector<at::Tensor> weights_;  // input, blocks..., output: (out, in)
  std::vector<at::Tensor> biases_;
  std::vector<at::Tensor> masks_;                     // buffers, same shapes as weights_
  std::vector<std::vector<int64_t>> hidden_degrees_;  // per hidden layer
  at::Tensor context_weight_;                         // (hidden, C)
  at::Tensor context_bias_;
};
TORCH_MODULE(Made);

// Degrees of nflows' sequential masks (exposed for tests).
std::vector<int64_t> made_hidden_degrees(int64_t hidden, int64_t features);

}  // namespace gml::posterior
