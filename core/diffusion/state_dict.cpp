#include "core/diffusion/state_dict.h"

#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <vector>

#include "core/common/error.h"
#include "core/common/safetensors.h"

namespace gml::diffusion {
namespace {

// Both sources reduce to: the names they hold, a shape per name without
// reading data, and a reader.
struct TensorSource {
  std::string where;
  std::vector<std::string> names;
  std::function<bool(const std::string&)> contains;
  std::function<std::vector<int64_t>(const std::string&)> shape;
  std::function<at::Tensor(const std::string&)> read;
  // Reads straight into a target of the stored dtype and layout (no copy,
  // no second allocation), returning false where it cannot. Optional.
  std::function<bool(const std::string&, const at::Tensor&)> read_into;
};

void load_from(torch::nn::Module& module, const TensorSource& source, const IgnoredKeys& ignored) {
  at::NoGradGuard no_grad;
  std::set<std::string> expected;
  auto assign = [&](const std::string& name, at::Tensor& target) {
    expected.insert(name);
    if (!source.contains(name)) {
      fail(Status::Format, source.where + ": missing tensor '" + name + "'");
    }
    const std::vector<int64_t> shape = source.shape(name);
    if (at::IntArrayRef(shape) != target.sizes()) {
      fail(Status::Format, source.where + ": tensor '" + name + "' has shape " +
                               c10::str(at::IntArrayRef(shape)) + ", the configuration expects " +
                               c10::str(target.sizes()));
    }
    if (source.read_into && source.read_into(name, target)) return;
    at::Tensor stored = source.read(name);
    if (target.is_floating_point() && !stored.is_floating_point()) {
      fail(Status::Format, source.where + ": tensor '" + name + "' is stored as " +
                               std::string(c10::toString(stored.scalar_type())) +
                               ", a floating-point type is needed");
    }
    // An index buffer filled from floats would be truncated silently.
    if (!target.is_floating_point() && (stored.is_floating_point() || stored.is_complex())) {
      fail(Status::Format, source.where + ": tensor '" + name + "' is stored as " +
                               std::string(c10::toString(stored.scalar_type())) +
                               ", an integer type is needed");
    }
    target.copy_(stored.to(target.dtype()));
  };
  for (auto& p : module.named_parameters(true)) assign(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) assign(b.key(), b.value());
  for (const std::string& name : source.names) {
    if (!expected.count(name) && !ignored.count(name)) {
      fail(Status::Format, source.where + ": tensor '" + name +
                               "' is not part of the configured architecture (a checkpoint "
                               "written for another configuration?)");
    }
  }
}

}  // namespace

void load_state_dict(torch::nn::Module& module, const SafetensorsFile& file,
                     const IgnoredKeys& ignored) {
  TensorSource source;
  source.where = file.path();
  source.names = file.names();
  source.contains = [&](const std::string& n) { return file.contains(n); };
  source.shape = [&](const std::string& n) { return file.entry(n).shape; };
  source.read = [&](const std::string& n) { return file.read(n); };
  source.read_into = [&](const std::string& n, const at::Tensor& t) {
    return file.read_into(n, t);
  };
  load_from(module, source, ignored);
}

void load_state_dict(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                     const std::string& where, const IgnoredKeys& ignored) {
  TensorSource source;
  source.where = where;
  for (const auto& entry : tensors) source.names.push_back(entry.first);
  source.contains = [&](const std::string& n) { return tensors.count(n) != 0; };
  source.shape = [&](const std::string& n) { return tensors.at(n).sizes().vec(); };
  source.read = [&](const std::string& n) { return tensors.at(n); };
  load_from(module, source, ignored);
}

std::map<std::string, at::Tensor> state_dict_of(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> tensors;
  for (const auto& p : module.named_parameters(true)) tensors[p.key()] = p.value().detach();
  for (const auto& b : module.named_buffers(true)) tensors[b.key()] = b.value().detach();
  return tensors;
}

void require_config_fits_file(const SafetensorsFile& file, double config_parameters,
                              const std::string& config_path) {
  double stored = 0;
  for (const std::string& name : file.names()) {
    double n = 1;
    for (int64_t d : file.entry(name).shape) n *= static_cast<double>(d);
    stored += n;
  }
  if (config_parameters > stored) {
    char text[160];
    std::snprintf(text, sizeof text,
                  " asks for at least %.4g parameters but the checkpoint holds %.4g",
                  config_parameters, stored);
    fail(Status::Format,
         config_path + text + " (" + file.path() + "); config and weights disagree");
  }
}

}  // namespace gml::diffusion
