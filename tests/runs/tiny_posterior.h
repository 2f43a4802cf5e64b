// The small posterior model the run tests share: two parameters, two
// observables, untrained weights from a fixed seed.
#pragma once

#include "core/posterior/posterior_file.h"

inline gml::posterior::LoadedPosterior tiny_posterior() {
  gml::posterior::PosteriorConfig cfg;
  cfg.theta_dim = 2;
  cfg.x_dim = 2;
  cfg.num_blocks = 2;
  cfg.hidden_width = 8;
  cfg.made_blocks = 1;
  cfg.theta_names = {"mass", "age"};
  gml::posterior::LoadedPosterior m;
  m.flow = gml::posterior::PosteriorFlow(cfg, 3);
  m.flow->eval();
  return m;
}
