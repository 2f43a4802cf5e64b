// The merger simulator's public API in one include: the configuration
// (config.h), the labelled image set and simulate_mergers
// (dataset.h), and its FITS files (fits.h). The physics lives in
// potential.h, orbit.h, particles.h and run.h, the images
// in camera.h and render.h; docs/merger_simulator.md describes it.
#pragma once

#include "core/merger/sim/config.h"
#include "core/merger/sim/dataset.h"
#include "core/merger/sim/fits.h"
