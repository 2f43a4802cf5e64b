#include "core/common/module_io.h"

#include <torch/nn/module.h>

#include <set>

#include "core/common/error.h"

namespace gml {

void store_module(const torch::nn::Module& module, ModelFile& model) {
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    model.tensors[p.key()] = p.value().detach().to(at::kCPU).clone();
  }
  for (const auto& b : module.named_buffers(/*recurse=*/true)) {
    model.tensors[b.key()] = b.value().detach().to(at::kCPU).clone();
  }
}

void load_module(torch::nn::Module& module, const ModelFile& model) {
  at::NoGradGuard no_grad;
  std::set<std::string> expected;
  auto assign = [&](const std::string& name, at::Tensor& target) {
    expected.insert(name);
    auto it = model.tensors.find(name);
    if (it == model.tensors.end()) {
      fail(Status::Format, "model file lacks tensor '" + name + "' that the '" + model.family +
                               "' architecture needs");
    }
    const at::Tensor& src = it->second;
    if (src.sizes() != target.sizes()) {
      fail(Status::Format, "model file tensor '" + name + "' has shape " + c10::str(src.sizes()) +
                               ", the architecture expects " + c10::str(target.sizes()));
    }
    target.copy_(src.to(target.dtype()));
  };
  for (auto& p : module.named_parameters(true)) assign(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) assign(b.key(), b.value());
  for (const auto& [name, tensor] : model.tensors) {
    if (!expected.count(name)) {
      fail(Status::Format,
           "model file has tensor '" + name + "' that the configured architecture does not have");
    }
  }
}

}  // namespace gml
