// Built-in synthetic galaxies for tests and the demo: a physical toy with an
// exponential disk and a Plummer bulge, age-dependent disk heating, an
// age-metallicity relation and an [O/Fe]-[Fe/H] knee, driven by the four
// GalacticFlow conditions. Physics, units and parameters are documented in
// docs/flow_generator.md.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <utility>

namespace gml::flow {

// Star columns: kpc, km/s, mass fraction, dex, dex, Gyr.
enum StarColumn : int64_t {
  kColX = 0,
  kColY,
  kColZPos,
  kColVx,
  kColVy,
  kColVz,
  kColZ,  // metallicity mass fraction
  kColFeH,
  kColOFe,
  kColAge,
  kNumStarColumns
};
inline constexpr std::array<const char*, kNumStarColumns> kColumnNames = {
    "x", "y", "z", "vx", "vy", "vz", "Z", "[Fe/H]", "[O/Fe]", "age"};
inline constexpr std::array<const char*, kNumStarColumns> kColumnUnits = {
    "kpc", "kpc", "kpc", "km/s", "km/s", "km/s", "", "dex", "dex", "Gyr"};

enum ConditionColumn : int64_t {
  kCondLogMass = 0,  // log10(M* / Msun)
  kCondTau50,        // median stellar age, Gyr
  kCondTau10,        // 10th percentile of stellar age, Gyr
  kCondMeanZ,        // mean stellar metallicity (mass fraction)
  kNumConditions
};
inline constexpr std::array<const char*, kNumConditions> kConditionNames = {"log10_mstar", "tau50",
                                                                            "tau10", "mean_Z"};

struct GalaxyConditions {
  double log10_mstar = 10.5;
  double tau50 = 6.0;
  double tau10 = 2.0;
  double mean_z = 0.015;

  // Throws Error(InvalidArgument) unless 7 <= log10_mstar <= 13,
  // 0 < tau10 < tau50 < kUniverseAgeGyr and 0 < mean_z < 0.1.
  void validate() const;
  at::Tensor to_tensor() const;  // (4) float64
  static GalaxyConditions from_tensor(const at::Tensor& row);
};

inline constexpr double kUniverseAgeGyr = 13.8;
inline constexpr double kSolarZ = 0.0134;  // Asplund et al. 2009

// Structural quantities the generator derives from the conditions.
struct GalaxyStructure {
  double circular_velocity;   // km/s, flat rotation speed
  double disk_scale_length;   // kpc
  double bulge_scale_radius;  // kpc, Plummer a
  double bulge_fraction;      // mass fraction of stars in the bulge
  double age_mu;              // logit-normal age law: age = T sigmoid(mu + sigma eps)
  double age_sigma;
  double log_z_offset;  // normalises the age-metallicity relation to mean_z
};
GalaxyStructure galaxy_structure(const GalaxyConditions& conditions);

// n stars (n, 10) float64 on CPU. Deterministic for a given generator state.
at::Tensor generate_galaxy(const GalaxyConditions& conditions, int64_t n, at::Generator generator);

// Conditions measured back from stars (n, 10): tau50, tau10 and mean Z are
// sample statistics; log10 M* inverts the velocity-mass relation using the
// rotation of the youngest disk stars, corrected for asymmetric drift.
GalaxyConditions measure_conditions(const at::Tensor& stars);

// Plausible random galaxies (g, 4) float64: log10 M* in [9.5, 11.5], a
// star-formation history with tau10 < tau50, and mean Z on a mass-metallicity
// relation with scatter.
at::Tensor random_conditions(int64_t g, at::Generator generator);

// Training set: stars_per_galaxy stars for each row of `conditions` (g, 4).
// Returns (data (g * stars_per_galaxy, 10), conditions repeated per star).
std::pair<at::Tensor, at::Tensor> make_training_set(const at::Tensor& conditions,
                                                    int64_t stars_per_galaxy,
                                                    at::Generator generator);

}  // namespace gml::flow
