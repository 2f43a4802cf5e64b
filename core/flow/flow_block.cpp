#include "core/flow/flow_block.h"

#include <torch/torch.h>

namespace gml::flow {

FlowBlockImpl::FlowBlockImpl(const FlowConfig& config, at::Generator generator) {
  linear_ = register_module("linear", LULinear(config.data_dim, generator));
  coupling_ = register_module("coupling", SplineCoupling(config, generator));
}

std::pair<at::Tensor, at::Tensor> FlowBlockImpl::forward(const at::Tensor& x,
                                                         const at::Tensor& condition) {
  auto [h, ld_linear] = linear_->forward(x);
  auto [y, ld_coupling] = coupling_->forward(h, condition);
  return {y, ld_linear + ld_coupling};
}

std::pair<at::Tensor, at::Tensor> FlowBlockImpl::inverse(const at::Tensor& y,
                                                         const at::Tensor& condition) {
  auto [h, ld_coupling] = coupling_->inverse(y, condition);
  auto [x, ld_linear] = linear_->inverse(h);
  return {x, ld_linear + ld_coupling};
}

}  // namespace gml::flow
