// Simulated training sets (theta, x) on disk, HDF5, readable with h5py:
//   /theta (N, D) float64, /x (N, C) float64, chunked and extendable
//   attributes: gml_kind = "posterior_training_set", rows_complete (the
//   rows that are whole; a reader ignores anything beyond), theta_dim,
//   x_dim, seed, batch_size, and JSON text prior_lower, prior_upper,
//   theta_names, x_names, observation; prior (prior.h) for any prior that
//   is not a box.
// Written batch by batch and flushed, so an interrupted or failed
// generation leaves a usable file that a later run can resume.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/posterior/prior.h"

namespace gml {
class Progress;
}

namespace gml::posterior {

struct TrainingSetInfo {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  std::vector<double> prior_lower, prior_upper;  // theta's box prior
  Prior prior;  // any other prior (store_prior() keeps the forms apart)
  std::vector<std::string> theta_names, x_names;
  std::string observation;  // how x is built from a catalog ("" or "sed_ugriz")
  uint64_t seed = 0;
  int64_t batch_size = 10000;

  Prior prior_distribution() const { return effective_prior(prior, prior_lower, prior_upper); }
};

class TrainingSetWriter {
 public:
  // Creates `path`, or with `resume` appends to it when it exists and its
  // dimensions, prior, seed and batch size equal `info`'s.
  TrainingSetWriter(const std::string& path, const TrainingSetInfo& info, bool resume);
  ~TrainingSetWriter();
  TrainingSetWriter(const TrainingSetWriter&) = delete;
  TrainingSetWriter& operator=(const TrainingSetWriter&) = delete;

  int64_t rows() const { return rows_; }
  // Appends n rows and flushes the file before returning.
  void append(const double* theta, const double* x, int64_t n);

 private:
  struct Handles;
  std::unique_ptr<Handles> h_;
  TrainingSetInfo info_;
  int64_t rows_ = 0;
};

struct TrainingSet {
  TrainingSetInfo info;
  at::Tensor theta;  // (N, D) float64
  at::Tensor x;      // (N, C) float64
};
// Reads the complete rows (at most max_rows when > 0).
TrainingSet read_training_set(const std::string& path, int64_t max_rows = 0);

struct TrainingSetShape {
  int64_t theta_dim = 0, x_dim = 0, rows = 0;  // rows: complete rows
};
// Reads only the attributes; throws Error(Format) for other files.
TrainingSetShape training_set_shape(const std::string& path);

// A forward model: x_out (n, C) from theta (n, D), row-major, for the rows
// starting at `first_row` of the training set (a stochastic simulator can
// seed its noise from it, so a resumed run reproduces an uninterrupted
// one); returns 0 on success.
using Simulator =
    std::function<int(int64_t first_row, const double* theta, int64_t n, double* x_out)>;

// A host's prior: theta_out (n, D) for the rows starting at `first_row`
// (seed its stream from it, so a resumed run reproduces an uninterrupted
// one); returns 0 on success.
using PriorSampler = std::function<int(int64_t first_row, int64_t n, double* theta_out)>;

// Generates until the file holds n rows: theta of batch b is drawn from the
// prior (`prior_sampler` for an external prior) with a stream that depends
// on (seed, b) only, so a resumed run writes what an uninterrupted one
// would. A simulator or prior error, a non-finite x or a theta outside the
// prior's support stops with Error(Callback) naming the batch; the rows
// before it stay.
void simulate_training_set(const std::string& path, const TrainingSetInfo& info, int64_t n,
                           const Simulator& simulator, bool resume, Progress* progress,
                           const PriorSampler& prior_sampler = nullptr);

}  // namespace gml::posterior
