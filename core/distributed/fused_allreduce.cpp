#include "core/distributed/fused_allreduce.h"

#include <ATen/ATen.h>

#include <chrono>

#include "core/common/error.h"

namespace gml::dist {

FusedAllreduce::FusedAllreduce(Backend& backend, size_t bucket_bytes)
    : backend_(backend), bucket_bytes_(bucket_bytes) {
  require(bucket_bytes >= sizeof(float), "fused allreduce: bucket size must be at least 4 bytes");
}

void FusedAllreduce::plan(const std::vector<at::Tensor>& tensors) {
  const size_t per_bucket = bucket_bytes_ / sizeof(float);
  size_t first = 0, filled = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t n = static_cast<size_t>(tensors[i].numel());
    // A tensor larger than a bucket gets a bucket of its own.
    if (filled > 0 && filled + n > per_bucket) {
      bounds_.emplace_back(first, i);
      first = i;
      filled = 0;
    }
    filled += n;
    elements_ += static_cast<int64_t>(n);
    numels_.push_back(tensors[i].numel());
  }
  bounds_.emplace_back(first, tensors.size());
}

void FusedAllreduce::reduce(const std::vector<at::Tensor>& tensors, double scale,
                            std::vector<double>* extra) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    require(tensors[i].defined() && tensors[i].scalar_type() == at::kFloat,
            "fused allreduce: tensor " + std::to_string(i) + " is not a defined float32 tensor");
  }
  if (bounds_.empty()) plan(tensors);
  bool same = tensors.size() == numels_.size();
  for (size_t i = 0; same && i < tensors.size(); ++i) same = tensors[i].numel() == numels_[i];
  require(same, "fused allreduce: the tensor list changed since the first call");

  if (backend_.size() > 1) {
    const auto w0 = std::chrono::steady_clock::now();
    backend_.barrier();
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  }

  const size_t n_extra = extra ? extra->size() : 0;
  for (size_t b = 0; b < bounds_.size(); ++b) {
    const auto [first, last] = bounds_[b];
    const bool carries_extra = b + 1 == bounds_.size();
    size_t n = 0;
    for (size_t i = first; i < last; ++i) n += static_cast<size_t>(numels_[i]);
    flat_.resize(n + (carries_extra ? n_extra : 0));
    // Pack: one (device-to-host) copy per tensor into the bucket.
    size_t at = 0;
    for (size_t i = first; i < last; ++i) {
      const int64_t len = numels_[i];
      at::from_blob(flat_.data() + at, {len}, at::kFloat).copy_(tensors[i].detach().reshape({-1}));
      at += static_cast<size_t>(len);
    }
    if (carries_extra)
      for (size_t e = 0; e < n_extra; ++e) flat_[n + e] = static_cast<float>((*extra)[e]);

    const auto t0 = std::chrono::steady_clock::now();
    if (backend_.size() > 1) backend_.allreduce_sum(flat_.data(), flat_.size());
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++calls_;

    at::Tensor whole = at::from_blob(flat_.data(), {static_cast<int64_t>(n)}, at::kFloat);
    if (scale != 1.0) whole.mul_(scale);
    at = 0;
    for (size_t i = first; i < last; ++i) {
      const at::Tensor& t = tensors[i];
      t.detach().copy_(whole.narrow(0, static_cast<int64_t>(at), numels_[i]).view(t.sizes()));
      at += static_cast<size_t>(numels_[i]);
    }
    if (carries_extra)
      for (size_t e = 0; e < n_extra; ++e) (*extra)[e] = flat_[n + e];
  }
}

void broadcast_tensors(Backend& backend, const std::vector<at::Tensor>& tensors, int root) {
  if (backend.size() <= 1) return;
  size_t total = 0;
  for (const at::Tensor& t : tensors) total += static_cast<size_t>(t.numel() * t.element_size());
  std::vector<uint8_t> bytes(total);
  auto view_of = [&](size_t at, const at::Tensor& t) {
    return at::from_blob(bytes.data() + at, t.sizes(), t.options().device(at::kCPU));
  };
  size_t at = 0;
  if (backend.rank() == root) {
    for (const at::Tensor& t : tensors) {
      view_of(at, t).copy_(t.detach());
      at += static_cast<size_t>(t.numel() * t.element_size());
    }
  }
  backend.broadcast(bytes.data(), bytes.size(), root);
  at = 0;
  for (const at::Tensor& t : tensors) {
    t.detach().copy_(view_of(at, t));
    at += static_cast<size_t>(t.numel() * t.element_size());
  }
}

}  // namespace gml::dist
