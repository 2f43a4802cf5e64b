// Run-time device choice: "cpu", "cuda", "cuda:N" or "auto".
#pragma once

#include <string>
#include <string_view>

#include <c10/core/Device.h>

namespace gml {

// Parses and validates a device string against the running machine.
// Throws Error(InvalidArgument) for a malformed string and Error(Device) when
// CUDA is asked for but LibTorch sees no usable GPU (or N is out of range).
c10::Device resolve_device(std::string_view spec);

// Canonical text of a device: "cpu" or "cuda:N".
std::string device_name(const c10::Device& device);

// Number of GPUs LibTorch can use (0 without CUDA or without a driver).
int cuda_device_count() noexcept;

}  // namespace gml
