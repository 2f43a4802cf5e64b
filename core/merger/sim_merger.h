// The merger simulator's public API in one include: the configuration
// (sim_config.h), the labelled image set and simulate_mergers
// (sim_dataset.h), and its FITS files (sim_fits.h). The physics lives in
// sim_potential.h, sim_orbit.h, sim_particles.h and sim_run.h, the images
// in sim_camera.h and sim_render.h; docs/merger_simulator.md describes it.
#pragma once

#include "core/merger/sim_config.h"
#include "core/merger/sim_dataset.h"
#include "core/merger/sim_fits.h"
