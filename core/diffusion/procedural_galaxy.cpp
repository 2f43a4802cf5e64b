#include "core/diffusion/procedural_galaxy.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>

#include "core/common/error.h"

namespace gml::diffusion {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDustWavelength = 5500.0;  // Angstrom: tau is given in V
constexpr int64_t kChunk = 16;              // galaxies rendered together
constexpr int kTailBlobs = 16;              // Gaussian knots along each tidal tail

// Scalar draws of one galaxy (SplitMix64: the same numbers on every
// platform, unlike <random>'s distributions).
class Draws {
 public:
  explicit Draws(uint64_t seed) : state_(seed ^ 0x6a09e667f3bcc909ULL) {}
  double uniform() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    const double u = std::max(uniform(), 0x1.0p-53);
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * kPi * uniform());
  }
  double sign() { return uniform() < 0.5 ? -1.0 : 1.0; }

 private:
  uint64_t state_;
};

// Every component of one galaxy, absent ones with zero light. Lengths in
// pixels, angles in radians, alpha the slope of f_nu ~ lambda^alpha.
struct Components {
  double flux = 0;  // nanomaggies at the reference wavelength, all components
  double cx = 0, cy = 0, pa = 0;
  double f_sph = 0, n_sph = 4, re_sph = 1, q_sph = 1, c_sph = 2, alpha_sph = 2.6;
  double f_disk = 0, re_disk = 1, q_disk = 1, alpha_disk = 1.6;
  double f_arms = 0, arms = 2, tan_pitch = 0.3, arm_phase = 0, arm_inner = 1, alpha_arms = 1.0;
  double f_bar = 0, a_bar = 1, q_bar = 0.3, bar_angle = 0, alpha_bar = 2.0;
  double f_ring = 0, r_ring = 1, w_ring = 0.1, alpha_ring = 1.2;
  double f_comp = 0, comp_dx = 0, comp_dy = 0, n_comp = 2, re_comp = 1, q_comp = 1, pa_comp = 0,
         alpha_comp = 2.0;
  double f_tails = 0, alpha_tails = 1.2;
  double tail_x[2] = {0, 0}, tail_y[2] = {0, 0}, tail_theta[2] = {0, 0}, tail_scale[2] = {1, 1};
  double tail_sweep = 1, tail_length = 3;
  double tau = 0, dust_pa = 0, dust_h = 1, dust_length = 1, dust_offset = 0;
};

// Ciotti & Bertin (1999): b_n such that r_e encloses half the light.
double sersic_b(double n) {
  return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n) +
         131.0 / (1148175.0 * n * n * n) - 2194697.0 / (30690717750.0 * n * n * n * n);
}

