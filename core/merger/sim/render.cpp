// Projection, cloud-in-cell deposit, Gaussian PSF, stretch and noise
// (conventions in render.h).
#include "core/merger/sim/render.h"

#include <algorithm>
#include <cmath>

#include "core/common/error.h"

namespace gml::merger {

Stretch parse_stretch(const std::string& name) {
  if (name == "asinh") return Stretch::Asinh;
  if (name == "log") return Stretch::Log;
  if (name == "linear") return Stretch::Linear;
  fail(Status::InvalidArgument,
       "unknown stretch \"" + name + "\" (expected \"asinh\", \"log\" or \"linear\")");
}

void project(const ParticleSet& p, const Camera& cam, const Vec3& centre, double fov_kpc,
             int32_t size, std::vector<float>& u, std::vector<float>& v) {
  const int64_t n = p.size();
  u.resize(static_cast<size_t>(n));
  v.resize(static_cast<size_t>(n));
  const double scale = size / fov_kpc;
  const float rx = static_cast<float>(cam.right.x * scale);
  const float ry = static_cast<float>(cam.right.y * scale);
  const float rz = static_cast<float>(cam.right.z * scale);
  const float ux = static_cast<float>(cam.up.x * scale);
  const float uy = static_cast<float>(cam.up.y * scale);
  const float uz = static_cast<float>(cam.up.z * scale);
  const float cx = static_cast<float>(centre.x);
  const float cy = static_cast<float>(centre.y);
  const float cz = static_cast<float>(centre.z);
  const float half = 0.5f * static_cast<float>(size);
  const float* __restrict x = p.x.data();
  const float* __restrict y = p.y.data();
  const float* __restrict z = p.z.data();
  float* __restrict uo = u.data();
  float* __restrict vo = v.data();
  for (int64_t i = 0; i < n; ++i) {
    const float dx = x[i] - cx, dy = y[i] - cy, dz = z[i] - cz;
    uo[i] = dx * rx + dy * ry + dz * rz + half;
    vo[i] = dx * ux + dy * uy + dz * uz + half;
  }
}

void deposit_cic(const float* u, const float* v, const float* w, int64_t n, int32_t size,
                 float* image) {
  const float lim = static_cast<float>(size);
  for (int64_t k = 0; k < n; ++k) {
    const float pu = u[k] - 0.5f, pv = v[k] - 0.5f;
    // Also rejects NaN; a particle here touches at least one pixel.
    if (!(pu > -1.0f && pu < lim && pv > -1.0f && pv < lim)) continue;
    // floor() by truncation of a positive number (pu, pv > -1): no libm call.
    const int i0 = static_cast<int>(pu + 1.0f) - 1, j0 = static_cast<int>(pv + 1.0f) - 1;
    const float fu = pu - static_cast<float>(i0), fv = pv - static_cast<float>(j0);
    const float wk = w[k];
    const float w00 = (1.0f - fu) * (1.0f - fv) * wk, w10 = fu * (1.0f - fv) * wk;
    const float w01 = (1.0f - fu) * fv * wk, w11 = fu * fv * wk;
    const bool i0_in = i0 >= 0, i1_in = i0 + 1 < size;
    if (j0 >= 0) {
      float* row = image + static_cast<int64_t>(j0) * size;
      if (i0_in) row[i0] += w00;
      if (i1_in) row[i0 + 1] += w10;
    }
    if (j0 + 1 < size) {
      float* row = image + static_cast<int64_t>(j0 + 1) * size;
      if (i0_in) row[i0] += w01;
      if (i1_in) row[i0 + 1] += w11;
    }
  }
}

std::vector<float> gaussian_kernel(double sigma) {
  require(std::isfinite(sigma) && sigma > 0.0,
          "Gaussian kernel sigma must be > 0, got " + std::to_string(sigma));
  const int radius = static_cast<int>(4.0 * sigma + 0.5);
  std::vector<double> k(static_cast<size_t>(2 * radius + 1));
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) {
    k[static_cast<size_t>(i + radius)] = std::exp(-0.5 * i * i / (sigma * sigma));
    sum += k[static_cast<size_t>(i + radius)];
  }
  std::vector<float> out(k.size());
  for (size_t i = 0; i < k.size(); ++i) out[i] = static_cast<float>(k[i] / sum);
  return out;
}

