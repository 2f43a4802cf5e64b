// Where a generation's random numbers come from. The default draws image i
// of a run from its own generator seeded with seed + i, so an image depends
// on its seed alone: the same whatever the batch size, the number of
// images, or the images before it (a survey can regenerate image 731 of a
// run without the 730 before it). Tests replay the draws diffusers made.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace gml::diffusion {

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // Standard-normal noise for images [first, first + count) of the run:
  // [count, per_image...]. Called in the same order for every batch.
  virtual at::Tensor images(int64_t first, int64_t count, at::IntArrayRef per_image) = 0;
  // The draw of the reference's latent distribution in img2img (one per
  // run, shaped as the reference's latents).
  virtual at::Tensor reference(at::IntArrayRef shape) = 0;
};

class SeededNoise : public NoiseSource {
 public:
  explicit SeededNoise(uint64_t seed) : seed_(seed) {}
  at::Tensor images(int64_t first, int64_t count, at::IntArrayRef per_image) override;
  at::Tensor reference(at::IntArrayRef shape) override;

 private:
  at::Generator& generator_of(int64_t image);
  uint64_t seed_;
  std::vector<at::Generator> generators_;  // one per image, made on first use
};

// Draws given in advance, handed out in order whatever is asked; a shape
// that differs from the next draw's is Error(InvalidArgument) naming it.
class ReplayedNoise : public NoiseSource {
 public:
  explicit ReplayedNoise(std::vector<at::Tensor> draws);
  at::Tensor images(int64_t first, int64_t count, at::IntArrayRef per_image) override;
  at::Tensor reference(at::IntArrayRef shape) override;
  size_t remaining() const { return draws_.size(); }

 private:
  at::Tensor next(at::IntArrayRef shape);
  std::deque<at::Tensor> draws_;
  size_t used_ = 0;
};

}  // namespace gml::diffusion