Components draw_components(const Morphology& m, Draws& d, const ProceduralOptions& o,
                           GalaxyStructure& s) {
  Components c;
  s.morphology = m;
  s.magnitude = d.between(o.magnitude_min, o.magnitude_max);
  c.flux = std::pow(10.0, -0.4 * (s.magnitude - 22.5));
  // A size-magnitude relation with scatter, kept inside the stamp.
  const double re_arcsec = std::pow(10.0, 0.45 - 0.2 * (s.magnitude - 16.0) + 0.12 * d.normal());
  const double size = static_cast<double>(o.size);
  double re = std::clamp(re_arcsec / o.pixel_scale, 1.5, size / 6.0);
  c.cx = d.between(-1.0, 1.0);
  c.cy = d.between(-1.0, 1.0);
  c.pa = d.between(0.0, kPi);
  switch (m.galaxy_class) {
    case GalaxyClass::Smooth: {
      static const double kQ[3][2] = {{0.8, 1.0}, {0.45, 0.8}, {0.15, 0.42}};
      const auto& q = kQ[static_cast<int>(m.shape)];
      c.f_sph = 1.0;
      c.n_sph = d.between(2.5, 5.5);
      c.re_sph = re;
      c.q_sph = d.between(q[0], q[1]);
      c.alpha_sph = 2.6 + 0.2 * d.normal();
      s.axis_ratio = c.q_sph;
      if (m.dust_lane) {  // a lane across the body, near its major axis
        c.tau = d.between(1.0, 2.5);
        c.dust_pa = c.pa + d.between(-0.35, 0.35);
        c.dust_h = std::max(1.0, d.between(0.10, 0.18) * re);
        c.dust_length = d.between(1.0, 1.8) * re;
        c.dust_offset = d.between(-0.15, 0.15) * re;
      }
      break;
    }
    case GalaxyClass::EdgeOnDisk: {
      c.q_disk = d.between(0.10, 0.20);
      c.re_disk = re;
      double f_sph = 0.0;
      if (m.edge_on_bulge == EdgeOnBulge::Rounded) {
        f_sph = d.between(0.15, 0.35);
        c.n_sph = d.between(2.0, 4.0);
        c.q_sph = d.between(0.75, 1.0);
        c.re_sph = d.between(0.20, 0.35) * re;
      } else if (m.edge_on_bulge == EdgeOnBulge::Boxy) {
        f_sph = d.between(0.15, 0.35);
        c.n_sph = d.between(1.0, 2.0);
        c.q_sph = d.between(0.55, 0.8);
        c.c_sph = d.between(3.0, 4.0);  // boxy isophotes
        c.re_sph = d.between(0.25, 0.40) * re;
      }
      c.f_sph = f_sph;
      c.f_disk = 1.0 - f_sph;
      c.alpha_sph = 2.4;
      s.axis_ratio = c.q_disk;
      s.bulge_fraction = f_sph;
      if (m.dust_lane) {  // the mid-plane, seen a few degrees off edge-on
        c.tau = d.between(1.5, 3.5);
        c.dust_pa = c.pa;
        c.dust_h = std::max(0.8, 0.5 * c.q_disk * re);
        c.dust_length = d.between(0.8, 1.2) * re;
        c.dust_offset = d.sign() * d.between(0.1, 0.5) * c.dust_h;
      }
      break;
    }
    case GalaxyClass::Disk: {
      c.q_disk = d.between(0.35, 1.0);  // inclinations below ~70 degrees
      c.re_disk = re;
      static const double kBulge[4][2] = {{0.0, 0.0}, {0.05, 0.12}, {0.18, 0.35}, {0.45, 0.65}};
      const auto& b = kBulge[static_cast<int>(m.bulge)];
      c.f_sph = d.between(b[0], b[1]);
      c.n_sph = d.between(1.5, 4.0);
      c.re_sph = d.between(0.15, 0.30) * re;
      c.q_sph = d.between(0.8, 1.0);
      c.alpha_sph = 2.4;
      double rest = 1.0 - c.f_sph;
      if (m.bar) {
        c.f_bar = d.between(0.12, 0.22) * rest;
        c.a_bar = d.between(0.6, 1.0) * re;
        c.q_bar = d.between(0.22, 0.35);
        c.bar_angle = d.between(0.0, kPi);
      }
      if (m.ring) {
        c.f_ring = d.between(0.08, 0.15) * rest;
        c.r_ring = m.bar ? d.between(1.1, 1.3) * c.a_bar : d.between(0.9, 1.4) * re;
        c.w_ring = std::max(0.5, d.between(0.06, 0.10) * c.r_ring);
      }
      const double disk = rest - c.f_bar - c.f_ring;
      if (m.arms > 0) {
        static const double kPitch[3][2] = {{8.0, 14.0}, {15.0, 24.0}, {25.0, 40.0}};
        const auto& p = kPitch[static_cast<int>(m.winding)];
        s.pitch_angle = d.sign() * d.between(p[0], p[1]);
        c.tan_pitch = std::tan(s.pitch_angle * kPi / 180.0);
        c.arms = m.arms <= 4 ? m.arms : (d.uniform() < 0.5 ? 5 : 6);
        c.arm_phase = d.between(0.0, 2.0 * kPi);
        c.arm_inner = std::max({m.bar ? c.a_bar : 0.0, 2.0 * c.re_sph, 0.3 * re});
        c.f_arms = d.between(0.45, 0.75) * disk;
      }
      c.f_disk = disk - c.f_arms;
      s.axis_ratio = c.q_disk;
      s.bulge_fraction = c.f_sph;
      break;
    }
    case GalaxyClass::Merger: {
      re *= 0.75;
      const double ratio = d.between(0.3, 1.0);  // companion / main light
      const double main = 1.0 / (1.0 + ratio);
      const double tails = d.between(0.12, 0.24);
      c.f_tails = tails;
      c.f_sph = (1.0 - tails) * main * d.between(0.2, 0.5);
      c.f_disk = (1.0 - tails) * main - c.f_sph;
      c.n_sph = d.between(1.0, 3.0);
      c.re_sph = 0.3 * re;
      c.q_sph = d.between(0.7, 1.0);
      c.q_disk = d.between(0.4, 1.0);
      c.re_disk = re;
      c.f_comp = (1.0 - tails) * ratio * main;
      c.n_comp = d.between(1.0, 3.0);
      c.re_comp = std::max(1.2, re * std::sqrt(ratio) * d.between(0.8, 1.2));
      c.q_comp = d.between(0.5, 1.0);
      c.pa_comp = d.between(0.0, kPi);
      const double direction = d.between(0.0, 2.0 * kPi);
      const double sep = std::min(d.between(1.2, 2.2) * re, size / 2.0 - 2.0 * re);
      const double sep_main = -sep * ratio / (1.0 + ratio), sep_comp = sep / (1.0 + ratio);
      c.comp_dx = (sep_comp - sep_main) * std::cos(direction);
      c.comp_dy = (sep_comp - sep_main) * std::sin(direction);
      c.cx += sep_main * std::cos(direction);
      c.cy += sep_main * std::sin(direction);
      // Both tails curl the same way (one encounter), each leaving its
      // galaxy on the side away from the other.
      const double turn = d.sign();
      c.tail_sweep = turn * d.between(0.8, 1.6);
      c.tail_length = d.between(2.5, 4.0);
      c.tail_x[0] = c.cx, c.tail_y[0] = c.cy;
      c.tail_x[1] = c.cx + c.comp_dx, c.tail_y[1] = c.cy + c.comp_dy;
      c.tail_theta[0] = direction + kPi - 0.5 * turn;
      c.tail_theta[1] = direction - 0.5 * turn;
      c.tail_scale[0] = re;
      c.tail_scale[1] = c.re_comp;
      s.axis_ratio = c.q_disk;
      s.bulge_fraction = c.f_sph / std::max(1e-12, c.f_sph + c.f_disk);
      break;
    }
  }
  s.center_x = c.cx;
  s.center_y = c.cy;
  s.position_angle = c.pa;
  s.half_light_radius = re * o.pixel_scale;
  s.sersic_index = c.f_sph > 0 ? c.n_sph : 0.0;
  s.dust_tau = c.tau;
  return c;
}

