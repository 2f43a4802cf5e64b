#include "core/common/family_file.h"

#include <ATen/ATen.h>

#include "core/common/module_io.h"

namespace gml {

ModelFile network_model_file(const char* family, const torch::nn::Module& network,
                             const std::string& config, const std::string& provenance) {
  ModelFile file;
  file.family = family;
  file.config = config;
  file.provenance = provenance;
  store_module(network, file);
  return file;
}

at::Tensor text_tensor(const std::string& text) {
  return at::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                       at::kByte)
      .clone();
}

std::string tensor_text(const at::Tensor& bytes) {
  const at::Tensor b = bytes.to(at::kByte).contiguous();
  return std::string(reinterpret_cast<const char*>(b.data_ptr<uint8_t>()),
                     static_cast<size_t>(b.numel()));
}

void store_training_range(ModelFile& file, const char* min_key, const char* max_key,
                          const at::Tensor& min, const at::Tensor& max) {
  if (!min.defined()) return;
  file.normalization[min_key] = min.to(at::kCPU, at::kDouble);
  file.normalization[max_key] = max.to(at::kCPU, at::kDouble);
}

TensorMap take_training_range(const ModelFile& file, const char* min_key, const char* max_key,
                              at::Tensor& min, at::Tensor& max) {
  TensorMap rest;
  for (const auto& [name, t] : file.normalization) {
    if (name == min_key) {
      min = t;
    } else if (name == max_key) {
      max = t;
    } else {
      rest[name] = t;
    }
  }
  return rest;
}

}  // namespace gml
