#include "core/flow/galaxy_generator.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/common/error.h"

namespace gml::flow {
namespace {

// Model constants; their physical meaning is in docs/flow_generator.md.
constexpr double kRefLogMass = 10.8;                 // Milky-Way-like reference galaxy
constexpr double kRefVc = 220.0;                     // km/s at the reference mass
constexpr double kRefDiskScale = 2.6;                // kpc at the reference mass
constexpr double kSizeMassSlope = 0.25;              // d log10 R_d / d log10 M*
constexpr double kBulgeScaleRatio = 0.2;             // Plummer a / R_d
constexpr double kTurnoverRatio = 0.5;               // rotation-curve turnover radius / R_d
constexpr double kScaleHeightRatio = 0.05;           // young-star scale height / R_d
constexpr double kHeatingTimeGyr = 1.5;              // scale height grows by R_d/20 per 1.5 Gyr
constexpr double kSigmaROld = 0.2;                   // sigma_R / v_c of 10 Gyr old stars
constexpr double kDriftCoefficient = 2.75;           // v_a = k sigma_R^2 / v_c
constexpr double kBulgeDispersion = 0.45;            // bulge sigma / v_c
constexpr double kAgeMetallicitySlope = 0.05;        // dex per Gyr (younger = richer)
constexpr double kLogZScatter = 0.12;                // dex
constexpr double kOFeScatter = 0.04;                 // dex
constexpr double kOFePlateau = 0.4;                  // dex, core-collapse yields
constexpr double kKneeFeH = -1.0;                    // onset of type Ia enrichment
constexpr double kSolarPlateauFeH = 0.3;             // [O/Fe] reaches 0 here
constexpr double kZ90 = 1.2815515655446004;          // standard normal 90th percentile
constexpr double kGammaMedian = 1.6783469900166608;  // median of Gamma(2, 1)

double logit(double p) {
  return std::log(p / (1.0 - p));
}

at::TensorOptions f64() {
  return at::TensorOptions().dtype(at::kDouble);
}

at::Tensor uniform(int64_t n, at::Generator& g, double lo = 0.0, double hi = 1.0) {
  return at::empty({n}, f64()).uniform_(lo, hi, g);
}

at::Tensor normal(int64_t n, at::Generator& g) {
  return at::empty({n}, f64()).normal_(0, 1, g);
}

// [O/Fe] of the mean chemical-evolution track: a plateau at low [Fe/H],
// falling linearly to 0 once type Ia supernovae contribute iron.
at::Tensor ofe_track(const at::Tensor& feh) {
  return kOFePlateau * ((kSolarPlateauFeH - feh) / (kSolarPlateauFeH - kKneeFeH)).clamp(0, 1);
}

// Linear-interpolated sample quantile (numpy's default), without the input
// size limit of at::quantile.
double sorted_quantile(const at::Tensor& sorted, double q) {
  const int64_t n = sorted.size(0);
  const double pos = q * static_cast<double>(n - 1);
  const auto lo = static_cast<int64_t>(std::floor(pos));
  const int64_t hi = std::min(lo + 1, n - 1);
  const double w = pos - static_cast<double>(lo);
  return (1 - w) * sorted[lo].item<double>() + w * sorted[hi].item<double>();
}

}  // namespace

void GalaxyConditions::validate() const {
  require(std::isfinite(log10_mstar) && log10_mstar >= 7 && log10_mstar <= 13,
          "galaxy conditions: log10_mstar must be in [7, 13]");
  require(std::isfinite(tau10) && std::isfinite(tau50) && tau10 > 0 && tau10 < tau50 &&
              tau50 < kUniverseAgeGyr,
          "galaxy conditions: need 0 < tau10 < tau50 < 13.8 Gyr");
  require(std::isfinite(mean_z) && mean_z > 0 && mean_z < 0.1,
          "galaxy conditions: mean_Z must be in (0, 0.1)");
}

at::Tensor GalaxyConditions::to_tensor() const {
  return at::tensor(std::vector<double>{log10_mstar, tau50, tau10, mean_z}, f64());
}

GalaxyConditions GalaxyConditions::from_tensor(const at::Tensor& row) {
  require(row.defined() && row.numel() == kNumConditions, "galaxy conditions: expected 4 values");
  at::Tensor r = row.detach().to(at::kCPU, at::kDouble).reshape({kNumConditions});
  return {r[kCondLogMass].item<double>(), r[kCondTau50].item<double>(),
          r[kCondTau10].item<double>(), r[kCondMeanZ].item<double>()};
}

GalaxyStructure galaxy_structure(const GalaxyConditions& c) {
  c.validate();
  GalaxyStructure s{};
  const double dm = c.log10_mstar - kRefLogMass;
  s.circular_velocity = kRefVc * std::pow(10.0, dm / 4.0);  // M* ~ v^4 (Tully-Fisher)
  s.disk_scale_length = kRefDiskScale * std::pow(10.0, kSizeMassSlope * dm);
  s.bulge_scale_radius = kBulgeScaleRatio * s.disk_scale_length;
  s.bulge_fraction =
      std::clamp(0.15 + 0.15 * (c.log10_mstar - 10.5) + 0.02 * (c.tau50 - 6.0), 0.02, 0.5);
  // age = T sigmoid(mu + sigma eps) has median tau50 and 10th percentile
  // tau10 exactly, and stays inside (0, T).
  s.age_mu = logit(c.tau50 / kUniverseAgeGyr);
  s.age_sigma = (s.age_mu - logit(c.tau10 / kUniverseAgeGyr)) / kZ90;
  // E[Z] = mean_z: integrate 10^(slope (tau50 - age)) over the age law on a
  // fine grid in eps, and add the log-normal scatter's mean.
  const at::Tensor eps = at::linspace(-9.0, 9.0, 4001, f64());
  const at::Tensor weights = at::exp(-0.5 * eps.pow(2));
  const at::Tensor age = kUniverseAgeGyr * at::sigmoid(s.age_mu + s.age_sigma * eps);
  const at::Tensor rel = at::pow(10.0, kAgeMetallicitySlope * (c.tau50 - age));
  const double mean_rel = ((rel * weights).sum() / weights.sum()).item<double>();
  s.log_z_offset = std::log10(mean_rel) + 0.5 * kLogZScatter * kLogZScatter * std::log(10.0);
  return s;
}

at::Tensor generate_galaxy(const GalaxyConditions& c, int64_t n, at::Generator g) {
  require(n >= 0, "generate_galaxy: n must be non-negative");
  require(g.defined(), "generate_galaxy: undefined generator");
  const GalaxyStructure s = galaxy_structure(c);
  const double vc = s.circular_velocity;
  const double rd = s.disk_scale_length;

  // Ages, and the age quantile q = Phi(eps), uniform on (0, 1).
  const at::Tensor eps = normal(n, g);
  const at::Tensor age = kUniverseAgeGyr * at::sigmoid(s.age_mu + s.age_sigma * eps);
  const at::Tensor q = 0.5 * (1 + at::erf(eps / std::sqrt(2.0)));
  // Bulge membership probability 2 f_b q: old stars are preferentially in
  // the bulge, and the overall bulge fraction is f_b.
  const at::Tensor in_bulge = uniform(n, g) < 2.0 * s.bulge_fraction * q;

  // Disk: exponential surface density (R ~ Gamma(2, R_d)), exponential
  // vertical profile thickening with age, age-velocity dispersion relation.
  const at::Tensor radius = -rd * at::log(uniform(n, g, 1e-12, 1.0) * uniform(n, g, 1e-12, 1.0));
  const at::Tensor phi = uniform(n, g, 0.0, 2 * M_PI);
  const at::Tensor scale_height = kScaleHeightRatio * rd * (1 + age / kHeatingTimeGyr);
  const at::Tensor z_sign = 2.0 * (uniform(n, g) < 0.5).to(at::kDouble) - 1.0;
  const at::Tensor disk_z = z_sign * scale_height * -at::log(uniform(n, g, 1e-12, 1.0));
  const at::Tensor sigma_r = kSigmaROld * vc * at::pow((age + 0.1) / 10.1, 1.0 / 3.0);
  const at::Tensor v_rot = vc * (1 - at::exp(-radius / (kTurnoverRatio * rd)));
  const at::Tensor v_phi_mean = (v_rot - kDriftCoefficient * sigma_r.pow(2) / vc).clamp_min(0);
  const at::Tensor v_r = sigma_r * normal(n, g);
  const at::Tensor v_phi = v_phi_mean + sigma_r / std::sqrt(2.0) * normal(n, g);
  const at::Tensor v_z = 0.6 * sigma_r * normal(n, g);
  const at::Tensor cos_p = at::cos(phi);
  const at::Tensor sin_p = at::sin(phi);
  const at::Tensor disk_x = radius * cos_p;
  const at::Tensor disk_y = radius * sin_p;
  const at::Tensor disk_vx = v_r * cos_p - v_phi * sin_p;
  const at::Tensor disk_vy = v_r * sin_p + v_phi * cos_p;

  // Bulge: Plummer sphere (cumulative mass r^3 / (r^2 + a^2)^1.5), truncated
  // at ~10 a, with isotropic Gaussian velocities.
  const at::Tensor m = uniform(n, g, 1e-9, 0.985);
  const at::Tensor r_b = s.bulge_scale_radius * at::rsqrt(at::pow(m, -2.0 / 3.0) - 1);
  const at::Tensor cos_t = uniform(n, g, -1.0, 1.0);
  const at::Tensor sin_t = at::sqrt(1 - cos_t.pow(2));
  const at::Tensor phi_b = uniform(n, g, 0.0, 2 * M_PI);
  const at::Tensor bulge_v = kBulgeDispersion * vc * at::randn({n, 3}, g, f64());

  // Chemistry: age-metallicity relation normalised so E[Z] = mean_Z, then
  // [Fe/H] and [O/Fe] from Z through the alpha-enhancement correction
  // [M/H] = [Fe/H] + log10(0.694 10^[O/Fe] + 0.306) (Salaris et al. 1993),
  // solved by fixed-point iteration (a contraction: |slope| < 0.3).
  const at::Tensor log_z = std::log10(c.mean_z) + kAgeMetallicitySlope * (c.tau50 - age) +
                           kLogZScatter * normal(n, g) - s.log_z_offset;
  const at::Tensor metallicity = at::pow(10.0, log_z);
  const at::Tensor mh = log_z - std::log10(kSolarZ);
  const at::Tensor ofe_scatter = kOFeScatter * normal(n, g);
  at::Tensor feh = mh;
  for (int i = 0; i < 60; ++i) {
    feh = mh - at::log10(0.694 * at::pow(10.0, ofe_track(feh) + ofe_scatter) + 0.306);
  }
  const at::Tensor ofe = ofe_track(feh) + ofe_scatter;

  at::Tensor stars = at::empty({n, kNumStarColumns}, f64());
  stars.select(1, kColX).copy_(at::where(in_bulge, r_b * sin_t * at::cos(phi_b), disk_x));
  stars.select(1, kColY).copy_(at::where(in_bulge, r_b * sin_t * at::sin(phi_b), disk_y));
  stars.select(1, kColZPos).copy_(at::where(in_bulge, r_b * cos_t, disk_z));
  stars.select(1, kColVx).copy_(at::where(in_bulge, bulge_v.select(1, 0), disk_vx));
  stars.select(1, kColVy).copy_(at::where(in_bulge, bulge_v.select(1, 1), disk_vy));
  stars.select(1, kColVz).copy_(at::where(in_bulge, bulge_v.select(1, 2), v_z));
  stars.select(1, kColZ).copy_(metallicity);
  stars.select(1, kColFeH).copy_(feh);
  stars.select(1, kColOFe).copy_(ofe);
  stars.select(1, kColAge).copy_(age);
  return stars;
}

GalaxyConditions measure_conditions(const at::Tensor& stars) {
  require(stars.defined() && stars.dim() == 2 && stars.size(1) == kNumStarColumns &&
              stars.size(0) >= 100,
          "measure_conditions: need stars (n >= 100, 10)");
  const at::Tensor s = stars.detach().to(at::kCPU, at::kDouble);
  const at::Tensor age = s.select(1, kColAge);
  const at::Tensor sorted_age = std::get<0>(age.sort());
  GalaxyConditions out;
  out.tau50 = sorted_quantile(sorted_age, 0.5);
  out.tau10 = sorted_quantile(sorted_age, 0.1);
  out.mean_z = s.select(1, kColZ).mean().item<double>();

  // The youngest decile is a cold, almost pure disk: its radial profile gives
  // R_d, and its rotation beyond 2 R_d, corrected for the turnover and for
  // asymmetric drift (v_c^2 - m v_c - k sigma_R^2 = 0), gives v_c.
  const at::Tensor young = s.index({age <= out.tau10});
  const at::Tensor x = young.select(1, kColX);
  const at::Tensor y = young.select(1, kColY);
  const at::Tensor radius = at::sqrt(x.pow(2) + y.pow(2));
  const double rd = at::median(radius).item<double>() / kGammaMedian;
  const at::Tensor outer = (radius >= 2 * rd) & (radius <= 5 * rd);
  require(outer.sum().item<int64_t>() >= 10, "measure_conditions: too few young disk stars");
  const at::Tensor r = radius.index({outer});
  const at::Tensor vx = young.select(1, kColVx).index({outer});
  const at::Tensor vy = young.select(1, kColVy).index({outer});
  const at::Tensor xs = x.index({outer});
  const at::Tensor ys = y.index({outer});
  const at::Tensor v_phi = (xs * vy - ys * vx) / r;
  const at::Tensor v_r = (xs * vx + ys * vy) / r;
  const double mean_rot = (v_phi / (1 - at::exp(-r / (kTurnoverRatio * rd)))).mean().item<double>();
  const double sigma2 = v_r.var().item<double>();
  const double vc =
      0.5 * (mean_rot + std::sqrt(mean_rot * mean_rot + 4 * kDriftCoefficient * sigma2));
  out.log10_mstar = kRefLogMass + 4.0 * std::log10(vc / kRefVc);
  return out;
}

at::Tensor random_conditions(int64_t g, at::Generator gen) {
  require(g >= 0, "random_conditions: count must be non-negative");
  require(gen.defined(), "random_conditions: undefined generator");
  const at::Tensor log_m = uniform(g, gen, 9.5, 11.5);
  // Downsizing: massive galaxies formed their stars earlier.
  const at::Tensor tau50 = (4.0 + 2.0 * (log_m - 10.0) + 1.5 * normal(g, gen)).clamp(1.5, 12.0);
  const at::Tensor tau10 = tau50 * uniform(g, gen, 0.15, 0.6);
  // Mass-metallicity relation with 0.08 dex scatter.
  const at::Tensor log_z =
      (std::log10(kSolarZ) + 0.35 * (log_m - 10.5) + 0.08 * normal(g, gen)).clamp(-3.5, -1.4);
  return at::stack({log_m, tau50, tau10, at::pow(10.0, log_z)}, 1);
}

std::pair<at::Tensor, at::Tensor> make_training_set(const at::Tensor& conditions,
                                                    int64_t stars_per_galaxy, at::Generator gen) {
  require(conditions.defined() && conditions.dim() == 2 && conditions.size(1) == kNumConditions,
          "make_training_set: conditions must be (g, 4)");
  require(stars_per_galaxy >= 1, "make_training_set: stars_per_galaxy must be positive");
  const at::Tensor c = conditions.detach().to(at::kCPU, at::kDouble);
  std::vector<at::Tensor> data;
  std::vector<at::Tensor> conds;
  data.reserve(static_cast<size_t>(c.size(0)));
  conds.reserve(static_cast<size_t>(c.size(0)));
  for (int64_t i = 0; i < c.size(0); ++i) {
    data.push_back(generate_galaxy(GalaxyConditions::from_tensor(c[i]), stars_per_galaxy, gen));
    conds.push_back(c[i].unsqueeze(0).expand({stars_per_galaxy, kNumConditions}));
  }
  if (data.empty()) {
    return {at::empty({0, kNumStarColumns}, f64()), at::empty({0, kNumConditions}, f64())};
  }
  return {at::cat(data), at::cat(conds)};
}

}  // namespace gml::flow