using Field = double Components::*;

at::Tensor column(const std::vector<Components>& cs, Field field) {
  std::vector<double> v;
  v.reserve(cs.size());
  for (const auto& c : cs) v.push_back(c.*field);
  return at::tensor(v, at::kDouble).view({static_cast<int64_t>(cs.size()), 1, 1});
}

// Coordinates along (major) and across a component's axis.
std::pair<at::Tensor, at::Tensor> rotated(const at::Tensor& dx, const at::Tensor& dy,
                                          const at::Tensor& angle) {
  const at::Tensor c = at::cos(angle), s = at::sin(angle);
  return {dx * c + dy * s, dy * c - dx * s};
}

at::Tensor sersic(const at::Tensor& u, const at::Tensor& v, const at::Tensor& re,
                  const at::Tensor& n, const at::Tensor& q, const at::Tensor& boxiness,
                  const at::Tensor& b) {
  const at::Tensor r =
      at::pow(at::pow(at::abs(u), boxiness) + at::pow(at::abs(v / q), boxiness), 1.0 / boxiness);
  return at::exp(-b * (at::pow(r / re, 1.0 / n) - 1.0));
}

// A profile scaled to unit sum over the stamp (a component with no light
// stays zero).
at::Tensor unit_sum(const at::Tensor& profile) {
  return profile / profile.sum({1, 2}, true).clamp_min(1e-300);
}

