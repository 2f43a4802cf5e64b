// The caller's arrays as tensors, checked at the ABI: a NULL pointer, a size
// that overflows or a NaN/Inf is an argument error naming the array, before
// any work is done.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <cstring>

namespace gml::capi {

// Throws Error(InvalidArgument) naming `what` and the first `unit` (row,
// query, …) of `rows` (N, …) that holds a NaN or an Inf.
void require_finite_rows(const at::Tensor& rows, const char* what, const char* unit = "row");

// A copy of the caller's `rows` x `cols` doubles, checked as above.
at::Tensor caller_rows(const double* data, int64_t rows, int64_t cols, const char* what);

// The caller's n images of channels x height x width floats, not copied: the
// caller's array outlives the call.
at::Tensor caller_images(const float* images, int64_t n, int64_t channels, int64_t height,
                         int64_t width);

// Copies `t` into the caller's array as T (a NULL array is not asked for).
template <typename T>
void copy_out(const at::Tensor& t, T* out) {
  if (!out) return;
  const at::Tensor c = t.to(at::kCPU, c10::CppTypeToScalarType<T>::value).contiguous();
  std::memcpy(out, c.data_ptr<T>(), static_cast<size_t>(c.numel()) * sizeof(T));
}

}  // namespace gml::capi
