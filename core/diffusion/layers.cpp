#include "core/diffusion/layers.h"

#include <ATen/ATen.h>

namespace gml::diffusion {

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                       int64_t padding)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {
  reset();
}

void Conv2dImpl::reset() {
  weight = register_parameter("weight", at::empty({out_channels_, in_channels_, kernel_, kernel_}));
  bias = register_parameter("bias", at::empty({out_channels_}));
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) {
  return at::conv2d(x, weight, bias, stride_, padding_);
}

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias)
    : in_features_(in_features), out_features_(out_features), with_bias_(with_bias) {
  reset();
}

void LinearImpl::reset() {
  weight = register_parameter("weight", at::empty({out_features_, in_features_}));
  bias = with_bias_ ? register_parameter("bias", at::empty({out_features_})) : at::Tensor();
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  return at::linear(x, weight, bias);
}

EmbeddingImpl::EmbeddingImpl(int64_t count, int64_t dim) : count_(count), dim_(dim) {
  reset();
}

void EmbeddingImpl::reset() {
  weight = register_parameter("weight", at::empty({count_, dim_}));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) {
  return at::embedding(weight, ids);
}

}  // namespace gml::diffusion