// Renders the oversampled, noiseless, unconvolved images [N, B, S*s, S*s].
at::Tensor render(const std::vector<Components>& cs, const ProceduralOptions& o) {
  const int64_t n = static_cast<int64_t>(cs.size()), s = o.oversample, side = o.size * s;
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor grid =
      (at::arange(side, opts) + 0.5) / static_cast<double>(s) - static_cast<double>(o.size) / 2.0;
  const at::Tensor x = grid.view({1, 1, side}), y = grid.view({1, side, 1});
  auto col = [&](Field f) { return column(cs, f); };

  // f_nu ~ lambda^alpha blueward of the reference wavelength and
  // lambda^(kRedSlope alpha) redward: galaxy spectra steepen across the
  // 4000 A break, so g - r and r - i of one component are not one power law
  // (an elliptical's 0.75 and 0.40, Fukugita et al. 1995).
  constexpr double kRedSlope = 0.7;
  std::vector<double> ratio, slope;
  for (const auto& band : o.bands) {
    ratio.push_back(band.wavelength / o.reference_wavelength);
    slope.push_back(band.wavelength > o.reference_wavelength ? kRedSlope : 1.0);
  }
  const at::Tensor band_ratio = at::tensor(ratio, opts).view({1, -1});  // [1, B]
  const at::Tensor band_slope = at::tensor(slope, opts).view({1, -1});
  const at::Tensor flux = col(&Components::flux).view({n, 1});
  at::Tensor image = at::zeros({n, static_cast<int64_t>(o.bands.size()), side, side}, opts);
  auto add = [&](const at::Tensor& profile, Field fraction, Field alpha) {
    const at::Tensor weight = flux * col(fraction).view({n, 1}) *
                              at::pow(band_ratio, col(alpha).view({n, 1}) * band_slope);
    image += weight.view({n, -1, 1, 1}) * unit_sum(profile).unsqueeze(1);
  };

  const at::Tensor dx = x - col(&Components::cx), dy = y - col(&Components::cy);
  const auto [u, v] = rotated(dx, dy, col(&Components::pa));
  std::vector<double> b_sph, b_comp;
  for (const auto& c : cs) b_sph.push_back(sersic_b(c.n_sph)), b_comp.push_back(sersic_b(c.n_comp));
  auto b_of = [&](const std::vector<double>& b) { return at::tensor(b, opts).view({n, 1, 1}); };

  add(sersic(u, v, col(&Components::re_sph), col(&Components::n_sph), col(&Components::q_sph),
             col(&Components::c_sph), b_of(b_sph)),
      &Components::f_sph, &Components::alpha_sph);

  // The disk plane: deprojected coordinates, radius and azimuth.
  const at::Tensor du = u, dv = v / col(&Components::q_disk);
  const at::Tensor radius = at::sqrt(du * du + dv * dv);
  const at::Tensor azimuth = at::atan2(dv, du);
  const at::Tensor disk = at::exp(-sersic_b(1.0) * (radius / col(&Components::re_disk) - 1.0));
  add(disk, &Components::f_disk, &Components::alpha_disk);

  // Logarithmic spiral arms: the disk's light gathered along
  // azimuth = phase + ln(R) / tan(pitch), sharpened by cubing a cosine,
  // fading inside the bar or bulge.
  const at::Tensor arms = col(&Components::arms);
  const at::Tensor phase = arms * (azimuth - col(&Components::arm_phase) -
                                   at::log(radius.clamp_min(1e-3)) / col(&Components::tan_pitch));
  const at::Tensor inner = 1.0 - at::exp(-at::pow(radius / col(&Components::arm_inner), 2));
  add(disk * at::pow(0.5 * (1.0 + at::cos(phase)), 3) * inner, &Components::f_arms,
      &Components::alpha_arms);

  // A Ferrers bar (exponent 2) with boxy ends, in the disk plane.
  {
    const auto [bu, bv] = rotated(du, dv, col(&Components::bar_angle));
    const at::Tensor a = col(&Components::a_bar);
    const at::Tensor m = at::pow(
        at::pow(at::abs(bu / a), 2.5) + at::pow(at::abs(bv / (a * col(&Components::q_bar))), 2.5),
        0.8);
    add(at::pow((1.0 - m * m).clamp_min(0.0), 2), &Components::f_bar, &Components::alpha_bar);
  }
  const at::Tensor ring_r = col(&Components::r_ring), ring_w = col(&Components::w_ring);
  add(at::exp(-0.5 * at::pow((radius - ring_r) / ring_w, 2)), &Components::f_ring,
      &Components::alpha_ring);

  {
    const auto [cu, cv] = rotated(dx - col(&Components::comp_dx), dy - col(&Components::comp_dy),
                                  col(&Components::pa_comp));
    add(sersic(cu, cv, col(&Components::re_comp), col(&Components::n_comp),
               col(&Components::q_comp), at::full_like(col(&Components::q_comp), 2.0),
               b_of(b_comp)),
        &Components::f_comp, &Components::alpha_comp);
  }

  // Tidal tails: Gaussian knots along a curling arc from each galaxy,
  // widening and fading outwards.
  {
    at::Tensor tails = at::zeros({n, side, side}, opts);
    for (int t = 0; t < 2; ++t) {
      std::vector<double> x0, y0, th, sc;
      for (const auto& c : cs)
        x0.push_back(c.tail_x[t]), y0.push_back(c.tail_y[t]), th.push_back(c.tail_theta[t]),
            sc.push_back(c.tail_scale[t]);
      const at::Tensor ox = b_of(x0), oy = b_of(y0), theta0 = b_of(th), scale = b_of(sc);
      const at::Tensor sweep = col(&Components::tail_sweep), length = col(&Components::tail_length);
      for (int k = 0; k < kTailBlobs; ++k) {
        const double f = (k + 0.5) / kTailBlobs;
        const at::Tensor r = scale * (0.8 + f * length), angle = theta0 + f * sweep;
        const at::Tensor kx = ox + r * at::cos(angle), ky = oy + r * at::sin(angle);
        const at::Tensor width = scale * (0.25 + 0.35 * f);
        tails += (1.0 - 0.6 * f) / (width * width) *
                 at::exp(-0.5 * (at::pow(x - kx, 2) + at::pow(y - ky, 2)) / (width * width));
      }
    }
    add(tails, &Components::f_tails, &Components::alpha_tails);
  }

  // A dust screen, thicker at shorter wavelengths (tau ~ 1 / lambda).
  const auto [lu, lv] = rotated(dx, dy, col(&Components::dust_pa));
  const at::Tensor tau =
      col(&Components::tau) *
      at::exp(-0.5 * at::pow((lv - col(&Components::dust_offset)) / col(&Components::dust_h), 2)) *
      at::exp(-0.5 * at::pow(lu / col(&Components::dust_length), 2));
  std::vector<double> extinction;
  for (const auto& band : o.bands) extinction.push_back(kDustWavelength / band.wavelength);
  image *= at::exp(-tau.unsqueeze(1) * at::tensor(extinction, opts).view({1, -1, 1, 1}));
  return image;
}

