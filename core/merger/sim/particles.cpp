// Disk set-up and the particle leapfrog kernel. The kernel works on four
// particles at a time with GCC/Clang vector extensions: the arithmetic is
// portable, only the square root is mapped to the SIMD instruction (a plain
// std::sqrt in a loop cannot vectorise while it may set errno). IEEE
// division and square root are correctly rounded in both the vector and the
// scalar tail, so the results do not depend on the path.
#include "core/merger/sim/particles.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#if defined(__SSE__)
#include <xmmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#include "core/common/error.h"

namespace gml::merger {
namespace {

using f4 = float __attribute__((vector_size(16)));

inline float sqrt_lanes(float x) {
  return std::sqrt(x);
}
inline f4 sqrt_lanes(f4 x) {
#if defined(__SSE__)
  return reinterpret_cast<f4>(_mm_sqrt_ps(reinterpret_cast<__m128>(x)));
#elif defined(__ARM_NEON) && defined(__aarch64__)
  return vsqrtq_f32(x);
#else
  f4 r;
  for (int k = 0; k < 4; ++k) r[k] = std::sqrt(x[k]);
  return r;
#endif
}

inline f4 load4(const float* p) {
  f4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, f4 v) {
  std::memcpy(p, &v, sizeof v);
}

// One galaxy in the float form the kernel uses.
struct Terms {
  float cx, cy, cz;
  float gmh, ah, gmb, ab;  // G M and scale of halo and bulge
  float e2;                // softening^2
  float ah2e, ab2e;        // Plummer: a^2 + eps^2
};

Terms make_terms(const GalaxyModel& g, const Vec3& c) {
  Terms t;
  t.cx = static_cast<float>(c.x);
  t.cy = static_cast<float>(c.y);
  t.cz = static_cast<float>(c.z);
  t.gmh = static_cast<float>(kGravity * g.halo.mass);
  t.ah = static_cast<float>(g.halo.scale);
  t.gmb = static_cast<float>(kGravity * g.bulge.mass);
  t.ab = static_cast<float>(g.bulge.scale);
  t.e2 = static_cast<float>(g.softening * g.softening);
  t.ah2e = static_cast<float>(g.halo.scale * g.halo.scale + g.softening * g.softening);
  t.ab2e = static_cast<float>(g.bulge.scale * g.bulge.scale + g.softening * g.softening);
  return t;
}

// Adds the acceleration of galaxy `t` at (x, y, z); T is float or f4.
template <Profile P, typename T>
inline void add_accel(const Terms& t, T x, T y, T z, T& ax, T& ay, T& az) {
  const T dx = x - t.cx, dy = y - t.cy, dz = z - t.cz;
  const T r2 = dx * dx + dy * dy + dz * dz;
  T f;
  if constexpr (P == Profile::Hernquist) {
    // a = -G r_vec (Mh / (d (d + ah)^2) + Mb / (d (d + ab)^2)), one division.
    const T d = sqrt_lanes(r2 + t.e2);
    const T th = d + t.ah, tb = d + t.ab;
    const T th2 = th * th, tb2 = tb * tb;
    f = (t.gmh * tb2 + t.gmb * th2) / (d * th2 * tb2);
  } else {
    const T sh = r2 + t.ah2e, sb = r2 + t.ab2e;
    f = t.gmh / (sh * sqrt_lanes(sh)) + t.gmb / (sb * sqrt_lanes(sb));
  }
  ax -= f * dx;
  ay -= f * dy;
  az -= f * dz;
}

template <Profile P, int NG, typename T>
inline void field_accel(const Terms* terms, T x, T y, T z, T& ax, T& ay, T& az) {
  ax = x * 0.0f;
  ay = ax;
  az = ax;
  for (int g = 0; g < NG; ++g) add_accel<P>(terms[g], x, y, z, ax, ay, az);
}

template <Profile P, int NG>
void kick_drift_impl(ParticleSet& p, const Terms* terms, float kick, float drift) {
  const int64_t n = p.size();
  float* __restrict x = p.x.data();
  float* __restrict y = p.y.data();
  float* __restrict z = p.z.data();
  float* __restrict vx = p.vx.data();
  float* __restrict vy = p.vy.data();
  float* __restrict vz = p.vz.data();
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const f4 px = load4(x + i), py = load4(y + i), pz = load4(z + i);
    f4 ax, ay, az;
    field_accel<P, NG>(terms, px, py, pz, ax, ay, az);
    const f4 ux = load4(vx + i) + ax * kick;
    const f4 uy = load4(vy + i) + ay * kick;
    const f4 uz = load4(vz + i) + az * kick;
    store4(vx + i, ux);
    store4(vy + i, uy);
    store4(vz + i, uz);
    store4(x + i, px + ux * drift);
    store4(y + i, py + uy * drift);
    store4(z + i, pz + uz * drift);
  }
  for (; i < n; ++i) {
    float ax, ay, az;
    field_accel<P, NG>(terms, x[i], y[i], z[i], ax, ay, az);
    vx[i] += ax * kick;
    vy[i] += ay * kick;
    vz[i] += az * kick;
    x[i] += vx[i] * drift;
    y[i] += vy[i] * drift;
    z[i] += vz[i] * drift;
  }
}

void check_field(const PotentialField& field) {
  require(field.n == 1 || field.n == 2,
          "PotentialField.n must be 1 or 2, got " + std::to_string(field.n));
  for (int g = 0; g < field.n; ++g) {
    require(field.galaxy[g] != nullptr, "PotentialField.galaxy[" + std::to_string(g) + "] is null");
  }
  if (field.n == 2) {
    require(field.galaxy[0]->profile == field.galaxy[1]->profile,
            "both galaxies of a PotentialField must have the same profile");
  }
}

}  // namespace

