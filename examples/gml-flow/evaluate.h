// gml-flow evaluate: MMD of a generated galaxy against every data galaxy,
// written as a table and as PNG plots (MMD vs delta log10 M*, and a corner
// plot of data vs model stars).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace gml_tools {

struct GalaxyStars {
  int64_t n = 0, dim = 0;
  std::vector<float> stars;
  std::vector<double> conditions;
};

// Reads one galaxy of a star table through the C API; exits on error.
GalaxyStars read_galaxy(gml_model* model, const std::string& path, int64_t galaxy);

int cmd_evaluate(int argc, char** argv);

}  // namespace gml_tools