// Linear convolution of [N, B, S, S] with one kernel per band [B, k, k],
// cropped to the input's size.
at::Tensor convolve(const at::Tensor& images, const at::Tensor& kernels) {
  const int64_t size = images.size(-1), k = kernels.size(-1), padded = size + k - 1;
  const at::Tensor fi = at::fft_rfft2(images, std::vector<int64_t>{padded, padded});
  const at::Tensor fk = at::fft_rfft2(kernels, std::vector<int64_t>{padded, padded});
  const at::Tensor full =
      at::fft_irfft2(fi * fk.unsqueeze(0), std::vector<int64_t>{padded, padded});
  const int64_t offset = k / 2;
  return full.slice(-2, offset, offset + size).slice(-1, offset, offset + size);
}

}  // namespace

std::vector<SurveyBand> sdss_gri_bands() {
  const double pixel = 0.396;
  struct Spec {
    const char* name;
    double wavelength, fwhm, depth;
  };
  const Spec specs[] = {
      {"g", 4770.0, 1.5, 22.2}, {"r", 6231.0, 1.4, 22.2}, {"i", 7625.0, 1.3, 21.3}};
  std::vector<SurveyBand> bands;
  for (const auto& spec : specs) {
    // 5 sigma in the noise-equivalent area 4 pi sigma_psf^2 of the PSF.
    const double sigma_psf = spec.fwhm / (2.0 * std::sqrt(2.0 * std::log(2.0))) / pixel;
    const double area = 4.0 * kPi * sigma_psf * sigma_psf;
    const double flux = std::pow(10.0, -0.4 * (spec.depth - 22.5));
    // About 1,000 photo-electrons per nanomaggy: SDSS's gains (~4.7 e/count)
    // over its calibrations (~0.005 nanomaggies per count).
    bands.push_back(
        {spec.name, spec.wavelength, spec.fwhm, flux / (5.0 * std::sqrt(area)), 1000.0});
  }
  return bands;
}

