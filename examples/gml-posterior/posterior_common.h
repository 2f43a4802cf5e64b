// What gml-posterior's subcommands share: the model's labels, reading a run's
// output table back, and its summary plot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"
#include "options.h"

namespace gml_tools {

// The model's theta labels and prior box (gml_posterior_describe).
struct PosteriorLabels {
  std::vector<std::string> theta;
  std::vector<double> lower, upper;
};
PosteriorLabels posterior_labels(const gml_model* model);
// How the model builds x from a catalog row: "sed_ugriz" or "" (the mapped
// columns are x).
std::string posterior_observation(const gml_model* model);

// The one-line verdict of the model's calibration record (made when it
// was trained), or a line saying it has none.
std::string calibration_verdict(const gml_model* model);

struct RunSummary {
  PosteriorLabels labels;
  int64_t rows = 0;
  std::vector<int32_t> flags;
  std::vector<std::vector<double>> median;  // per parameter, per row
  std::vector<double> redshift;             // x's last column, per row
};
// Reads the table gml_posterior_run_catalog wrote.
RunSummary summarize_run(const gml_model* model, const std::string& table_path);
void print_run_summary(const RunSummary& s, const std::string& path, int ranks);
// Histograms of the posterior medians of every parameter over the usable
// rows, and the first parameter against redshift.
void plot_run(const RunSummary& s, const std::string& png_path);

std::string replace_extension(const std::string& path, const std::string& ext);
std::string column_name(const std::string& label);

// A --prior argument: JSON text, or @path to a file holding it ("" stays "").
std::string prior_argument(const std::string& arg);

// A --truncate argument: auto (-1), on (1) or off (0).
int32_t truncate_argument(const std::string& arg);

}  // namespace gml_tools
