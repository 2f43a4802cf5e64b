#include "core/diffusion/noise_source.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/common/error.h"

namespace gml::diffusion {

at::Generator& SeededNoise::generator_of(int64_t image) {
  while (static_cast<int64_t>(generators_.size()) <= image) {
    generators_.push_back(at::detail::createCPUGenerator(seed_ + generators_.size()));
  }
  return generators_[static_cast<size_t>(image)];
}

at::Tensor SeededNoise::images(int64_t first, int64_t count, at::IntArrayRef per_image) {
  std::vector<int64_t> one = {1};
  one.insert(one.end(), per_image.begin(), per_image.end());
  std::vector<at::Tensor> draws;
  draws.reserve(static_cast<size_t>(count));
  for (int64_t i = first; i < first + count; ++i) {
    // at::randn locks the generator itself.
    draws.push_back(at::randn(one, generator_of(i), at::TensorOptions().dtype(at::kFloat)));
  }
  return at::cat(draws, 0);
}

at::Tensor SeededNoise::reference(at::IntArrayRef shape) {
  // Its own stream, so the reference's draw moves no image's sequence.
  at::Generator gen = at::detail::createCPUGenerator(seed_ ^ 0x9E3779B97F4A7C15ULL);
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
}

ReplayedNoise::ReplayedNoise(std::vector<at::Tensor> draws) : draws_(draws.begin(), draws.end()) {}

at::Tensor ReplayedNoise::next(at::IntArrayRef shape) {
  require(!draws_.empty(), "replayed noise: all " + std::to_string(used_) + " draws used");
  at::Tensor draw = draws_.front();
  require(draw.sizes() == shape, "replayed noise: draw " + std::to_string(used_) + " has shape " +
                                     c10::str(draw.sizes()) + ", the run asks for " +
                                     c10::str(shape));
  draws_.pop_front();
  ++used_;
  return draw.to(at::kFloat);
}

at::Tensor ReplayedNoise::images(int64_t, int64_t count, at::IntArrayRef per_image) {
  std::vector<int64_t> shape = {count};
  shape.insert(shape.end(), per_image.begin(), per_image.end());
  return next(shape);
}

at::Tensor ReplayedNoise::reference(at::IntArrayRef shape) {
  return next(shape);
}

}  // namespace gml::diffusion