void check_procedural_options(const ProceduralOptions& o) {
  require(o.size >= 16 && o.size <= 1024,
          "procedural galaxies: size must lie in [16, 1024] pixels");
  require(std::isfinite(o.pixel_scale) && o.pixel_scale > 0.0,
          "procedural galaxies: pixel_scale must be positive (arcsec per pixel)");
  require(!o.bands.empty(), "procedural galaxies: at least one band is needed");
  require(std::isfinite(o.reference_wavelength) && o.reference_wavelength > 0.0,
          "procedural galaxies: reference_wavelength must be positive (Angstrom)");
  for (const auto& b : o.bands) {
    const std::string at = "procedural galaxies: band '" + b.name + "': ";
    require(std::isfinite(b.wavelength) && b.wavelength > 0.0, at + "wavelength must be positive");
    require(std::isfinite(b.psf_fwhm) && b.psf_fwhm >= 0.0 &&
                b.psf_fwhm / o.pixel_scale <= static_cast<double>(o.size) / 2.0,
            at + "psf_fwhm must lie in [0, half the stamp]");
    require(std::isfinite(b.sky_sigma) && b.sky_sigma >= 0.0, at + "sky_sigma must be >= 0");
    require(std::isfinite(b.electrons_per_nanomaggy) && b.electrons_per_nanomaggy >= 0.0,
            at + "electrons_per_nanomaggy must be >= 0");
  }
  require(o.magnitude_min >= 5.0 && o.magnitude_max <= 30.0 && o.magnitude_min <= o.magnitude_max,
          "procedural galaxies: magnitudes must satisfy 5 <= magnitude_min <= magnitude_max <= 30");
  require(o.oversample >= 1 && o.oversample <= 8,
          "procedural galaxies: oversample must lie in [1, 8]");
  require(std::isfinite(o.moffat_beta) && o.moffat_beta > 1.0,
          "procedural galaxies: moffat_beta must exceed 1");
}

