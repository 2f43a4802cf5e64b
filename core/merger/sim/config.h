// Configuration of the restricted N-body merger simulator (DeepGalaxy-style
// training images; docs/merger_simulator.md). Units throughout: length kpc,
// time Myr, mass 1e10 Msun, velocity kpc/Myr (1 kpc/Myr = 977.79 km/s).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml::merger {

/// Gravitational constant in kpc^3 / (1e10 Msun Myr^2).
inline constexpr double kGravity = 4.49850215e-2;
/// Number of camera directions the simulator defines (camera.h).
inline constexpr int32_t kMaxCameras = 14;

struct MergerSimConfig {
  // --- what is made: one image per (mass ratio, simulation, snapshot, camera)
  /// q = M2 / M1 of each set of simulations (galaxy 1 is the reference model).
  std::vector<double> mass_ratios{0.25, 1.0 / 3.0, 0.5, 1.0, 1.5};
  int32_t sims_per_ratio = 4;   ///< simulations (random orbits, disks) per ratio
  int32_t n_time_classes = 71;  ///< snapshots at t_k = k t_end / (n - 1); label = k
  int32_t n_cameras = 14;       ///< the first n of the 14 directions of camera.h
  int32_t image_size = 64;      ///< pixels per side
  int32_t particles_per_disk = 4000;

  // --- rendering
  double fov_kpc = 128.0;         ///< side of the square field of view
  double psf_fwhm_pix = 1.5;      ///< Gaussian PSF FWHM in pixels; 0 = no blur
  double noise_sigma = 0.02;      ///< Gaussian noise added after the stretch
  std::string stretch = "asinh";  ///< "asinh", "log" or "linear" (render.h)
  double stretch_beta = 0.01;     ///< softening of the stretch, in units of the image peak

  // --- time integration
  double t_end_myr = 3000.0;  ///< time of the last snapshot
  double dt_myr = 1.0;        ///< largest leapfrog step (the step divides the snapshot interval)

  // --- galaxy 1 (galaxy 2: masses times q, lengths times q^(1/3))
  std::string profile = "hernquist";  ///< "hernquist" or "plummer", for halo and bulge
  double halo_mass = 50.0;            ///< 1e10 Msun
  double halo_scale_kpc = 12.0;
  double bulge_mass = 1.0;  ///< 1e10 Msun
  double bulge_scale_kpc = 0.7;
  double disk_scale_kpc = 2.5;    ///< exponential scale length
  double disk_height_kpc = 0.25;  ///< Gaussian vertical scale
  double disk_truncation = 5.0;   ///< outer disk radius in scale lengths
  double disk_dispersion = 0.05;  ///< in-plane velocity dispersion / circular velocity
  double softening_kpc = 0.2;     ///< Plummer-style softening of every force

  // --- orbit of the two centres, drawn per simulation
  double pericentre_min_kpc = 4.0;
  double pericentre_max_kpc = 12.0;
  double eccentricity_min = 0.8;  ///< 0 <= e <= 1 (1 = parabolic)
  double eccentricity_max = 1.0;
  double initial_separation_kpc = 60.0;  ///< capped at the apocentre of e < 1 orbits
  double friction_scale = 0.1;           ///< multiplies the Chandrasekhar drag; 0 = none
  double merge_radius_kpc = 2.0;         ///< centres closer than this for good = merged

  uint64_t seed = 1;
  int32_t n_threads = 0;  ///< worker threads; 0 = std::thread::hardware_concurrency()
};

/// Throws Error(InvalidArgument) naming the first bad field and its value.
void validate(const MergerSimConfig& config);

/// Number of simulations: mass_ratios.size() * sims_per_ratio.
int64_t num_simulations(const MergerSimConfig& config);
/// Number of images: num_simulations * n_time_classes * n_cameras.
int64_t num_images(const MergerSimConfig& config);
/// Time of snapshot (time class) k in Myr.
double snapshot_time(const MergerSimConfig& config, int32_t k);

}  // namespace gml::merger
