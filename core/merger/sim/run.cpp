// Set-up and time integration of one merger simulation (run.h).
#include "core/merger/sim/run.h"

#include <algorithm>
#include <cmath>

#include "core/common/error.h"
#include "core/merger/sim/random.h"

namespace gml::merger {

SimulationSetup draw_simulation(const MergerSimConfig& config, int32_t sim_id) {
  require(sim_id >= 0 && sim_id < num_simulations(config),
          "simulation id must be in [0, " + std::to_string(num_simulations(config)) + "), got " +
              std::to_string(sim_id));
  SimRng rng(stream_seed(config.seed, {kStreamSetup, static_cast<uint64_t>(sim_id)}));
  SimulationSetup s;
  s.sim_id = sim_id;
  s.mass_ratio = config.mass_ratios[static_cast<size_t>(sim_id / config.sims_per_ratio)];
  s.orbit.pericentre_kpc = rng.uniform(config.pericentre_min_kpc, config.pericentre_max_kpc);
  s.orbit.eccentricity = rng.uniform(config.eccentricity_min, config.eccentricity_max);
  s.orbit.initial_separation_kpc = config.initial_separation_kpc;
  s.orbit_normal = rng.unit_vector();
  Vec3 axis;
  do {
    const Vec3 u = rng.unit_vector();
    axis = u - s.orbit_normal * dot(u, s.orbit_normal);
  } while (norm(axis) < 1e-3);
  s.orbit_axis = normalized(axis);
  s.spin[0] = rng.unit_vector();
  s.spin[1] = rng.unit_vector();
  return s;
}

MergerRun::MergerRun(const MergerSimConfig& config, const SimulationSetup& setup)
    : dt_max_(config.dt_myr), tracker_(config.merge_radius_kpc) {
  validate(config);
  const double q = setup.mass_ratio;
  require(std::isfinite(q) && q > 0.0, "mass ratio must be > 0, got " + std::to_string(q));
  const GalaxyModel g1 = make_galaxy(config, 1.0);
  const GalaxyModel g2 = make_galaxy(config, q);
  pair_ = make_centre_pair(g1, g2, setup.orbit, setup.orbit_axis, setup.orbit_normal,
                           config.friction_scale);
  light_[0] = 1.0;
  light_[1] = q;

  SimRng rng(stream_seed(config.seed, {kStreamParticles, static_cast<uint64_t>(setup.sim_id)}));
  const int64_t n = config.particles_per_disk;
  particles_.reserve(2 * n);
  for (int g = 0; g < 2; ++g) {
    const double f = g == 0 ? 1.0 : length_factor(q);
    DiskParams disk;
    disk.scale_length = config.disk_scale_kpc * f;
    disk.height = config.disk_height_kpc * f;
    disk.truncation = config.disk_truncation;
    disk.dispersion = config.disk_dispersion;
    const float light = static_cast<float>(light_[g] / static_cast<double>(n));
    add_disk(particles_, pair_.galaxy[g], disk, pair_.pos[g], pair_.vel[g], setup.spin[g], n, light,
             rng);
  }
  tracker_.update(0.0, pair_.separation());
}

Vec3 MergerRun::light_centre() const {
  return (pair_.pos[0] * light_[0] + pair_.pos[1] * light_[1]) * (1.0 / (light_[0] + light_[1]));
}

void MergerRun::advance_to(double t_myr) {
  require(std::isfinite(t_myr) && t_myr >= time_,
          "cannot advance a merger simulation from t = " + std::to_string(time_) + " Myr back to " +
              std::to_string(t_myr));
  const double span = t_myr - time_;
  if (span <= 0.0) return;
  const int64_t steps =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(span / dt_max_ - 1e-9)));
  const double h = span / static_cast<double>(steps);
  PotentialField field;
  field.n = 2;
  field.galaxy[0] = &pair_.galaxy[0];
  field.galaxy[1] = &pair_.galaxy[1];
  const double t0 = time_;
  for (int64_t s = 0; s < steps; ++s) {
    // Kicks of consecutive steps are fused: h/2 opens, h in between.
    const double kick = s == 0 ? 0.5 * h : h;
    field.centre[0] = pair_.pos[0];
    field.centre[1] = pair_.pos[1];
    kick_drift(particles_, field, kick, h);
    kick_centres(pair_, kick);
    drift_centres(pair_, h);
    tracker_.update(t0 + static_cast<double>(s + 1) * h, pair_.separation());
  }
  field.centre[0] = pair_.pos[0];
  field.centre[1] = pair_.pos[1];
  kick_drift(particles_, field, 0.5 * h, 0.0);
  kick_centres(pair_, 0.5 * h);
  time_ = t_myr;
}

}  // namespace gml::merger