void gaussian_blur(float* image, int32_t size, double fwhm_pix, std::vector<float>& scratch) {
  if (fwhm_pix <= 0.0) return;
  const double sigma = fwhm_pix / (2.0 * std::sqrt(2.0 * std::log(2.0)));
  const std::vector<float> kernel = gaussian_kernel(sigma);
  const int r = static_cast<int>(kernel.size() / 2);
  const int64_t n = static_cast<int64_t>(size) * size;
  scratch.assign(static_cast<size_t>(n), 0.0f);
  // Rows (along x) into scratch, then columns (along y) back into image.
  for (int j = 0; j < size; ++j) {
    const float* in = image + static_cast<int64_t>(j) * size;
    float* out = scratch.data() + static_cast<int64_t>(j) * size;
    for (int i = 0; i < size; ++i) {
      const int lo = std::max(-r, -i), hi = std::min(r, size - 1 - i);
      float acc = 0.0f;
      for (int t = lo; t <= hi; ++t) acc += kernel[static_cast<size_t>(t + r)] * in[i + t];
      out[i] = acc;
    }
  }
  std::fill(image, image + n, 0.0f);
  for (int j = 0; j < size; ++j) {
    float* out = image + static_cast<int64_t>(j) * size;
    const int lo = std::max(-r, -j), hi = std::min(r, size - 1 - j);
    for (int t = lo; t <= hi; ++t) {
      const float kt = kernel[static_cast<size_t>(t + r)];
      const float* in = scratch.data() + static_cast<int64_t>(j + t) * size;
      for (int i = 0; i < size; ++i) out[i] += kt * in[i];
    }
  }
}

void apply_stretch(float* image, int64_t n, Stretch stretch, double beta) {
  require(std::isfinite(beta) && beta > 0.0,
          "stretch beta must be > 0, got " + std::to_string(beta));
  float peak = 0.0f;
  for (int64_t i = 0; i < n; ++i) peak = std::max(peak, image[i]);
  if (!(peak > 0.0f)) return;
  const double inv_peak = 1.0 / peak;
  switch (stretch) {
    case Stretch::Asinh: {
      const float norm = static_cast<float>(1.0 / std::asinh(1.0 / beta));
      const float scale = static_cast<float>(inv_peak / beta);
      for (int64_t i = 0; i < n; ++i) image[i] = std::asinh(image[i] * scale) * norm;
      break;
    }
    case Stretch::Log: {
      const float norm = static_cast<float>(1.0 / std::log1p(1.0 / beta));
      const float scale = static_cast<float>(inv_peak / beta);
      for (int64_t i = 0; i < n; ++i) image[i] = std::log1p(image[i] * scale) * norm;
      break;
    }
    case Stretch::Linear:
      for (int64_t i = 0; i < n; ++i) image[i] /= peak;
      break;
  }
}

void add_noise(float* image, int64_t n, double sigma, SimRng& rng) {
  if (sigma <= 0.0) return;
  double a, b;
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    rng.normal_pair(a, b);
    image[i] += static_cast<float>(sigma * a);
    image[i + 1] += static_cast<float>(sigma * b);
  }
  if (i < n) {
    rng.normal_pair(a, b);
    image[i] += static_cast<float>(sigma * a);
  }
}

Renderer::Renderer(RenderParams params) : params_(params) {
  require(params_.size >= 1, "render size must be >= 1, got " + std::to_string(params_.size));
  require(std::isfinite(params_.fov_kpc) && params_.fov_kpc > 0.0,
          "render field of view must be > 0 kpc, got " + std::to_string(params_.fov_kpc));
}

void Renderer::surface_density(const ParticleSet& particles, const Camera& cam, const Vec3& centre,
                               float* out) {
  const int32_t s = params_.size;
  const int64_t n = static_cast<int64_t>(s) * s;
  std::fill(out, out + n, 0.0f);
  project(particles, cam, centre, params_.fov_kpc, s, u_, v_);
  deposit_cic(u_.data(), v_.data(), particles.light.data(), particles.size(), s, out);
  const double pix = params_.fov_kpc / s;
  const float inv_area = static_cast<float>(1.0 / (pix * pix));
  for (int64_t i = 0; i < n; ++i) out[i] *= inv_area;
}

void Renderer::render(const ParticleSet& particles, const Camera& cam, const Vec3& centre,
                      uint64_t noise_seed, float* out) {
  const int32_t s = params_.size;
  const int64_t n = static_cast<int64_t>(s) * s;
  surface_density(particles, cam, centre, out);
  gaussian_blur(out, s, params_.psf_fwhm_pix, scratch_);
  apply_stretch(out, n, params_.stretch, params_.stretch_beta);
  if (params_.noise_sigma > 0.0) {
    SimRng rng(noise_seed);
    add_noise(out, n, params_.noise_sigma, rng);
  }
}

}  // namespace gml::merger
