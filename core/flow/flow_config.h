// Architecture and preprocessing of a conditional flow. Stored as JSON text in
// the model file's `config` attribute, so every field round-trips through
// to_json/from_json and unknown keys are rejected rather than ignored.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace gml::flow {

struct FlowConfig {
  int64_t data_dim = 10;      // x, y, z, vx, vy, vz, Z, [Fe/H], [O/Fe], age
  int64_t condition_dim = 4;  // log10 M*, tau50, tau10, mean Z
  int64_t num_blocks = 14;
  int64_t num_bins = 10;    // K
  double tail_bound = 3.0;  // B: splines act on [-B, B], identity outside
  int64_t hidden_width = 128;
  int64_t hidden_layers = 3;
  double leaky_relu_slope = 0.2;
  // The LeakyReLU also after each conditioner MLP's last layer, so the
  // spline parameters are LeakyReLU(data MLP) * LeakyReLU(condition MLP):
  // the published GalacticFlow network. Off by default (nflows' form).
  bool conditioner_output_activation = false;
  // Lower bounds of the spline's bin widths and heights (fractions of 2B)
  // and of its interior derivatives. 0 gives the plain softmax/softplus
  // parametrisation of the published GalacticFlow code.
  double min_bin_width = 1e-3;
  double min_bin_height = 1e-3;
  double min_derivative = 1e-3;
  // Columns (0-based) that are log10-transformed before the z-score. Values
  // there must be positive; log_prob includes the log10 Jacobian.
  std::vector<int64_t> log_columns;
  std::vector<int64_t> condition_log_columns;
  // Optional labels, empty or one per column.
  std::vector<std::string> column_names;
  std::vector<std::string> condition_names;

  // The GalacticFlow configuration (Wolf et al. 2023) for the columns of
  // galaxy_generator.h: metallicity Z and mean Z are modelled in log10.
  static FlowConfig galactic_flow();

  // Throws Error(InvalidArgument) naming the first inconsistent field.
  void validate() const;

  std::string to_json_text() const;
  // Parses and validates.
  static FlowConfig from_json_text(const std::string& text);
};

void to_json(nlohmann::json& j, const FlowConfig& config);
void from_json(const nlohmann::json& j, FlowConfig& config);

}  // namespace gml::flow
