// Rendering of the test particles into DeepGalaxy-style images: projection
// onto a camera's image plane around a given centre, cloud-in-cell deposit
// of the particles' light, Gaussian PSF, brightness stretch, noise.
//
// Pixel coordinates: pixel (row j, column i) covers [i, i+1) x [j, j+1);
// the image centre (size/2, size/2) is the projected centre; row 0 is the
// bottom of the image (FITS convention, numpy (H, W) with origin='lower').
// Cloud-in-cell spreads a particle at (u, v) over the four pixels whose
// centres (i + 1/2, j + 1/2) surround it, bilinearly; light falling outside
// the image is dropped.
//
// Stretch: S = surface density (light / kpc^2) divided by the image's
// peak, then
//   asinh:  asinh(S / beta) / asinh(1 / beta)
//   log:    ln(1 + S / beta) / ln(1 + 1 / beta)
//   linear: S
// so the noiseless image spans [0, 1] with 1 at the peak (an empty image
// stays 0). Gaussian noise of sigma noise_sigma is added afterwards and
// the result is not clipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/merger/sim/camera.h"
#include "core/merger/sim/particles.h"
#include "core/merger/sim/random.h"

namespace gml::merger {

enum class Stretch { Asinh, Log, Linear };

/// "asinh" / "log" / "linear"; throws Error(InvalidArgument) otherwise.
Stretch parse_stretch(const std::string& name);

struct RenderParams {
  int32_t size = 64;
  double fov_kpc = 128.0;
  double psf_fwhm_pix = 1.5;
  Stretch stretch = Stretch::Asinh;
  double stretch_beta = 0.01;
  double noise_sigma = 0.02;
};

/// Projects the particles for `cam`: u = ((x - centre) . right) / pix + size/2,
/// v likewise with `up`, pix = fov_kpc / size. Fills u and v (resized).
void project(const ParticleSet& particles, const Camera& cam, const Vec3& centre, double fov_kpc,
             int32_t size, std::vector<float>& u, std::vector<float>& v);

/// Adds the cloud-in-cell deposit of n particles at pixel coordinates
/// (u, v) with weights w into `image` (size x size, row-major, row = v).
void deposit_cic(const float* u, const float* v, const float* w, int64_t n, int32_t size,
                 float* image);

/// Normalised sampled Gaussian of standard deviation sigma (pixels) with
/// radius int(4 sigma + 0.5), as scipy.ndimage.gaussian_filter uses.
std::vector<float> gaussian_kernel(double sigma);

/// Separable Gaussian blur of a size x size image in place, zero outside
/// the image; FWHM in pixels (sigma = FWHM / (2 sqrt(2 ln 2))); 0 = none.
/// `scratch` is resized as needed.
void gaussian_blur(float* image, int32_t size, double fwhm_pix, std::vector<float>& scratch);

/// The stretch of the header comment, in place over n pixels.
void apply_stretch(float* image, int64_t n, Stretch stretch, double beta);

/// Adds N(0, sigma^2) to each of n pixels from `rng` (pairs of normals by
/// the polar method, in pixel order).
void add_noise(float* image, int64_t n, double sigma, SimRng& rng);

/// All of the above for one camera; keeps its scratch buffers between
/// calls. Not thread-safe: one Renderer per thread.
class Renderer {
 public:
  explicit Renderer(RenderParams params);
  const RenderParams& params() const { return params_; }
  /// Writes size x size pixels to `out`: deposit / pixel area, blur,
  /// stretch, then noise from a stream seeded with `noise_seed`.
  void render(const ParticleSet& particles, const Camera& cam, const Vec3& centre,
              uint64_t noise_seed, float* out);
  /// Only the deposit (light per kpc^2, before blur and stretch).
  void surface_density(const ParticleSet& particles, const Camera& cam, const Vec3& centre,
                       float* out);

 private:
  RenderParams params_;
  std::vector<float> u_, v_, scratch_;
};

}  // namespace gml::merger
