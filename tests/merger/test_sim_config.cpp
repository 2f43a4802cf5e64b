// MergerSimConfig validation: every bad value is an InvalidArgument error
// that names the field.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "core/common/error.h"
#include "core/merger/sim/simulator.h"

namespace {

using gml::Error;
using gml::Status;
using gml::merger::MergerSimConfig;

// Expects validate() and simulate_mergers() to reject the config with a
// message naming `field`.
void expect_invalid(const std::function<void(MergerSimConfig&)>& edit, const std::string& field) {
  MergerSimConfig c;
  edit(c);
  try {
    gml::merger::validate(c);
    ADD_FAILURE() << "validate accepted a bad " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
        << "message does not name " << field << ": " << e.what();
  }
  try {
    gml::merger::simulate_mergers(c);
    ADD_FAILURE() << "simulate_mergers accepted a bad " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
  }
}

TEST(MergerSimConfig, DefaultsAreValidAndMakeTheFullSet) {
  MergerSimConfig c;
  EXPECT_NO_THROW(gml::merger::validate(c));
  EXPECT_EQ(gml::merger::num_simulations(c), 20);
  EXPECT_EQ(gml::merger::num_images(c), 19880);
  EXPECT_DOUBLE_EQ(gml::merger::snapshot_time(c, 0), 0.0);
  EXPECT_DOUBLE_EQ(gml::merger::snapshot_time(c, 70), c.t_end_myr);
  EXPECT_DOUBLE_EQ(gml::merger::snapshot_time(c, 35), 0.5 * c.t_end_myr);
}

TEST(MergerSimConfig, RejectsBadSizes) {
  expect_invalid([](MergerSimConfig& c) { c.image_size = 0; }, "image_size");
  expect_invalid([](MergerSimConfig& c) { c.n_cameras = 15; }, "n_cameras");
  expect_invalid([](MergerSimConfig& c) { c.n_cameras = 0; }, "n_cameras");
  expect_invalid([](MergerSimConfig& c) { c.n_time_classes = 1; }, "n_time_classes");
  expect_invalid([](MergerSimConfig& c) { c.sims_per_ratio = 0; }, "sims_per_ratio");
  expect_invalid([](MergerSimConfig& c) { c.particles_per_disk = -5; }, "particles_per_disk");
  expect_invalid([](MergerSimConfig& c) { c.n_threads = -1; }, "n_threads");
  expect_invalid([](MergerSimConfig& c) { c.n_threads = 1025; }, "n_threads");
}

TEST(MergerSimConfig, RejectsBadTimes) {
  expect_invalid([](MergerSimConfig& c) { c.dt_myr = -1.0; }, "dt_myr");
  expect_invalid([](MergerSimConfig& c) { c.dt_myr = 0.0; }, "dt_myr");
  expect_invalid([](MergerSimConfig& c) { c.t_end_myr = std::nan(""); }, "t_end_myr");
  expect_invalid([](MergerSimConfig& c) { c.t_end_myr = 1e12; }, "dt_myr");
}

TEST(MergerSimConfig, RejectsBadMassRatios) {
  expect_invalid([](MergerSimConfig& c) { c.mass_ratios.clear(); }, "mass_ratios");
  expect_invalid([](MergerSimConfig& c) { c.mass_ratios = {0.5, -1.0}; }, "mass_ratios[1]");
  expect_invalid([](MergerSimConfig& c) { c.mass_ratios = {0.0}; }, "mass_ratios[0]");
  expect_invalid(
      [](MergerSimConfig& c) { c.mass_ratios = {std::numeric_limits<double>::infinity()}; },
      "mass_ratios[0]");
}

TEST(MergerSimConfig, RejectsBadPhysics) {
  expect_invalid([](MergerSimConfig& c) { c.profile = "nfw"; }, "profile");
  expect_invalid([](MergerSimConfig& c) { c.halo_mass = 0.0; }, "halo_mass");
  expect_invalid([](MergerSimConfig& c) { c.halo_scale_kpc = -2.0; }, "halo_scale_kpc");
  expect_invalid([](MergerSimConfig& c) { c.softening_kpc = 0.0; }, "softening_kpc");
  expect_invalid([](MergerSimConfig& c) { c.disk_dispersion = 2.0; }, "disk_dispersion");
  expect_invalid([](MergerSimConfig& c) { c.eccentricity_max = 1.1; }, "eccentricity_max");
  expect_invalid([](MergerSimConfig& c) { c.eccentricity_min = -0.1; }, "eccentricity_min");
  expect_invalid([](MergerSimConfig& c) { c.pericentre_max_kpc = 1.0; }, "pericentre_max_kpc");
  expect_invalid([](MergerSimConfig& c) { c.initial_separation_kpc = 10.0; },
                 "initial_separation_kpc");
  expect_invalid([](MergerSimConfig& c) { c.friction_scale = -0.1; }, "friction_scale");
}

TEST(MergerSimConfig, RejectsBadRendering) {
  expect_invalid([](MergerSimConfig& c) { c.fov_kpc = 0.0; }, "fov_kpc");
  expect_invalid([](MergerSimConfig& c) { c.psf_fwhm_pix = -1.0; }, "psf_fwhm_pix");
  expect_invalid([](MergerSimConfig& c) { c.noise_sigma = -0.1; }, "noise_sigma");
  expect_invalid([](MergerSimConfig& c) { c.stretch = "sqrt"; }, "stretch");
  expect_invalid([](MergerSimConfig& c) { c.stretch_beta = 0.0; }, "stretch_beta");
}

}  // namespace