at::Tensor moffat_psf(double fwhm_pixels, double beta, int64_t side, int64_t oversample) {
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  if (fwhm_pixels <= 0.0) {
    at::Tensor delta = at::zeros({side, side}, opts);
    delta[side / 2][side / 2] = 1.0;
    return delta;
  }
  const double alpha = fwhm_pixels / (2.0 * std::sqrt(std::pow(2.0, 1.0 / beta) - 1.0));
  const int64_t fine = side * oversample;
  // Sub-pixel centres relative to the centre of the middle pixel.
  const at::Tensor grid = (at::arange(fine, opts) + 0.5) / static_cast<double>(oversample) -
                          (static_cast<double>(side / 2) + 0.5);
  const at::Tensor r2 = grid.view({1, fine}).pow(2) + grid.view({fine, 1}).pow(2);
  const at::Tensor psf = at::pow(1.0 + r2 / (alpha * alpha), -beta)
                             .view({side, oversample, side, oversample})
                             .sum({1, 3});
  return psf / psf.sum();
}

ProceduralGalaxies generate_procedural_galaxies(int64_t first, int64_t count, uint64_t seed,
                                                const MorphologyRequest& request,
                                                const ProceduralOptions& options) {
  check_procedural_options(options);
  require(first >= 0 && count >= 0, "procedural galaxies: first and count must be >= 0");
  const int64_t bands = static_cast<int64_t>(options.bands.size()), size = options.size;
  ProceduralGalaxies out;
  // Allocated outside inference mode: the caller may edit or train on them.
  out.images = at::empty({count, bands, size, size}, at::kFloat);
  out.noiseless = at::empty({count, bands, size, size}, at::kFloat);
  out.galaxies.resize(static_cast<size_t>(count));
  out.captions.resize(static_cast<size_t>(count));
  c10::InferenceMode guard;

  // One PSF per band, wide enough for the wings (4 FWHM each side).
  std::vector<at::Tensor> psfs;
  double widest = 0.0;
  for (const auto& b : options.bands) widest = std::max(widest, b.psf_fwhm / options.pixel_scale);
  const int64_t kernel =
      std::min<int64_t>(2 * static_cast<int64_t>(std::ceil(4.0 * widest)) + 1, 2 * (size / 2) + 1);
  for (const auto& b : options.bands)
    psfs.push_back(moffat_psf(b.psf_fwhm / options.pixel_scale, options.moffat_beta, kernel, 5));
  const at::Tensor psf = at::stack(psfs);

  for (int64_t start = 0; start < count; start += kChunk) {
    const int64_t n = std::min(kChunk, count - start);
    std::vector<Components> cs;
    for (int64_t k = 0; k < n; ++k) {
      const uint64_t galaxy_seed = seed + static_cast<uint64_t>(first + start + k);
      Draws draws(galaxy_seed);
      const Morphology m =
          draw_morphology(request, options.mix, [&draws] { return draws.uniform(); });
      GalaxyStructure& s = out.galaxies[static_cast<size_t>(start + k)];
      cs.push_back(draw_components(m, draws, options, s));
      out.captions[static_cast<size_t>(start + k)] = morphology_caption(m);
    }
    const int64_t s = options.oversample;
    at::Tensor pixels = render(cs, options).view({n, bands, size, s, size, s}).sum({3, 5});
    pixels = convolve(pixels, psf);
    out.noiseless.narrow(0, start, n).copy_(pixels);
    for (int64_t k = 0; k < n; ++k) {
      at::Tensor image = pixels[k];
      if (options.noise) {
        std::vector<double> sky, gain;
        for (const auto& b : options.bands) {
          sky.push_back(b.sky_sigma * b.sky_sigma);
          gain.push_back(b.electrons_per_nanomaggy > 0 ? 1.0 / b.electrons_per_nanomaggy : 0.0);
        }
        const at::Tensor variance =
            at::tensor(sky, at::kDouble).view({-1, 1, 1}) +
            image.clamp_min(0.0) * at::tensor(gain, at::kDouble).view({-1, 1, 1});
        // The noise has its own generator, apart from the structure's draws.
        at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(
            (seed + static_cast<uint64_t>(first + start + k)) ^ 0xbb67ae8584caa73bULL);
        image = image + at::sqrt(variance) * at::randn({bands, size, size}, generator,
                                                       at::TensorOptions(at::kDouble));
      }
      out.images[start + k].copy_(image);
    }
  }
  return out;
}

}  // namespace gml::diffusion