void ParticleSet::reserve(int64_t n) {
  for (auto* v : {&x, &y, &z, &vx, &vy, &vz, &light}) v->reserve(static_cast<size_t>(n));
}

void disk_frame(const Vec3& spin, Vec3& e1, Vec3& e2) {
  const Vec3 ref = std::fabs(spin.x) < 0.9 ? Vec3{1.0, 0.0, 0.0} : Vec3{0.0, 1.0, 0.0};
  e1 = normalized(cross(ref, spin));
  e2 = cross(spin, e1);
}

void add_disk(ParticleSet& p, const GalaxyModel& galaxy, const DiskParams& disk, const Vec3& centre,
              const Vec3& centre_velocity, const Vec3& spin, int64_t n, float light_per_particle,
              SimRng& rng) {
  require(n >= 0, "disk particle count must be >= 0, got " + std::to_string(n));
  require(disk.scale_length > 0.0 && disk.truncation > 0.0 && disk.height >= 0.0 &&
              disk.dispersion >= 0.0,
          "disk parameters must be positive (scale length, truncation) and non-negative "
          "(height, dispersion)");
  Vec3 e1, e2;
  disk_frame(spin, e1, e2);
  const double r_max = disk.truncation * disk.scale_length;
  p.reserve(p.size() + n);
  for (int64_t i = 0; i < n; ++i) {
    double r;
    do {
      r = -disk.scale_length * std::log(rng.uniform_pos() * rng.uniform_pos());
    } while (r > r_max);
    const double phi = 6.283185307179586 * rng.uniform();
    const double c = std::cos(phi), s = std::sin(phi);
    const double zz = disk.height * rng.normal();
    const double vc = galaxy.softened_circular_velocity(r);
    const double omega = r > 0.0 ? vc / r : 0.0;
    const double sig_r = disk.dispersion * vc;
    const double v_r = sig_r * rng.normal();
    const double v_phi = vc + sig_r * 0.7071067811865476 * rng.normal();
    const double v_z = omega * disk.height * rng.normal();
    const Vec3 e_r = e1 * c + e2 * s;
    const Vec3 e_phi = e2 * c - e1 * s;
    const Vec3 pos = centre + e_r * r + spin * zz;
    const Vec3 vel = centre_velocity + e_r * v_r + e_phi * v_phi + spin * v_z;
    p.x.push_back(static_cast<float>(pos.x));
    p.y.push_back(static_cast<float>(pos.y));
    p.z.push_back(static_cast<float>(pos.z));
    p.vx.push_back(static_cast<float>(vel.x));
    p.vy.push_back(static_cast<float>(vel.y));
    p.vz.push_back(static_cast<float>(vel.z));
    p.light.push_back(light_per_particle);
  }
}

void kick_drift(ParticleSet& particles, const PotentialField& field, double kick, double drift) {
  check_field(field);
  Terms terms[2];
  for (int g = 0; g < field.n; ++g) terms[g] = make_terms(*field.galaxy[g], field.centre[g]);
  const float k = static_cast<float>(kick), d = static_cast<float>(drift);
  const bool hern = field.galaxy[0]->profile == Profile::Hernquist;
  if (hern && field.n == 2) kick_drift_impl<Profile::Hernquist, 2>(particles, terms, k, d);
  if (hern && field.n == 1) kick_drift_impl<Profile::Hernquist, 1>(particles, terms, k, d);
  if (!hern && field.n == 2) kick_drift_impl<Profile::Plummer, 2>(particles, terms, k, d);
  if (!hern && field.n == 1) kick_drift_impl<Profile::Plummer, 1>(particles, terms, k, d);
}

void accelerations(const ParticleSet& particles, const PotentialField& field,
                   std::vector<float>& ax, std::vector<float>& ay, std::vector<float>& az) {
  // A zero-time pass on a copy: kick 1 makes the velocity change equal a(x).
  ParticleSet probe = particles;
  std::fill(probe.vx.begin(), probe.vx.end(), 0.0f);
  std::fill(probe.vy.begin(), probe.vy.end(), 0.0f);
  std::fill(probe.vz.begin(), probe.vz.end(), 0.0f);
  kick_drift(probe, field, 1.0, 0.0);
  ax = std::move(probe.vx);
  ay = std::move(probe.vy);
  az = std::move(probe.vz);
}

}  // namespace gml::merger
