// Validation of MergerSimConfig: every bad value is reported with the
// field's name, before any memory is allocated or thread started.
#include "core/merger/sim/config.h"

#include <cmath>
#include <sstream>

#include "core/common/error.h"
#include "core/common/runtime.h"

namespace gml::merger {
namespace {

template <typename T>
std::string show(const T& v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

void check(bool ok, const char* field, const std::string& rule, const std::string& value) {
  if (!ok) {
    fail(Status::InvalidArgument,
         std::string("MergerSimConfig.") + field + " must be " + rule + ", got " + value);
  }
}

void positive(double v, const char* field) {
  check(std::isfinite(v) && v > 0.0, field, "finite and > 0", show(v));
}

void non_negative(double v, const char* field) {
  check(std::isfinite(v) && v >= 0.0, field, "finite and >= 0", show(v));
}

void in_range(int64_t v, int64_t lo, int64_t hi, const char* field) {
  check(v >= lo && v <= hi, field, "in [" + show(lo) + ", " + show(hi) + "]", show(v));
}

}  // namespace

void validate(const MergerSimConfig& c) {
  check(!c.mass_ratios.empty(), "mass_ratios", "non-empty", "an empty list");
  for (size_t i = 0; i < c.mass_ratios.size(); ++i) {
    const double q = c.mass_ratios[i];
    check(std::isfinite(q) && q > 0.0 && q <= 100.0,
          ("mass_ratios[" + std::to_string(i) + "]").c_str(), "in (0, 100]", show(q));
  }
  in_range(c.sims_per_ratio, 1, 1000000, "sims_per_ratio");
  in_range(c.n_time_classes, 2, 100000, "n_time_classes");
  in_range(c.n_cameras, 1, kMaxCameras, "n_cameras");
  in_range(c.image_size, 2, 8192, "image_size");
  in_range(c.particles_per_disk, 1, 100000000, "particles_per_disk");
  positive(c.fov_kpc, "fov_kpc");
  non_negative(c.psf_fwhm_pix, "psf_fwhm_pix");
  check(c.psf_fwhm_pix <= c.image_size, "psf_fwhm_pix", "<= image_size", show(c.psf_fwhm_pix));
  non_negative(c.noise_sigma, "noise_sigma");
  check(c.stretch == "asinh" || c.stretch == "log" || c.stretch == "linear", "stretch",
        "\"asinh\", \"log\" or \"linear\"", "\"" + c.stretch + "\"");
  positive(c.stretch_beta, "stretch_beta");

  positive(c.t_end_myr, "t_end_myr");
  positive(c.dt_myr, "dt_myr");
  const double steps = c.t_end_myr / c.dt_myr;
  check(steps <= 1e8, "dt_myr", "at least t_end_myr / 1e8 (at most 1e8 steps)", show(c.dt_myr));

  check(c.profile == "hernquist" || c.profile == "plummer", "profile",
        "\"hernquist\" or \"plummer\"", "\"" + c.profile + "\"");
  positive(c.halo_mass, "halo_mass");
  positive(c.halo_scale_kpc, "halo_scale_kpc");
  non_negative(c.bulge_mass, "bulge_mass");
  positive(c.bulge_scale_kpc, "bulge_scale_kpc");
  positive(c.disk_scale_kpc, "disk_scale_kpc");
  non_negative(c.disk_height_kpc, "disk_height_kpc");
  check(std::isfinite(c.disk_truncation) && c.disk_truncation >= 0.1, "disk_truncation",
        "finite and >= 0.1", show(c.disk_truncation));
  check(std::isfinite(c.disk_dispersion) && c.disk_dispersion >= 0.0 && c.disk_dispersion <= 1.0,
        "disk_dispersion", "in [0, 1]", show(c.disk_dispersion));
  positive(c.softening_kpc, "softening_kpc");

  positive(c.pericentre_min_kpc, "pericentre_min_kpc");
  check(std::isfinite(c.pericentre_max_kpc) && c.pericentre_max_kpc >= c.pericentre_min_kpc,
        "pericentre_max_kpc", ">= pericentre_min_kpc (" + show(c.pericentre_min_kpc) + ")",
        show(c.pericentre_max_kpc));
  check(std::isfinite(c.eccentricity_min) && c.eccentricity_min >= 0.0, "eccentricity_min",
        "in [0, 1]", show(c.eccentricity_min));
  check(std::isfinite(c.eccentricity_max) && c.eccentricity_max >= c.eccentricity_min &&
            c.eccentricity_max <= 1.0,
        "eccentricity_max", "in [eccentricity_min, 1]", show(c.eccentricity_max));
  check(std::isfinite(c.initial_separation_kpc) && c.initial_separation_kpc > c.pericentre_max_kpc,
        "initial_separation_kpc", "> pericentre_max_kpc (" + show(c.pericentre_max_kpc) + ")",
        show(c.initial_separation_kpc));
  non_negative(c.friction_scale, "friction_scale");
  positive(c.merge_radius_kpc, "merge_radius_kpc");
  in_range(c.n_threads, 0, kMaxThreads, "n_threads");

  const double images =
      static_cast<double>(c.mass_ratios.size()) * c.sims_per_ratio * c.n_time_classes * c.n_cameras;
  const double pixels = images * c.image_size * c.image_size;
  check(pixels <= 4e10, "sims_per_ratio",
        "small enough for at most 4e10 output pixels (sims x snapshots x cameras x size^2)",
        show(c.sims_per_ratio) + " (" + show(pixels) + " pixels)");
}

int64_t num_simulations(const MergerSimConfig& c) {
  return static_cast<int64_t>(c.mass_ratios.size()) * c.sims_per_ratio;
}

int64_t num_images(const MergerSimConfig& c) {
  return num_simulations(c) * c.n_time_classes * c.n_cameras;
}

double snapshot_time(const MergerSimConfig& c, int32_t k) {
  return c.t_end_myr * static_cast<double>(k) / static_cast<double>(c.n_time_classes - 1);
}

}  // namespace gml::merger
