#include "core/common/device.h"

#include <torch/cuda.h>

#include <cctype>

#include "core/common/error.h"

namespace gml {

int cuda_device_count() noexcept {
  try {
    return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  } catch (...) {
    return 0;  // a broken driver is the same as no GPU for device choice
  }
}

c10::Device resolve_device(std::string_view spec) {
  std::string s(spec);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "cpu") return c10::Device(c10::kCPU);
  const int n_gpu = cuda_device_count();
  if (s == "auto") return n_gpu > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  int index = -1;
  if (s == "cuda") {
    index = 0;
  } else if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 8) {
    index = 0;
    for (size_t i = 5; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
        index = -1;
        break;
      }
      index = index * 10 + (s[i] - '0');
    }
  }
  if (index < 0) {
    fail(Status::InvalidArgument,
         "unknown device '" + std::string(spec) + "': use cpu, cuda, cuda:N or auto");
  }
  if (n_gpu == 0) {
    fail(Status::Device, "device '" + std::string(spec) +
                             "' requested but LibTorch reports no usable CUDA GPU on this "
                             "machine (use device \"cpu\" or \"auto\")");
  }
  if (index >= n_gpu) {
    fail(Status::Device, "device '" + std::string(spec) + "' requested but only " +
                             std::to_string(n_gpu) + " CUDA GPU(s) are visible");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string device_name(const c10::Device& device) {
  if (device.is_cpu()) return "cpu";
  return "cuda:" + std::to_string(device.has_index() ? device.index() : 0);
}

}  // namespace gml
