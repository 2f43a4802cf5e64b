// Simulations (theta, x) brought in from the files people keep them in, and
// written as a training set (training_set.h) that `train` reads:
//   HDF5        two datasets, [n, theta_dim] and [n, x_dim] (1-D: one column),
//               any integer or float type
//   FITS table  columns by name; a vector column gives its elements in order
//   .npy        one array per file, so theta and x come in two files
//   .npz        arrays by key (numpy.savez and numpy.savez_compressed)
//   CSV / text  a header line naming the columns, then one row per line,
//               separated by commas (or, without commas, by blanks/tabs)
// Everything wrong with a source is reported in one Error(Format), with a
// pointer to docs/posterior.md ("Bring your own simulations").
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/posterior/training_set.h"

namespace gml::posterior {

struct SimulationSource {
  std::string theta_path;  // the file holding theta, and x when x_path is empty
  std::string x_path;      // a second file for x (two .npy files, say)
  // HDF5: dataset path; .npz: key; FITS and CSV: column names, comma-
  // separated. For x in FITS and CSV, "*" takes every numeric column that
  // theta does not.
  std::string theta = "theta";
  std::string x = "x";
  std::string hdu;  // FITS: extension name or number; empty: the first table
};

struct Simulations {
  at::Tensor theta;                               // (n, theta_dim) float64
  at::Tensor x;                                   // (n, x_dim) float64
  std::vector<std::string> theta_names, x_names;  // FITS/CSV column names, else empty
};

Simulations read_simulations(const SimulationSource& source);

enum class NonFiniteRows { Drop, Reject };

struct TrainingSetImport {
  int64_t rows_read = 0;           // rows in the source
  int64_t rows_written = 0;        // rows in the training set
  int64_t rows_nonfinite = 0;      // rows with a NaN or infinity in theta or x
  int64_t rows_outside_prior = 0;  // written rows whose theta lies outside the prior's support
};

// Writes (theta, x) as a training set at `path`, atomically (no file at path
// unless it succeeds). `info` gives the optional prior (box or object),
// labels (empty: the source's) and observation kind; its dimensions are
// taken from the arrays. Rows with a non-finite value are dropped and
// counted, or with Reject make it fail naming the first. Rows outside the
// prior's support are kept and counted: the caller decides whether that is wrong.
TrainingSetImport write_training_set(const std::string& path, const at::Tensor& theta,
                                     const at::Tensor& x, TrainingSetInfo info,
                                     NonFiniteRows policy);

// Where the format of a simulation file is documented; errors end with it.
extern const char* const kBringYourOwnSimulations;

}  // namespace gml::posterior
